"""The plugin inside timm's own scripts and API: ``timm-augmix run``, the ``augmix_cifar`` crop, timm train.py
checkpoints in eval-c / card / convert (no pickled code run), the prefetcher path whatever was imported first, and
the fused normalisation on timm's ``AugMixDataset`` path."""
from __future__ import annotations

import argparse
import json
import pathlib
import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from synthetic import make_image
from timm.data import AugMixDataset, create_transform
from timm.data.loader import fast_collate
from timm.data.transforms import RandomResizedCropAndInterpolation
from timm_style_scripts import TRAIN_PY, VALIDATE_PY
from torchvision import transforms

import timm_augmix_plugin
from timm_augmix_plugin.augmix import AugMixPaper, timm_hook
from timm_augmix_plugin.augmix.transform import NormalizedToTensor
from timm_augmix_plugin.cli.main import main
from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD
from timm_augmix_plugin.hub import find_recipe
from timm_augmix_plugin.utils.checkpoints import load_trained_model, read_torch_checkpoint

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _installed():
    timm_augmix_plugin.install()
    yield
    timm_augmix_plugin.install()


@pytest.fixture
def split_folder(tmp_path):
    """train/ and validation/ ImageFolders, 2 classes x 4 images of 32 px."""
    root = tmp_path / "data"
    for split in ("train", "validation"):
        for c in range(2):
            (root / split / f"class{c}").mkdir(parents=True)
            for i in range(4):
                make_image(32, seed=100 * c + i + (50 if split == "validation" else 0)).save(
                    root / split / f"class{c}" / f"{i}.png")
    return root


def _script(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "timm_augmix_plugin.cli.main", *argv], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


# ---- timm-augmix run ------------------------------------------------------------------------------------------

def test_run_passes_argv_and_exit_code_and_installs_the_plugin(tmp_path):
    script = _script(tmp_path, "probe.py", textwrap.dedent("""
        import json, sys, timm
        json.dump(dict(argv=sys.argv, name=__name__, known=timm.is_model("wrn16_1")), open(sys.argv[1], "w"))
        sys.exit(int(sys.argv[2]))
    """))
    out = tmp_path / "probe.json"
    done = _cli("run", script, str(out), "7", "--help", "--model", "x")
    assert done.returncode == 7, done.stderr
    assert json.loads(out.read_text()) == dict(argv=[script, str(out), "7", "--help", "--model", "x"],
                                               name="__main__", known=True)
    assert _cli("run", str(tmp_path / "missing.py")).returncode == 2


def test_run_returns_the_scripts_status_in_process(tmp_path):
    script = _script(tmp_path, "s.py", "import sys\nif len(sys.argv) > 1: sys.exit(sys.argv[1])\n")
    assert main(["run", script]) == 0
    assert main(["run", script, "boom"]) == 1  # sys.exit("message") exits with 1, as Python does
    argv = sys.argv[:]
    main(["run", script])
    assert sys.argv == argv


@pytest.mark.parametrize("prefetcher", [True, False])
def test_train_style_script_with_augmix_jsd_split_bn_and_cifar_crop(tmp_path, split_folder, prefetcher):
    script = _script(tmp_path, "train.py", TRAIN_PY)
    out = tmp_path / "out"
    argv = [str(split_folder), "--model", "wrn16_1", "--num-classes", "2", "--aa", "augmix_paper", "--aug-splits", "3",
            "--jsd-loss", "--split-bn", "--train-crop-mode", "augmix_cifar", "--model-ema", "--output", str(out),
            "--exit-code", "3"] + ([] if prefetcher else ["--no-prefetcher"])
    assert main(["run", script, *argv]) == 3
    report = json.loads((out / "report.json").read_text())
    assert report["name"] == "__main__" and report["argv"] == [script, *argv]
    assert np.isfinite(report["loss"]) and report["rows"] == 12 and report["dtype"] == "torch.float32"
    assert "RandomCrop(size=(32, 32), padding=4)" in report["transform"] and "RandomResized" not in report["transform"]
    assert "AugMixPaper" in report["augmentation"]
    clean, aug1, aug2 = report["view_means"]
    assert abs(aug1 - clean) < 1.0 and abs(aug2 - clean) < 1.0  # normalised views alike, none all-zero

    # timm train.py checkpoints: eval-c / card loader without pickled code, both weight sets, split BN dropped
    ckpt = out / "model_best.pth.tar"
    plain = load_trained_model(ckpt)
    ema = load_trained_model(ckpt, use_ema=True)
    assert plain.architecture == "wrn16_1" and plain.model.num_classes == 2
    assert plain.weights_sha256 != ema.weights_sha256
    assert not any("aux_bn" in k for k in plain.model.state_dict())
    # eval-c reads it as it is
    loaded = timm_augmix_plugin.evaluation.model_loading.load_model("wrn16_1", checkpoint=ckpt)
    assert loaded.weights_sha256 == plain.weights_sha256


