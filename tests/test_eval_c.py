"""eval-c end to end: -C readers on synthetic sets, model specs, results.json + plots, bad input, multi-process."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from conftest import SHARED_DATA
from PIL import Image

from timm_augmix_plugin import corruptions
from timm_augmix_plugin.cli import eval_c, make_c
from timm_augmix_plugin.evaluation import metrics
from timm_augmix_plugin.evaluation.datasets import (
    CifarCReader,
    GeneratedSplit,
    ImageNetCReader,
    detect_layout,
    load_clean_dataset,
    subset_indices,
)
from timm_augmix_plugin.evaluation.model_loading import load_model
from timm_augmix_plugin.evaluation.pipeline import EvalCConfig, evaluate_corruptions
from timm_augmix_plugin.evaluation.results import load_results, read_results
from timm_augmix_plugin.evaluation.transforms import ReferencePrepare, clean_transform, corrupted_transform
from timm_augmix_plugin.utils.seeds import sample_seed
from timm_augmix_plugin.utils.weights_hash import file_weights_sha256, state_dict_sha256

NUM_CLASSES = 4
SIZE = 32
PER_SEVERITY = 12
CORRUPTIONS = ["gaussian_noise", "fog"]
pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")  # the evaluations create an Accelerator (conftest)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images(n: int, seed: int, size: int = SIZE) -> np.ndarray:
    return torch.randint(0, 256, (n, size, size, 3), generator=_generator(seed), dtype=torch.uint8).numpy()


def write_cifar_c(root: Path, corruptions=CORRUPTIONS, n: int = PER_SEVERITY, size: int = SIZE,
                  num_classes: int = NUM_CLASSES, tile_labels: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    labels = torch.randint(0, num_classes, (n,), generator=_generator(1)).numpy().astype(np.int64)
    np.save(root / "labels.npy", np.tile(labels, 5) if tile_labels else labels)
    for k, name in enumerate(corruptions):
        np.save(root / f"{name}.npy", _images(5 * n, 10 + k, size))
    return root


def write_image_folder(root: Path, per_class: int, seed: int, classes=None) -> Path:
    classes = classes or [f"class{k}" for k in range(NUM_CLASSES)]
    images = _images(per_class * len(classes), seed)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(images[k * per_class + i]).save(root / name / f"{i:03d}.png")
    return root


def write_imagenet_c(root: Path, corruptions=CORRUPTIONS, severities=(1, 2, 3, 4, 5), per_class: int = 2) -> Path:
    for k, c in enumerate(corruptions):
        for s in severities:
            write_image_folder(root / c / str(s), per_class, seed=100 + 10 * k + s)
    return root


def make_model(seed: int = 0, num_classes: int = NUM_CLASSES) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=num_classes,
                              pretrained_cfg_overlay={"input_size": (3, SIZE, SIZE)})
    # random BN statistics so that the network's outputs depend clearly on its input
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1, generator=_generator(seed))
                m.running_var.uniform_(0.5, 1.5, generator=_generator(seed + 1))
    return model.eval()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "final"
    timm.models.save_for_hf(make_model(), str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def cifar_c(tmp_path_factory) -> Path:
    return write_cifar_c(tmp_path_factory.mktemp("data") / "CIFAR-4-C")


@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory) -> Path:
    return write_image_folder(tmp_path_factory.mktemp("clean") / "test", per_class=3, seed=7)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    eval_c.add_arguments(parser)
    return parser.parse_args(argv)


def run_cli(argv: list[str]) -> int:
    return eval_c.run(parse(argv + ["--workers", "0", "--cpu"]))


def reference_predictions(model: torch.nn.Module, images: np.ndarray, mean=(0.5,) * 3, std=(0.5,) * 3):
    """Independent forward pass: uint8 NHWC -> normalised NCHW -> softmax."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    with torch.no_grad():
        return torch.softmax(model(x), dim=1).numpy()


