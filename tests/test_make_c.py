"""Tests for ``timm-augmix make-c`` on small synthetic ImageFolder / tar data (both layouts, resume, workers)."""
from __future__ import annotations

import argparse
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from timm_augmix_plugin.cli import make_c
from timm_augmix_plugin.corruptions import corrupt, writer


def make_folder(root: Path, classes: int = 2, per_class: int = 3, size: int = 40) -> Path:
    g = np.random.default_rng(0)
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(per_class):
            arr = g.integers(0, 256, (size, size, 3), dtype=np.uint8)
            arr[: size // 2] //= 2
            Image.fromarray(arr).save(root / f"class{c}" / f"img{i}.png")
    return root


def run_make_c(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    make_c.add_arguments(parser)
    return make_c.run(parser.parse_args([*argv, "--no-progress"]))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "data")


def test_help_text_is_first_docstring_line():
    assert make_c.__doc__.strip().splitlines()[0].startswith("Generate a -C corruption benchmark")


def test_cifar_layout_from_folder(folder: Path, tmp_path: Path):
    out = tmp_path / "c"
    assert run_make_c("--data", str(folder), "--out", str(out), "--size", "32",
                      "--corruptions", "gaussian_noise,contrast", "--workers", "0", "--batch-size", "4") == 0
    labels = np.load(out / "labels.npy")
    assert labels.dtype == np.uint8 and labels.tolist() == [0, 0, 0, 1, 1, 1] * 5
    prepared = np.stack([make_c.prepare_image(Image.open(p), 32) for p in sorted(folder.glob("*/*.png"))])
    for name in ("gaussian_noise", "contrast"):
        arr = np.load(out / f"{name}.npy")
        assert arr.shape == (30, 32, 32, 3) and arr.dtype == np.uint8
        for s in range(1, 6):  # severity-major blocks, reproducible with corrupt()
            np.testing.assert_array_equal(arr[(s - 1) * 6:s * 6], corrupt(prepared, name, s, seed=0, size_table=32))
    assert not (out / "frost.npy").exists()


def test_resume_skips_finished_corruptions(folder: Path, tmp_path: Path, capsys):
    out = tmp_path / "c"
    args = ["--data", str(folder), "--out", str(out), "--size", "32", "--workers", "0"]
    assert run_make_c(*args, "--corruptions", "contrast") == 0
    first = out / "contrast.npy"
    stamp = first.stat().st_mtime_ns
    first_bytes = first.read_bytes()
    capsys.readouterr()
    assert run_make_c(*args, "--corruptions", "contrast,brightness") == 0
    msg = capsys.readouterr().out
    assert "skipped already finished: contrast" in msg and "wrote 1 corruption" in msg
    assert first.stat().st_mtime_ns == stamp and first.read_bytes() == first_bytes
    assert (out / "brightness.npy").exists()


def test_imagenet_layout_from_tar_with_resume(folder: Path, tmp_path: Path, capsys):
    tar = tmp_path / "data.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(folder, arcname=".")
    out = tmp_path / "inc"
    args = ["--data", str(tar), "--out", str(out), "--size", "64", "--corruptions", "fog,pixelate", "--workers", "0"]
    assert run_make_c(*args) == 0
    files = sorted(out.glob("*/*/*/*.JPEG"))
    assert len(files) == 2 * 5 * 6
    assert {f.relative_to(out).parts[:2] for f in files} == {(c, str(s)) for c in ("fog", "pixelate")
                                                              for s in range(1, 6)}
    assert {f.parent.name for f in files} == {"class0", "class1"}
    with Image.open(out / "fog" / "3" / "class1" / "img2.JPEG") as im:
        assert im.size == (64, 64) and im.mode == "RGB"
    assert (out / "fog" / ".done").exists()
    # an unfinished corruption (no .done) is redone, finished ones are skipped
    (out / "pixelate" / ".done").unlink()
    capsys.readouterr()
    assert run_make_c(*args) == 0
    msg = capsys.readouterr().out
    assert "skipped already finished: fog" in msg and "wrote 1 corruption" in msg


def test_workers_give_identical_results(folder: Path, tmp_path: Path):
    common = ["--data", str(folder), "--size", "32", "--corruptions", "shot_noise", "--batch-size", "2"]
    assert run_make_c(*common, "--out", str(tmp_path / "a"), "--workers", "0") == 0
    assert run_make_c(*common, "--out", str(tmp_path / "b"), "--workers", "2") == 0
    np.testing.assert_array_equal(np.load(tmp_path / "a" / "shot_noise.npy"),
                                  np.load(tmp_path / "b" / "shot_noise.npy"))


def test_prepare_image_follows_reference_preprocessing():
    im = Image.fromarray(np.zeros((300, 400, 3), np.uint8))
    assert make_c.prepare_image(im, 224).shape == (224, 224, 3)  # Resize(256) + CenterCrop(224)
    assert make_c.prepare_image(im, 64).shape == (64, 64, 3)  # Resize((64, 64))
    same = Image.fromarray(np.full((32, 32, 3), 7, np.uint8))
    assert (make_c.prepare_image(same, 32) == 7).all()  # CIFAR-sized input is used as is


def test_bad_arguments(folder: Path, tmp_path: Path, capsys):
    assert run_make_c("--data", str(folder), "--out", str(tmp_path / "o"), "--corruptions", "blurry") == 2
    err = capsys.readouterr().err
    assert "blurry" in err and "gaussian_noise" in err
    assert run_make_c("--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")) == 2
    assert "neither" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_make_c("--data", str(empty), "--out", str(tmp_path / "o")) == 2
    assert "0 images" in capsys.readouterr().err.replace("No images", "0 images")
    assert make_c.parse_corruptions("extra") == ("speckle_noise", "gaussian_blur", "spatter", "saturate")