def test_validate_style_script_on_a_converted_train_checkpoint(tmp_path, split_folder):
    train = _script(tmp_path, "train.py", TRAIN_PY)
    assert main(["run", train, str(split_folder), "--model", "wrn16_1", "--num-classes", "2", "--model-ema",
                 "--output", str(tmp_path / "out")]) == 0
    folder = tmp_path / "converted"
    assert main(["convert", str(tmp_path / "out" / "last.pth.tar"), "--out", str(folder), "--ema"]) == 0
    assert load_trained_model(folder).weights_sha256 == load_trained_model(
        tmp_path / "out" / "last.pth.tar", use_ema=True).weights_sha256
    validate = _script(tmp_path, "validate.py", VALIDATE_PY)
    report = tmp_path / "val.json"
    assert main(["run", validate, str(split_folder), "--model", f"local-dir:{folder}", "--pretrained",
                 "--report", str(report)]) == 0
    assert json.loads(report.read_text())["total"] == 8


def test_validate_style_script_on_a_hub_folder(tmp_path, split_folder):
    validate = _script(tmp_path, "validate.py", VALIDATE_PY)
    report = tmp_path / "val.json"
    hub = ROOT / "hub" / "wrn16_1.augmix_jsd_cifar10_cpu"
    assert main(["run", validate, str(split_folder), "--model", f"local-dir:{hub}", "--pretrained",
                 "--report", str(report)]) == 0
    assert json.loads(report.read_text())["num_classes"] == 10


# ---- checkpoints: every fix an error message suggests works ------------------------------------------------------