# ----------------------------------------------------------------------------------------------------------- readers
class TestCifarReader:
    def test_reads_severity_slices(self, cifar_c):
        reader = CifarCReader(cifar_c, CORRUPTIONS, NUM_CLASSES)
        assert reader.per_severity == PER_SEVERITY and reader.image_size == (SIZE, SIZE)
        to_tensor = corrupted_transform({"mean": (0.0,) * 3, "std": (1.0,) * 3, "input_size": (3, SIZE, SIZE)})
        split = reader.split("fog", 3, to_tensor, group=7)
        assert len(split) == PER_SEVERITY
        raw = np.load(cifar_c / "fog.npy")
        labels = np.load(cifar_c / "labels.npy")
        image, label, group = split[5]
        row = 2 * PER_SEVERITY + 5
        torch.testing.assert_close(image, torch.from_numpy(raw[row]).permute(2, 0, 1).float() / 255)
        assert label == labels[row] and group == 7

    def test_short_labels_are_tiled(self, tmp_path):
        root = write_cifar_c(tmp_path / "c", tile_labels=False)
        reader = CifarCReader(root, CORRUPTIONS, NUM_CLASSES)
        np.testing.assert_array_equal(reader.labels, np.tile(np.load(root / "labels.npy"), 5))

    def test_limit_spreads_evenly(self, cifar_c):
        reader = CifarCReader(cifar_c, CORRUPTIONS)
        split = reader.split("gaussian_noise", 2, lambda a: torch.zeros(1), limit=4)
        assert split.indices.tolist() == (PER_SEVERITY + subset_indices(PER_SEVERITY, 4)).tolist()
        assert subset_indices(12, 4).tolist() == [0, 4, 7, 11]

    def test_missing_files_are_listed(self, cifar_c):
        wanted = CORRUPTIONS + ["snow", "frost"]
        with pytest.raises(FileNotFoundError) as info:
            CifarCReader(cifar_c, wanted)
        message = str(info.value)
        assert "snow.npy, frost.npy" in message and "--corruptions" in message and "fog" in message

    def test_missing_labels_listed(self, tmp_path):
        root = write_cifar_c(tmp_path / "c")
        (root / "labels.npy").unlink()
        with pytest.raises(FileNotFoundError, match="labels.npy"):
            CifarCReader(root, CORRUPTIONS)

    @pytest.mark.parametrize(
        "array, message",
        [
            (np.zeros((60, SIZE, SIZE), np.uint8), r"uint8 array of shape \(5N, H, W, 3\)"),
            (np.zeros((60, SIZE, SIZE, 3), np.float32), "float32"),
            (np.zeros((59, SIZE, SIZE, 3), np.uint8), "not a multiple of 5"),
            (np.zeros((50, SIZE, SIZE, 3), np.uint8), "labels.npy holds 60 labels"),
        ],
    )
    def test_wrong_shapes(self, tmp_path, array, message):
        root = write_cifar_c(tmp_path / "c")
        np.save(root / "fog.npy", array)
        with pytest.raises(ValueError, match=message):
            CifarCReader(root, ["fog"])

    def test_inconsistent_shapes_between_files(self, tmp_path):
        root = write_cifar_c(tmp_path / "c")
        np.save(root / "fog.npy", np.zeros((60, 16, 16, 3), np.uint8))
        with pytest.raises(ValueError, match="other corruption files"):
            CifarCReader(root, CORRUPTIONS)

    def test_label_class_mismatch(self, tmp_path):
        root = write_cifar_c(tmp_path / "c", num_classes=10)
        labels = np.load(root / "labels.npy")
        labels[0] = 9
        np.save(root / "labels.npy", labels)
        with pytest.raises(ValueError, match="labels up to 9, but the model has 4 classes"):
            CifarCReader(root, CORRUPTIONS, num_classes=4)
        np.save(root / "labels.npy", labels.astype(np.float32))
        with pytest.raises(ValueError, match="integer class indices"):
            CifarCReader(root, CORRUPTIONS)