def _prepared(n: int = 5, size: int = 32) -> writer.PreparedImages:
    arrays = np.random.default_rng(1).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return writer.PreparedImages(lambda k: arrays[k], [k % 2 for k in range(n)], ["a", "b"],
                                 [f"f{k}" for k in range(n)])


def test_write_corruptions_without_the_cli(tmp_path: Path):
    images = _prepared()
    x = np.stack([images.load(k) for k in range(len(images))])
    done = writer.write_corruptions(tmp_path / "c", images, ["contrast"], size=32, layout="cifar", seed=4, batch=2)
    assert done == ["contrast"]
    arr = np.load(tmp_path / "c" / "contrast.npy")
    for s in writer.SEVERITIES:
        np.testing.assert_array_equal(arr[(s - 1) * 5:s * 5], corrupt(x, "contrast", s, seed=4, size_table=32))
    assert np.load(tmp_path / "c" / "labels.npy").tolist() == [0, 1, 0, 1, 0] * 5
    assert writer.write_corruptions(tmp_path / "c", images, ["contrast"], size=32, layout="cifar", seed=4,
                                    batch=2) == []  # finished: skipped
    with pytest.raises(ValueError, match="made differently"):
        writer.write_corruptions(tmp_path / "c", images, ["contrast"], size=32, layout="cifar", seed=5, batch=2)
    done = writer.write_corruptions(tmp_path / "i", images, ["contrast"], size=32, layout="imagenet", seed=4, batch=3)
    assert done == ["contrast"] and (tmp_path / "i" / "contrast" / writer.DONE).is_file()
    assert sorted(p.name for p in (tmp_path / "i" / "contrast" / "5" / "b").iterdir()) == ["f1.JPEG", "f3.JPEG"]


def test_work_unit_helpers():
    assert list(writer.iter_blocks(5, 2)) == [(0, 2), (2, 4), (4, 5)]
    labels = writer.label_array([1, 2], 2)
    assert labels.dtype == np.uint8 and labels.tolist() == [1, 2, 1, 2]
    assert writer.label_array([300]).dtype == np.int64
    images = _prepared(3, 8)
    shared = writer.load_all(images, progress=False)
    assert shared.shape == (3, 8, 8, 3) and (shared[2] == images.load(2)).all()
    pool = writer.UnitPool(0, shared)  # no workers: units run here, at submit
    assert pool.submit(writer.worker_images).result() is shared
    pool.close()
    assert images.class_dir(1) == "b"
    assert writer.PreparedImages(images.load, [-1], [], ["x"]).class_dir(0) == "unlabelled"