def _train_checkpoint(path, model_name="wrn16_1", args_extra=None, ema=False):
    model = timm.create_model(model_name, num_classes=3)
    args = argparse.Namespace(**{**dict(model=model_name, num_classes=3, model_kwargs={}, in_chans=None, mean=None,
                                          std=None), **(args_extra or {})})
    state = {"epoch": 0, "arch": model_name, "state_dict": model.state_dict(), "args": args, "version": 2}
    if ema:
        state["state_dict_ema"] = {k: v + 1 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(state, path)
    return model


def _suggested_command(message: str) -> list[str]:
    command = message.split("`")[1]
    assert command.startswith("timm-augmix ")
    return shlex.split(command)[1:]


def test_untrusted_classes_are_not_unpickled_and_the_suggested_convert_works(tmp_path):
    path = tmp_path / "model_best.pth.tar"
    model = _train_checkpoint(path, args_extra=dict(data_dir=pathlib.PurePosixPath("/data")))
    with pytest.raises(ValueError, match="not unpickled") as err:
        load_trained_model(path)
    argv = [str(tmp_path / "folder") if a == "<folder>" else a for a in _suggested_command(str(err.value))]
    assert "--trust-pickle" in argv and main(argv) == 0
    assert torch.equal(load_trained_model(tmp_path / "folder").model.fc.weight, model.fc.weight)


def test_folder_of_train_checkpoints_points_at_the_file(tmp_path):
    _train_checkpoint(tmp_path / "model_best.pth.tar")
    _train_checkpoint(tmp_path / "last.pth.tar")
    with pytest.raises(FileNotFoundError, match="--checkpoint") as err:
        load_trained_model(tmp_path, model_name="wrn16_1")
    suggested = str(err.value).split("--checkpoint ")[1].split()[0]
    assert load_trained_model(suggested, model_name="wrn16_1").architecture == "wrn16_1"


def test_train_checkpoint_errors_and_their_fixes(tmp_path):
    path = tmp_path / "c.pth.tar"
    _train_checkpoint(path)
    with pytest.raises(ValueError, match="--model wrn16_1 or drop --model"):
        load_trained_model(path, model_name="wrn16_2")
    assert load_trained_model(path, model_name="wrn16_1").model.num_classes == 3
    with pytest.raises(ValueError, match="pass --ema|drop --ema"):
        load_trained_model(path, use_ema=True)
    with pytest.raises(ValueError, match="drop --num-classes"):
        load_trained_model(path, num_classes=10)
    bare = tmp_path / "bare.pth"
    torch.save(timm.create_model("wrn16_1", num_classes=3).state_dict(), bare)
    with pytest.raises(ValueError, match="with --model"):
        load_trained_model(bare)
    assert load_trained_model(bare, model_name="wrn16_1").model.num_classes == 3
    with pytest.raises(ValueError, match="drop --ema"):
        load_trained_model(bare, model_name="wrn16_1", use_ema=True)
    with_data = tmp_path / "d.pth.tar"
    _train_checkpoint(with_data, args_extra=dict(interpolation="", crop_pct=None, input_size=[3, 32, 32],
                                                 mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25]))
    assert read_torch_checkpoint(with_data).data_config == dict(mean=[0.5] * 3, std=[0.25] * 3, input_size=[3, 32, 32])
    cfg = load_trained_model(with_data).model.pretrained_cfg  # train.py's --mean/--std decide the preprocessing
    assert cfg["mean"] == (0.5, 0.5, 0.5) and cfg["std"] == (0.25,) * 3 and cfg["interpolation"] == "bilinear"
    ema = tmp_path / "ema.pth.tar"
    _train_checkpoint(ema, ema=True)
    assert read_torch_checkpoint(ema, use_ema=True).state_dict["fc.bias"].eq(1).all()


def test_card_finds_train_py_args_yaml_beside_a_train_checkpoint(tmp_path):
    (tmp_path / "args.yaml").write_text("model: wrn16_1\n")
    _train_checkpoint(tmp_path / "model_best.pth.tar")
    assert find_recipe(tmp_path / "model_best.pth.tar") == tmp_path / "args.yaml"


# ---- transforms: the CIFAR crop, no import-order trap, fused normalisation ------------------------------------

def test_augmix_cifar_crop_mode_replaces_only_the_random_resized_crop():
    for separate in (False, True):
        tf = create_transform(32, is_training=True, auto_augment="augmix_paper", train_crop_mode="augmix_cifar",
                              separate=separate)
        steps = (tf[0] if separate else tf).transforms
        crop = steps[0]
        assert isinstance(crop, transforms.RandomCrop) and crop.padding == 4 and crop.size == (32, 32)
        assert isinstance(steps[1], transforms.RandomHorizontalFlip)
    plain = create_transform(32, is_training=True, train_crop_mode="augmix_cifar")  # standard training, paper crop
    assert isinstance(plain.transforms[0], transforms.RandomCrop)
    for mode in (None, "rrc"):  # timm's own modes are untouched
        assert isinstance(create_transform(32, is_training=True, train_crop_mode=mode).transforms[0],
                          RandomResizedCropAndInterpolation)
    with pytest.raises(ValueError, match="NaFlex"):
        create_transform(32, is_training=True, train_crop_mode="augmix_cifar", naflex=True)


def _fast_collate_views(make_transforms):
    tf = make_transforms(32, auto_augment="augmix_paper", use_prefetcher=True, separate=True, hflip=0.0,
                         scale=(1.0, 1.0), ratio=(1.0, 1.0))

    class Images(torch.utils.data.Dataset):
        transform = None

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return self.transform(make_image(32, seed=i)), 0

    ds = AugMixDataset(Images(), num_splits=3)
    ds.transform = tf
    batch, _ = fast_collate([ds[i] for i in range(4)])
    return tf, torch.split(batch.float(), 4)