class TestImageNetReader:
    def test_reads_sorted_classes(self, tmp_path):
        root = write_imagenet_c(tmp_path / "inc", severities=(1, 2))
        reader = ImageNetCReader(root, CORRUPTIONS, [1, 2], NUM_CLASSES)
        assert reader.classes == [f"class{k}" for k in range(NUM_CLASSES)]
        assert reader.image_size == (SIZE, SIZE)
        split = reader.split("fog", 2, corrupted_transform({"mean": (0.0,) * 3, "std": (1.0,) * 3}), group=3)
        assert len(split) == 2 * NUM_CLASSES
        image, label, group = split[3]  # class1/001.png
        expected = np.array(Image.open(root / "fog" / "2" / "class1" / "001.png"))
        torch.testing.assert_close(image, torch.from_numpy(expected).permute(2, 0, 1).float() / 255)
        assert (label, group) == (1, 3)
        assert detect_layout(root) == "imagenet"

    def test_missing_folders_listed(self, tmp_path):
        root = write_imagenet_c(tmp_path / "inc", severities=(1, 2))
        with pytest.raises(FileNotFoundError) as info:
            ImageNetCReader(root, CORRUPTIONS + ["snow"], [1, 2, 3])
        message = str(info.value)
        for part in ("gaussian_noise/3", "fog/3", "snow/1", "snow/2", "snow/3"):
            assert part in message
        assert "gaussian_noise/1" not in message

    def test_class_count_mismatch(self, tmp_path):
        root = write_imagenet_c(tmp_path / "inc", severities=(1,))
        with pytest.raises(ValueError, match="4 class folders but the model has 10 classes"):
            ImageNetCReader(root, CORRUPTIONS, [1], num_classes=10)

    def test_differing_classes(self, tmp_path):
        root = write_imagenet_c(tmp_path / "inc", severities=(1,))
        (root / "fog" / "1" / "class3").rename(root / "fog" / "1" / "zebra")
        with pytest.raises(ValueError, match="different class folders"):
            ImageNetCReader(root, CORRUPTIONS, [1])

    def test_detect_layout_errors(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            detect_layout(tmp_path / "nothing")
        (tmp_path / "empty").mkdir()
        with pytest.raises(FileNotFoundError, match="neither CIFAR-C files"):
            detect_layout(tmp_path / "empty")


class TestTransforms:
    config = {"input_size": (3, SIZE, SIZE), "mean": (0.5,) * 3, "std": (0.25,) * 3, "crop_pct": 0.875,
              "interpolation": "bilinear"}

    def test_corrupted_images_are_only_normalised(self):
        image = _images(1, 0)[0]
        out = corrupted_transform(self.config)(image)
        torch.testing.assert_close(out, (torch.from_numpy(image).permute(2, 0, 1).float() / 255 - 0.5) / 0.25)

    def test_clean_images_resized_only_when_needed(self):
        transform = clean_transform(self.config)
        same = Image.fromarray(_images(1, 1)[0])
        torch.testing.assert_close(transform(same), corrupted_transform(self.config)(same))
        big = Image.fromarray(_images(1, 2, size=48)[0]).crop((0, 0, 48, 40))
        assert transform(big).shape == (3, SIZE, SIZE)

    def test_reference_prepare(self):
        wide = Image.new("RGB", (400, 300))
        assert ReferencePrepare(224)(wide).size == (224, 224)
        assert ReferencePrepare(64)(wide).size == (64, 64)
        same = Image.new("RGB", (32, 32))
        assert ReferencePrepare(32)(same) is same


# ------------------------------------------------------------------------------------------------------ model loading
class TestModelLoading:
    def test_local_dir(self, model_dir):
        loaded = load_model(f"local-dir:{model_dir}")
        assert loaded.architecture == "test_resnet" and loaded.num_classes == NUM_CLASSES
        assert loaded.data_config["input_size"] == (3, SIZE, SIZE)
        assert loaded.weights_sha256 == state_dict_sha256(make_model().state_dict())

    def test_timm_name_with_safetensors_file(self, model_dir):
        loaded = load_model("test_resnet", checkpoint=model_dir / "model.safetensors")
        assert loaded.num_classes == NUM_CLASSES  # read off the classifier weights
        assert loaded.weights_sha256 == state_dict_sha256(make_model().state_dict())
        # no config.json with the bare file: the pretrained_cfg of test_resnet (160 px) applies, --img-size overrides
        assert loaded.data_config["input_size"] == (3, 160, 160)
        assert load_model("test_resnet", checkpoint=model_dir / "model.safetensors",
                          img_size=SIZE).data_config["input_size"] == (3, SIZE, SIZE)

    def test_timm_name_with_final_folder(self, model_dir):
        loaded = load_model("test_resnet", checkpoint=model_dir)
        assert loaded.data_config["input_size"] == (3, SIZE, SIZE)
        with pytest.raises(ValueError, match="describes a test_resnet"):
            load_model("resnet18", checkpoint=model_dir)

    def test_checkpoint_folder_with_prefixed_keys(self, tmp_path, model_dir):
        from safetensors.torch import save_file

        state = {f"module.{k}": v for k, v in make_model().state_dict().items()}
        (tmp_path / "checkpoint_3").mkdir()
        save_file(state, str(tmp_path / "checkpoint_3" / "model.safetensors"))
        loaded = load_model("test_resnet", checkpoint=tmp_path / "checkpoint_3")
        assert loaded.weights_sha256 == state_dict_sha256(make_model().state_dict())

    def test_rejects_pickle_and_mismatches(self, tmp_path, model_dir):
        torch.save(make_model().state_dict(), tmp_path / "weights.pth")  # a bare state dict reads weights_only
        loaded = load_model("test_resnet", checkpoint=tmp_path / "weights.pth")
        assert loaded.weights_sha256 == state_dict_sha256(make_model().state_dict())
        (tmp_path / "ckpt").mkdir()
        torch.save({}, tmp_path / "ckpt" / "pytorch_model.bin")
        with pytest.raises(FileNotFoundError, match="pytorch_model.bin"):
            load_model("test_resnet", checkpoint=tmp_path / "ckpt")
        with pytest.raises(ValueError, match="--num-classes 10 but the checkpoint"):
            load_model("test_resnet", checkpoint=model_dir / "model.safetensors", num_classes=10)
        with pytest.raises(ValueError, match="do not fit the model"):
            load_model("test_byobnet", checkpoint=model_dir / "model.safetensors")
        with pytest.raises(ValueError, match="unknown timm model"):
            load_model("no_such_net", checkpoint=model_dir / "model.safetensors")
        with pytest.raises(FileNotFoundError, match="config.json"):
            load_model(f"local-dir:{tmp_path}")


    def test_hub_and_pretrained_failures_are_explained(self, monkeypatch):
        def offline(*args, **kwargs):
            raise OSError("no network")

        monkeypatch.setattr(timm, "create_model", offline)
        with pytest.raises(ValueError, match="could not load hf-hub:org/model from the Hugging Face Hub"):
            load_model("hf-hub:org/model")
        with pytest.raises(ValueError, match="--no-pretrained"):
            load_model("test_resnet")
        with pytest.raises(ValueError, match="--checkpoint goes with a timm model name"):
            load_model("hf-hub:org/model", checkpoint="x.safetensors")


# --------------------------------------------------------------------------------------------------------- end to end
class TestEndToEnd:
    def test_cifar_layout_with_clean(self, tmp_path, model_dir, cifar_c, clean_folder, capsys):
        out = tmp_path / "eval" / "results.json"
        rc = run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(cifar_c), "--clean-data", str(clean_folder),
                      "--corruptions", ",".join(CORRUPTIONS), "--out", str(out), "--batch-size", "7"])
        assert rc == 0, capsys.readouterr().err
        results = read_results(out)  # validates the schema
        assert (out.parent / "error_vs_severity.png").stat().st_size > 1000
        assert (out.parent / "reliability.png").stat().st_size > 1000
        assert results["dataset"] == "cifar-4-c" and results["benchmark_style"] == "cifar"
        assert results["mce"] is None and results["calibration"]["rms_method"] == "all_bins"
        assert results["num_corrupted_samples"] == len(CORRUPTIONS) * 5 * PER_SEVERITY
        assert results["num_clean_samples"] == 3 * NUM_CLASSES
        assert results["weights_sha256"] == state_dict_sha256(make_model().state_dict())

        # independent computation straight from the .npy files
        model, labels = make_model(), np.load(cifar_c / "labels.npy")
        confidences, corrects = [], []
        for c in CORRUPTIONS:
            probs = reference_predictions(model, np.load(cifar_c / f"{c}.npy"))
            correct = probs.argmax(1) == labels
            confidences.append(probs.max(1))
            corrects.append(correct)
            for s in range(1, 6):
                rows = slice((s - 1) * PER_SEVERITY, s * PER_SEVERITY)
                assert results["errors"][c][str(s)] == pytest.approx(metrics.error_rate(correct[rows]))
            assert results["corruption_errors"][c] == pytest.approx(metrics.error_rate(correct))  # pooled 5N
        conf, corr = np.concatenate(confidences), np.concatenate(corrects)
        assert results["corrupted"]["rms_calibration_error"] == pytest.approx(
            metrics.rms_calibration_error(conf, corr), abs=1e-4)
        assert results["corrupted"]["ece"] == pytest.approx(metrics.expected_calibration_error(conf, corr), abs=1e-4)
        clean_images = np.stack([np.asarray(Image.open(p)) for p in sorted(clean_folder.glob("*/*.png"))])
        clean_labels = np.repeat(np.arange(NUM_CLASSES), 3)
        clean_correct = reference_predictions(model, clean_images).argmax(1) == clean_labels
        assert results["clean_error"] == pytest.approx(metrics.error_rate(clean_correct))
        assert "mean corruption error" in capsys.readouterr().out

    def test_results_readable_by_hub_cards(self, tmp_path, model_dir, cifar_c):
        out = tmp_path / "results.json"
        assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(cifar_c), "--corruptions", "fog",
                        "--out", str(out), "--no-plots"]) == 0
        card_view = load_results(out)
        assert card_view.weights_sha256 == file_weights_sha256(str(model_dir / "model.safetensors"))
        assert card_view.errors["fog"][3] == read_results(out)["errors"]["fog"]["3"]

    def test_checkpoint_spec_quirk_flag_and_baseline(self, tmp_path, model_dir, cifar_c):
        base = tmp_path / "base.json"
        assert run_cli(["--model", "test_resnet", "--checkpoint", str(model_dir / "model.safetensors"),
                        "--img-size", str(SIZE), "--c-data", str(cifar_c), "--corruptions", ",".join(CORRUPTIONS),
                        "--out", str(base), "--no-plots", "--rms-reference-quirk", "--rms-bin-size", "10"]) == 0
        results = read_results(base)
        assert results["calibration"] == {**results["calibration"], "rms_method": "reference_skip_last_bin",
                                          "rms_bin_size": 10}
        assert results["clean_error"] is None and results["clean"] is None
        assert not (tmp_path / "reliability.png").exists()
        # normalised by itself: every CE is 100
        out = tmp_path / "norm.json"
        assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(cifar_c), "--corruptions",
                        ",".join(CORRUPTIONS), "--baseline", str(base), "--out", str(out), "--no-plots"]) == 0
        normed = read_results(out)
        assert normed["mce"] == pytest.approx(100.0) and normed["mce_normalizer"] == str(base)
        assert normed["errors"] == results["errors"]

    def test_imagenet_layout_alexnet_mce(self, tmp_path, model_dir):
        root = write_imagenet_c(tmp_path / "ImageNet-C")
        clean = write_image_folder(tmp_path / "val", per_class=2, seed=3)
        out = tmp_path / "r.json"
        assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(root), "--clean-data", str(clean),
                        "--corruptions", ",".join(CORRUPTIONS), "--benchmark-style", "imagenet",
                        "--out", str(out)]) == 0
        results = read_results(out)
        assert results["mce_normalizer"] == "alexnet"
        ces = {c: 100 * sum(results["errors"][c].values()) / (100 * sum(metrics.ALEXNET_ERRORS[c]))
               for c in CORRUPTIONS}
        assert results["mce"] == pytest.approx(np.mean(list(ces.values())))
        rel = {c: 100 * sum(e - results["clean_error"] for e in results["errors"][c].values())
               / sum(100 * a - 43.478 for a in metrics.ALEXNET_ERRORS[c]) for c in CORRUPTIONS}
        assert results["relative_mce"] == pytest.approx(np.mean(list(rel.values())))
        assert results["source"]["layout"] == "imagenet"

    def test_generate_with_custom_corrupt_fn(self, tmp_path, model_dir, clean_folder):
        calls = []

        def shift(image, name, severity, seed=None):
            calls.append((name, severity, seed))
            noise = np.random.default_rng(seed).integers(0, 8 * severity, image.shape)
            return np.clip(image.astype(np.int64) + noise, 0, 255).astype(np.uint8)

        cfg = dict(model=f"local-dir:{model_dir}", generate=True, clean_data=str(clean_folder),
                   corruptions=["gaussian_noise"], severities=[1, 5], workers=0, plots=False, seed=3)
        first = evaluate_corruptions(EvalCConfig(out=str(tmp_path / "a.json"), **cfg), corrupt_fn=shift)
        again = evaluate_corruptions(EvalCConfig(out=str(tmp_path / "b.json"), **cfg), corrupt_fn=shift)
        assert first["errors"] == again["errors"] and first["corrupted"] == again["corrupted"]
        assert first["num_corrupted_samples"] == 2 * 3 * NUM_CLASSES
        assert first["dataset"] == "test-c-generated" and first["source"]["layout"] == "generated"
        seeds = {seed for _, _, seed in calls}
        assert len(seeds) == len(calls) // 2  # one seed per (severity, image), reused identically by the rerun
        # the seeds are sample_seed's of (run seed, corruption, severity, image index), for every image
        assert seeds == {sample_seed(3, "gaussian_noise", s, i) for s in (1, 5) for i in range(3 * NUM_CLASSES)}
        assert sample_seed(3, "gaussian_noise", 5, 0) != sample_seed(4, "gaussian_noise", 5, 0)

    def test_generated_split_equals_batch_corrupt(self, clean_folder):
        dataset = load_clean_dataset(str(clean_folder))
        images = np.stack([np.asarray(dataset[i][0]) for i in range(len(dataset))])
        expected = corruptions.corrupt(images, "shot_noise", 4, seed=9)
        split = GeneratedSplit(dataset, np.arange(len(dataset)), "shot_noise", 4, geometric=ReferencePrepare(SIZE),
                               transform=lambda a: torch.from_numpy(np.array(a)), corrupt_fn=corruptions.corrupt,
                               seed=9)
        for i in (0, 5, len(dataset) - 1):
            np.testing.assert_array_equal(split[i][0].numpy(), expected[i])

    def test_generate_matches_make_c_files(self, tmp_path, model_dir, clean_folder):
        parser = argparse.ArgumentParser()
        make_c.add_arguments(parser)
        names = "gaussian_noise,contrast"
        made = tmp_path / "made-c"
        assert make_c.run(parser.parse_args(["--data", str(clean_folder), "--out", str(made), "--size", str(SIZE),
                                             "--layout", "cifar", "--corruptions", names, "--seed", "5",
                                             "--workers", "0", "--no-progress"])) in (0, None)
        common = ["--model", f"local-dir:{model_dir}", "--corruptions", names, "--no-plots"]
        assert run_cli([*common, "--c-data", str(made), "--out", str(tmp_path / "files.json")]) == 0
        assert run_cli([*common, "--generate", "--clean-data", str(clean_folder), "--seed", "5",
                        "--out", str(tmp_path / "fly.json")]) == 0
        files, fly = read_results(tmp_path / "files.json"), read_results(tmp_path / "fly.json")
        assert files["errors"] == fly["errors"]
        assert files["corrupted"] == pytest.approx(fly["corrupted"], abs=1e-6)

    def test_generate_with_real_corruptions(self, tmp_path, model_dir, clean_folder):
        out = tmp_path / "r.json"
        assert run_cli(["--model", f"local-dir:{model_dir}", "--generate", "--clean-data", str(clean_folder),
                        "--corruptions", "gaussian_noise,contrast", "--severities", "1,3", "--limit", "4",
                        "--out", str(out), "--no-plots"]) == 0
        results = read_results(out)
        assert results["num_corrupted_samples"] == 2 * 2 * 4 and results["num_clean_samples"] == 4


