"""One clean-dataset opener (``utils/clean_data.py``) and one RGB policy (``utils/images.to_rgb``) for every entry point
that opens images: training data, eval-c / eval-p clean data, make-c, make-p and JPEG packs."""
from __future__ import annotations

import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from test_eval_p import run_make_p
from test_make_c import run_make_c

from timm_augmix_plugin.augmix import ensure_rgb_image
from timm_augmix_plugin.cli import make_c, make_p
from timm_augmix_plugin.evaluation.datasets import CleanSplit, load_clean_dataset
from timm_augmix_plugin.train.data import _raw_dataset
from timm_augmix_plugin.train.recipe import Recipe
from timm_augmix_plugin.utils.clean_data import dataset_classes, dataset_labels, open_image_dataset
from timm_augmix_plugin.utils.images import ImageModeError, StrictImageDataset, open_rgb, to_rgb
from timm_augmix_plugin.utils.packed_images import pack_jpegs, read_pack

SIZE = 32


def write_folder(root: Path, mode: str = "RGB", per_class: int = 2, ext: str = "png") -> Path:
    """``root/class{0,1}/img{i}.<ext>``, every image of ``mode`` (noise, so classes and files differ)."""
    g = np.random.default_rng(1)
    for c in range(2):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(per_class):
            rgb = Image.fromarray(g.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
            rgb.convert(mode).save(root / f"class{c}" / f"img{i}.{ext}")
    return root


def _recipe(root: Path) -> Recipe:
    return Recipe.from_dict({
        "name": "folder",
        "model": {"name": "test_vit", "kwargs": {"img_size": SIZE, "patch_size": 4}},
        "data": {"dataset": "", "root": str(root), "num_classes": 2, "img_size": SIZE, "batch_size": 4,
                 "num_workers": 0, "mean": [0.5] * 3, "std": [0.25] * 3},
        "train": {"epochs": 1, "output_dir": str(root.parent / "run")},
    })


# ---- the RGB policy ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "1", "P", "CMYK", "YCbCr", "HSV", "LAB"])
def test_convertible_modes_become_rgb(mode):
    img = Image.new("RGB", (4, 4), (200, 120, 40)).convert(mode)
    out = to_rgb(img, "x")
    assert out.mode == "RGB" and out.size == (4, 4)


def test_rgb_is_used_as_is_and_grayscale_gets_three_equal_channels():
    rgb = Image.new("RGB", (4, 4), (1, 2, 3))
    assert to_rgb(rgb) is rgb
    out = np.asarray(to_rgb(Image.new("L", (4, 4), 77)))
    assert (out == 77).all() and out.shape == (4, 4, 3)


def _palette_with_transparency() -> Image.Image:
    img = Image.new("P", (4, 4), 0)
    img.info["transparency"] = 0
    return img


@pytest.mark.parametrize("make, shown", [
    (lambda: Image.new("RGBA", (4, 4)), "RGBA"),
    (lambda: Image.new("LA", (4, 4)), "LA"),
    (lambda: Image.new("PA", (4, 4)), "PA"),
    (_palette_with_transparency, "P with transparency"),
])
def test_alpha_is_refused_naming_the_fix(make, shown):
    with pytest.raises(ImageModeError, match=rf"^pic.png: image mode {shown} has an alpha channel.*alpha_composite"):
        to_rgb(make(), "pic.png")


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_more_than_8_bits_is_refused(mode):
    with pytest.raises(ImageModeError, match=rf"image mode {mode} is 16/32-bit or float.*8-bit images"):
        to_rgb(Image.new(mode, (4, 4)))


def test_an_unknown_mode_is_refused():
    with pytest.raises(ImageModeError, match="image mode RGBX cannot be used"):
        to_rgb(Image.new("RGBX", (4, 4)))


def test_augmix_input_check_applies_the_same_policy():
    rgba = Image.new("RGBA", (8, 8))
    with pytest.raises(ImageModeError) as augmix_err:
        ensure_rgb_image(rgba, what="AugMix")
    with pytest.raises(ImageModeError) as policy_err:
        to_rgb(rgba, "AugMix")
    assert str(augmix_err.value) == str(policy_err.value)


def test_open_rgb_decodes_and_closes(tmp_path):
    path = tmp_path / "g.png"
    Image.new("L", (5, 3), 9).save(path)
    img = open_rgb(path)
    assert img.mode == "RGB" and img.size == (5, 3) and (np.asarray(img) == 9).all()
    Image.new("RGBA", (5, 3)).save(path)
    with pytest.raises(ImageModeError, match=f"{path}: image mode RGBA"):
        open_rgb(path)


# ---- every entry point: the same refusal, the same grayscale handling ---------------------------------------------


def test_rgba_is_refused_with_one_message_by_every_entry_point(tmp_path, capsys):
    folder = write_folder(tmp_path / "data", mode="RGBA")
    with pytest.raises(ImageModeError) as err:  # training data
        _raw_dataset(_recipe(folder), training=True)[0]
    message = str(err.value)
    assert message.startswith("class0/img0.png (image 0): image mode RGBA has an alpha channel")
    assert "Composite it onto a background first" in message

    clean = load_clean_dataset(str(folder))  # eval-c / eval-p clean data
    with pytest.raises(ImageModeError) as err:
        CleanSplit(clean, np.arange(len(clean)), transform=lambda img: img)[0]
    assert str(err.value) == message

    assert run_make_c("--data", str(folder), "--out", str(tmp_path / "c"), "--size", "32", "--workers", "0",
                      "--corruptions", "contrast") == 2
    assert f"make-c: error: {message}" in capsys.readouterr().err
    assert not (tmp_path / "c" / "contrast.npy").exists()

    assert run_make_p(["--data", str(folder), "--out", str(tmp_path / "p"), "--size", "32",
                       "--perturbations", "brightness"]) == 2
    assert f"make-p: error: {message}" in capsys.readouterr().err
    assert not (tmp_path / "p" / "brightness.npy").exists()


def test_grayscale_is_converted_the_same_way_by_every_entry_point(tmp_path):
    folder = write_folder(tmp_path / "data", mode="L")
    expected = np.repeat(np.asarray(Image.open(folder / "class0" / "img0.png"))[..., None], 3, axis=-1)
    training = np.asarray(_raw_dataset(_recipe(folder), training=True)[0][0])
    clean = load_clean_dataset(str(folder))
    evaluation = np.asarray(CleanSplit(clean, np.arange(len(clean)), transform=lambda img: img)[0][0])
    src = make_c.load_source(str(folder), tmp_path)
    made_c = make_c.prepare_image(src.load(0), SIZE)
    made_c_direct = make_c.prepare_image(Image.open(folder / "class0" / "img0.png"), SIZE)
    made_p = make_p._context(src, 0, SIZE)
    for got in (training, evaluation, made_c, made_c_direct, made_p):
        np.testing.assert_array_equal(got, expected)


def test_packs_decode_grayscale_jpegs_as_the_opener_reads_them(tmp_path):
    folder = write_folder(tmp_path / "data", mode="L", ext="jpg")
    info = pack_jpegs(folder, tmp_path / "p.npz")
    pack = read_pack(tmp_path / "p.npz")
    decoded = pack.decode(threads=1)
    ds = open_image_dataset(folder)
    assert info["images"] == len(ds) == 4 and pack.classes == ("class0", "class1")
    assert pack.labels.tolist() == dataset_labels(ds).tolist() == [0, 0, 1, 1]
    for i in range(len(ds)):
        np.testing.assert_array_equal(decoded[i], np.asarray(ds[i][0]))
        assert (decoded[i][..., 0] == decoded[i][..., 2]).all()


# ---- the opener --------------------------------------------------------------------------------------------------


def test_folder_and_tar_open_strictly_with_labels_and_classes(tmp_path):
    folder = write_folder(tmp_path / "data")
    tar = tmp_path / "data.tar"
    with tarfile.open(tar, "w") as t:
        for path in sorted(folder.rglob("*.png")):
            t.add(path, arcname=str(path.relative_to(folder)))
    for source in (folder, str(tar)):
        ds = open_image_dataset(source)
        assert isinstance(ds, StrictImageDataset) and len(ds) == 4
        assert dataset_labels(ds).tolist() == [0, 0, 1, 1] and dataset_classes(ds) == ["class0", "class1"]
        img, label = ds[3]
        assert img.mode == "RGB" and label == 1
    # source '' with root: the folder given by root (the training recipe's data.root), split searched as a sub-folder
    ds = open_image_dataset("", tmp_path, split="data")
    assert len(ds) == 4 and dataset_classes(ds) == ["class0", "class1"]


def test_a_name_is_created_under_root(tmp_path):
    with pytest.raises(RuntimeError, match="not found|download"):  # torchvision: not there and no download
        open_image_dataset("torch/cifar10", tmp_path / "none", download=False)


def test_labels_and_classes_of_datasets_without_a_reader():
    tv = SimpleNamespace(targets=[2, 0, 1], class_to_idx={"b": 1, "a": 0, "c": 2})
    assert dataset_labels(tv).tolist() == [2, 0, 1] and dataset_classes(tv) == ["a", "b", "c"]
    plain = SimpleNamespace(classes=("x", "y"))
    assert dataset_labels(plain) is None and dataset_classes(plain) == ["x", "y"]
    unlabelled = SimpleNamespace(reader=SimpleNamespace(samples=[("a.png", None), ("b.png", 1)]))
    assert dataset_labels(unlabelled).tolist() == [-1, 1] and dataset_classes(unlabelled) is None