def test_prefetcher_views_are_right_when_timms_function_was_imported_first():
    # timm's own transforms_imagenet_train, as a module that imported it before the plugin holds it
    early = timm_hook._originals["transforms_imagenet_train"]
    for make in (early, timm.data.transforms_factory.transforms_imagenet_train):
        tf, (clean, aug1, aug2) = _fast_collate_views(make)
        assert tf[1].transforms[0].output == "uint8"
        assert clean.mean() > 50 and abs(aug1.mean() - clean.mean()) < 40 and abs(aug2.mean() - clean.mean()) < 40


def test_prefetcher_import_order_in_a_fresh_interpreter(tmp_path):
    code = textwrap.dedent("""
        import sys; sys.path.insert(0, sys.argv[1])
        from timm.data.transforms_factory import transforms_imagenet_train   # imported before the plugin
        import timm_augmix_plugin
        from synthetic import make_image
        t = transforms_imagenet_train(32, auto_augment="augmix_paper", use_prefetcher=True)
        v = t(make_image(32))
        print(v.dtype, int(v.float().mean()))
    """)
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "tests")], capture_output=True, text=True,
                          timeout=300)
    dtype, mean = done.stdout.split()
    assert dtype == "torch.uint8" and int(mean) > 50, done.stderr


def test_fused_normalisation_gives_timms_numbers():
    kwargs = dict(auto_augment="augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD, hflip=0.0, scale=(1.0, 1.0),
                  ratio=(1.0, 1.0))
    img = make_image(32, seed=3)
    fused = create_transform(32, is_training=True, separate=True, **kwargs)
    assert isinstance(fused[2].transforms[0], NormalizedToTensor)
    unfused = timm_hook._originals["transforms_imagenet_train"](32, separate=True, **kwargs)
    assert not any(isinstance(t, NormalizedToTensor) for t in unfused[2].transforms)
    for tf in (fused, unfused):
        torch.manual_seed(0)
        tf_views = [tf[2](tf[0](img))] + [tf[2](tf[1](tf[0](img))) for _ in range(2)]
        if tf is fused:
            got = tf_views
        else:
            want = tf_views
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=0)
    one = create_transform(32, is_training=True, **kwargs)  # separate=False: one Compose
    torch.manual_seed(0)
    view = one(img)
    torch.manual_seed(0)
    torch.testing.assert_close(view, unfused[2](unfused[1](unfused[0](img))), atol=2e-5, rtol=0)


def test_normalized_to_tensor_acts_as_timms_steps_on_everything_else():
    final = NormalizedToTensor(CIFAR_MEAN, CIFAR_STD)
    timm_final = transforms.Compose([transforms.ToTensor(), transforms.Normalize(CIFAR_MEAN, CIFAR_STD)])
    img = make_image(32, seed=4)
    torch.testing.assert_close(final(img), timm_final(img), atol=2e-5, rtol=0)
    gray = img.convert("L")
    torch.testing.assert_close(final(gray.convert("RGB")), timm_final(gray.convert("RGB")), atol=2e-5, rtol=0)
    tensor = torch.rand(3, 8, 8)
    torch.testing.assert_close(final(tensor), transforms.Normalize(CIFAR_MEAN, CIFAR_STD)(tensor))
    marked = AugMixPaper("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD)(img)
    assert final(marked) is marked


def test_uninstall_removes_the_crop_mode_and_the_fusion():
    timm_augmix_plugin.uninstall()
    with pytest.raises(AssertionError):
        create_transform(32, is_training=True, train_crop_mode="augmix_cifar")
    timm_augmix_plugin.install()
    assert isinstance(create_transform(32, is_training=True, train_crop_mode="augmix_cifar").transforms[0],
                      transforms.RandomCrop)


def test_images_with_other_modes_reach_augmix_checks():
    tf = create_transform(32, is_training=True, auto_augment="augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD)
    rgba = Image.new("RGBA", (32, 32))
    with pytest.raises(ValueError, match="alpha"):
        tf(rgba)