# ---------------------------------------------------------------------------------------------------------- bad input
class TestBadInput:
    def test_missing_corruption_files_listed(self, tmp_path, model_dir, cifar_c, capsys):
        rc = run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(cifar_c), "--out", str(tmp_path / "r.json")])
        assert rc == 2
        err = capsys.readouterr().err
        assert "lacks 13 file(s)" in err and "shot_noise.npy" in err and "jpeg_compression.npy" in err
        assert not (tmp_path / "r.json").exists()

    def test_size_mismatch(self, tmp_path, model_dir, capsys):
        root = write_cifar_c(tmp_path / "c16", size=16)
        rc = run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(root), "--corruptions", "fog",
                      "--out", str(tmp_path / "r.json")])
        assert rc == 2
        err = capsys.readouterr().err
        assert "16x16 images" in err and "expects 32x32" in err and "--img-size 16" in err

    def test_imagenet_image_size_mismatch_found_per_image(self, tmp_path, model_dir):
        root = write_imagenet_c(tmp_path / "inc", corruptions=["fog"], severities=(1,))
        Image.fromarray(_images(1, 0, size=20)[0]).save(root / "fog" / "1" / "class2" / "001.png")
        with pytest.raises(ValueError, match="is 20x20 but the model expects 32x32"):
            evaluate_corruptions(EvalCConfig(model=f"local-dir:{model_dir}", c_data=str(root), corruptions=["fog"],
                                             severities=[1], out=str(tmp_path / "r.json"), workers=0, plots=False))

    def test_label_class_mismatch(self, tmp_path, model_dir, capsys):
        root = write_cifar_c(tmp_path / "c100", num_classes=100)
        labels = np.load(root / "labels.npy")
        labels[3] = 99
        np.save(root / "labels.npy", labels)
        assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(root), "--corruptions", "fog",
                        "--out", str(tmp_path / "r.json")]) == 2
        assert "labels up to 99, but the model has 4 classes" in capsys.readouterr().err

    def test_clean_class_mismatch(self, tmp_path, model_dir, cifar_c, capsys):
        clean = write_image_folder(tmp_path / "clean10", per_class=1, seed=1, classes=[f"c{k}" for k in range(6)])
        assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(cifar_c), "--corruptions", "fog",
                        "--clean-data", str(clean), "--out", str(tmp_path / "r.json")]) == 2
        assert "labels up to 5, but the model has 4 classes" in capsys.readouterr().err

    def test_imagenet_clean_classes_differ(self, tmp_path, model_dir, capsys):
        root = write_imagenet_c(tmp_path / "inc", corruptions=["fog"], severities=(1,))
        clean = write_image_folder(tmp_path / "val", per_class=1, seed=1, classes=["a", "b", "c", "d"])
        assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(root), "--corruptions", "fog",
                        "--severities", "1", "--clean-data", str(clean), "--out", str(tmp_path / "r.json")]) == 2
        assert "clean data's classes differ" in capsys.readouterr().err

    @pytest.mark.parametrize(
        "extra, message",
        [
            (["--generate"], "--generate needs --clean-data"),
            ([], "pass --c-data DIR"),
            (["--c-data", "x", "--severities", "0,6"], "distinct values in 1..5"),
            (["--c-data", "x", "--batch-size", "0"], "--batch-size must be >= 1"),
            (["--c-data", "/no/such/dir"], "does not exist"),
        ],
    )
    def test_option_errors(self, tmp_path, model_dir, capsys, extra, message):
        assert run_cli(["--model", f"local-dir:{model_dir}", "--out", str(tmp_path / "r.json"), *extra]) == 2
        assert message in capsys.readouterr().err


# -------------------------------------------------------------------------------------------------------- shared data
SHARED_TEST_TAR = SHARED_DATA / "test.tar"


@pytest.mark.shared_data
def test_generate_from_shared_cifar10_tar(tmp_path):
    """Real CIFAR-10 test images read from the shared tar, corrupted on the fly (skipped without the shared data)."""
    if not SHARED_TEST_TAR.is_file():
        pytest.skip(f"shared CIFAR-10 data not found at {SHARED_TEST_TAR}")
    folder = tmp_path / "final"
    timm.models.save_for_hf(make_model(num_classes=10), str(folder), safe_serialization=True)
    out = tmp_path / "r.json"
    assert run_cli(["--model", f"local-dir:{folder}", "--generate", "--clean-data", str(SHARED_TEST_TAR),
                    "--corruptions", "contrast", "--severities", "1,5", "--limit", "40", "--out", str(out)]) == 0
    results = read_results(out)
    assert results["num_clean_samples"] == 40 and results["num_corrupted_samples"] == 80
    assert results["dataset"] == "test-c-generated"


# ------------------------------------------------------------------------------------------------------ multi-process
@pytest.mark.slow
def test_two_processes_match_one(tmp_path, model_dir, cifar_c, clean_folder):
    """Two CPU processes under ``accelerate launch`` give the same results as a single process.

    accelerate 1.x itself runs a single process for ``accelerate launch --cpu --num_processes 2``; eval-c's entry point
    restarts itself as two gloo (MULTI_CPU) processes then (``timm_augmix_plugin.utils.cpu_processes``).
    """
    common = ["--model", f"local-dir:{model_dir}", "--c-data", str(cifar_c), "--clean-data", str(clean_folder),
              "--corruptions", ",".join(CORRUPTIONS), "--batch-size", "5", "--workers", "0", "--cpu", "--no-plots",
              "--rms-bin-size", "10"]
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    assert eval_c.run(parse(common + ["--out", str(one)])) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1", "CUDA_VISIBLE_DEVICES": ""}
    launcher = Path(sys.executable).with_name("accelerate")
    cmd = [str(launcher), "launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "timm_augmix_plugin.cli.eval_c", *common,
           "--out", str(two)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    a, b = read_results(one), read_results(two)
    assert b["source"]["num_processes"] == 2 and a["source"]["num_processes"] == 1
    assert a["num_corrupted_samples"] == b["num_corrupted_samples"] == len(CORRUPTIONS) * 5 * PER_SEVERITY
    assert a["num_clean_samples"] == b["num_clean_samples"]
    assert a["errors"] == b["errors"] and a["clean_error"] == b["clean_error"]
    for block in ("clean", "corrupted"):
        assert b[block] == pytest.approx(a[block], rel=1e-5, abs=1e-6)
    assert json.dumps(a["corruption_errors"]) == json.dumps(b["corruption_errors"])
