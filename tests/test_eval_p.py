"""-P evaluation: stability metrics against the reference's loops, readers and bad input, make-p layouts and resume,
eval-p end to end (released layout, frames, on the fly, extending eval-c results), compare and model cards."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from scipy.stats import rankdata
from synthetic import make_results
from test_eval_c import make_model, write_image_folder

from timm_augmix_plugin.cli import compare as compare_cli
from timm_augmix_plugin.cli import eval_p, make_p
from timm_augmix_plugin.evaluation.compare import per_perturbation_table, stability_table
from timm_augmix_plugin.evaluation.p_datasets import CifarPReader, detect_p_layout
from timm_augmix_plugin.evaluation.results import load_results, read_results, validation_problems, write_results
from timm_augmix_plugin.evaluation.stability import (
    normalized_ratio_mean,
    pair_indices,
    video_flip_probability,
    video_top5_distance,
)
from timm_augmix_plugin.perturbations import perturb
from timm_augmix_plugin.utils.weights_hash import file_weights_sha256

NUM_CLASSES = 4
PERTURBATIONS = "gaussian_noise,translate,rotate"
pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")  # the evaluations create an Accelerator (conftest)


# ------------------------------------------------------------------------------------- metrics vs the reference loops
def reference_flip_prob(predictions, noise, difficulty):
    """``flip_prob`` of ImageNet-P/test.py, re-stated loop for loop."""
    result = 0.0
    step = 1 if noise else difficulty
    for video in predictions:
        per_video = []
        for i in range(step):
            prev = video[i]
            for pred in video[i::step][1:]:
                per_video.append(int(prev != pred))
                if not noise:
                    prev = pred
        result += np.mean(per_video) / len(predictions)
    return result


def reference_top5(logits, noise, difficulty):
    """``ranking_dist(mode='top5')`` of ImageNet-P/test.py, re-stated with rankdata ranks."""
    c = logits.shape[-1]
    cum = np.cumsum(np.asarray([0] + [1] * 5 + [0] * (c - 1 - 5)))
    ranks = np.array([[rankdata(-f, method="ordinal").astype(np.int64) for f in v] for v in logits])
    step = 1 if noise else difficulty
    result = 0.0
    for video in ranks:
        per_video = []
        for i in range(step):
            p1 = video[i]
            inv = np.argsort(p1)
            for p2 in video[i::step][1:]:
                per_video.append(np.sum(np.abs(cum[:5] - cum[p2[inv] - 1][:5])))
                if not noise:
                    p1, inv = p2, np.argsort(p2)
        result += np.mean(per_video) / len(ranks)
    return result


@pytest.mark.parametrize("noise", [True, False])
@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_metrics_equal_the_reference(noise, difficulty):
    rng = np.random.default_rng(difficulty)
    logits = rng.normal(size=(6, 31, 10)).astype(np.float32)
    logits[:, :, 4] = logits[:, :, 3] = np.round(logits[:, :, 3])  # ties are broken by class order
    preds = logits.argmax(-1)
    ours_fp = video_flip_probability(torch.from_numpy(preds), noise, difficulty).mean().item()
    ours_t5 = video_top5_distance(torch.from_numpy(logits), noise, difficulty).mean().item()
    assert ours_fp == pytest.approx(reference_flip_prob(preds, noise, difficulty), abs=1e-12)
    assert ours_t5 == pytest.approx(reference_top5(logits, noise, difficulty), abs=1e-12)


def test_metric_edge_cases():
    steady = torch.zeros(2, 5, 10)
    steady[..., 3] = 1
    assert video_flip_probability(steady.argmax(-1), False).tolist() == [0.0, 0.0]
    assert video_top5_distance(steady, True).tolist() == [0.0, 0.0]
    a, b = pair_indices(5, noise=False, difficulty=2)
    assert a.tolist() == [0, 1, 2] and b.tolist() == [2, 3, 4]
    with pytest.raises(ValueError, match="difficulty"):
        pair_indices(5, noise=False, difficulty=5)
    with pytest.raises(ValueError, match="at least 2 frames"):
        pair_indices(1, noise=True)
    ratios, mean = normalized_ratio_mean({"a": 2.0, "b": 3.0}, {"a": 4.0, "b": 3.0}, ["a", "b"])
    assert ratios == {"a": 50.0, "b": 100.0} and mean == 75.0
    with pytest.raises(ValueError, match="no -P result"):
        normalized_ratio_mean({"a": 1.0}, {}, ["a"])


# ----------------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pmodel") / "final"
    model = make_model()
    with torch.no_grad():  # centre the logits on random images so that predictions change along the sequences
        x = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
        model.get_classifier().bias -= model(x).mean(0)
    timm.models.save_for_hf(model, str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory) -> Path:
    return write_image_folder(tmp_path_factory.mktemp("pclean") / "test", per_class=2, seed=3)


@pytest.fixture(scope="module")
def made_p(tmp_path_factory, clean_folder) -> Path:
    out = tmp_path_factory.mktemp("pset") / "CIFAR-4-P"
    assert run_make_p(["--data", str(clean_folder), "--out", str(out), "--size", "32"]) == 0
    return out


def run_make_p(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    make_p.add_arguments(parser)
    defaults = [] if "--perturbations" in argv else ["--perturbations", PERTURBATIONS]
    return make_p.run(parser.parse_args(argv + defaults + ["--workers", "0", "--no-progress"]))


def run_eval_p(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    eval_p.add_arguments(parser)
    return eval_p.run(parser.parse_args(argv + ["--workers", "0", "--cpu", "--no-plots"]))


# ------------------------------------------------------------------------------------------------------------ make-p
def test_make_p_writes_the_cifar_layout(made_p, clean_folder):
    labels = np.load(made_p / "labels.npy")
    assert labels.shape == (8,) and set(labels.tolist()) == {0, 1, 2, 3}
    arr = np.load(made_p / "translate.npy")
    assert arr.shape == (8, 16, 32, 32, 3) and arr.dtype == np.uint8
    assert np.load(made_p / "gaussian_noise.npy").shape == (8, 31, 32, 32, 3)
    meta = json.loads((made_p / "make_p.json").read_text())
    assert meta["frames"] == {"gaussian_noise": 31, "translate": 16, "rotate": 31}


def test_make_p_resumes_and_refuses_other_settings(made_p, clean_folder, capsys):
    before = (made_p / "rotate.npy").stat().st_mtime_ns
    assert run_make_p(["--data", str(clean_folder), "--out", str(made_p), "--size", "32"]) == 0
    assert "skipped already finished" in capsys.readouterr().out
    assert (made_p / "rotate.npy").stat().st_mtime_ns == before
    assert run_make_p(["--data", str(clean_folder), "--out", str(made_p), "--size", "32", "--seed", "1"]) == 2
    assert "other settings" in capsys.readouterr().err
    assert run_make_p(["--data", str(clean_folder), "--out", str(made_p.parent / "x"), "--size", "32",
                       "--perturbations", "fog"]) == 2
    assert "Unknown perturbation" in capsys.readouterr().err


def test_make_p_frame_layout(tmp_path, clean_folder):
    out = tmp_path / "P64"
    assert run_make_p(["--data", str(clean_folder), "--out", str(out), "--size", "64", "--limit", "3"]) == 0
    videos = sorted((out / "translate").glob("*/*"))
    assert len(videos) == 3 and len(list(videos[0].glob("*.png"))) == 31 and (out / "translate" / ".done").exists()
    assert detect_p_layout(out) == "frames"


# ------------------------------------------------------------------------------------------------------------ eval-p
def test_eval_p_end_to_end_and_on_the_fly(tmp_path, model_dir, made_p, clean_folder):
    out = tmp_path / "p" / "results.json"
    assert run_eval_p(["--model", f"local-dir:{model_dir}", "--p-data", str(made_p), "--out", str(out)]) == 0
    block = read_results(out)["perturbation"]
    assert block["perturbations"] == ["gaussian_noise", "translate", "rotate"]
    assert block["dataset"] == "cifar-4-p-generated" and block["num_videos"] == 8
    assert block["averaged_perturbations"] == block["perturbations"] and block["mfr"] is None
    assert block["mean_flip_probability"] == pytest.approx(np.mean(list(block["flip_probability"].values())))
    # an independent pass over the translate sequences
    model = timm.create_model(f"local-dir:{model_dir}", pretrained=True).eval()
    frames = torch.from_numpy(np.load(made_p / "translate.npy")).permute(0, 1, 4, 2, 3).float() / 255
    with torch.no_grad():
        logits = model(((frames.reshape(-1, 3, 32, 32) - 0.5) / 0.5)).reshape(8, 16, NUM_CLASSES)
    expected = reference_flip_prob(logits.argmax(-1).numpy(), False, 1)
    assert expected > 0 and block["flip_probability"]["translate"] == pytest.approx(100 * expected)
    # on the fly from the clean images: the same sequences as make-p
    fly = tmp_path / "fly" / "results.json"
    assert run_eval_p(["--model", f"local-dir:{model_dir}", "--generate", "--clean-data", str(clean_folder),
                       "--perturbations", PERTURBATIONS, "--out", str(fly)]) == 0
    assert read_results(fly)["perturbation"]["flip_probability"] == block["flip_probability"]
    # mFR / mT5D against a baseline: itself gives 100
    norm = tmp_path / "norm" / "results.json"
    assert run_eval_p(["--model", f"local-dir:{model_dir}", "--p-data", str(made_p), "--out", str(norm),
                       "--baseline", str(out)]) == 0
    normed = read_results(norm)["perturbation"]
    assert normed["mfr"] == pytest.approx(100.0) and normed["mt5d"] == pytest.approx(100.0)
    # compare: tables for -P-only documents
    table = stability_table([("a", load_results(out)), ("b", load_results(norm))])
    assert "| b |" in table and "+0.0 %" in table
    assert "| rotate |" in per_perturbation_table([("a", load_results(out)), ("b", load_results(norm))])


def test_eval_p_extends_eval_c_results(tmp_path, model_dir, made_p, capsys):
    sha = file_weights_sha256(str(model_dir / "model.safetensors"))
    out = tmp_path / "results.json"
    c_results = make_results(sha, "test_resnet", num_classes=NUM_CLASSES)
    write_results(c_results, out)
    assert run_eval_p(["--model", f"local-dir:{model_dir}", "--p-data", str(made_p), "--out", str(out),
                       "--perturbations", "translate"]) == 0
    merged = read_results(out)
    assert merged["schema_version"] == 2 and merged["perturbation"]["perturbations"] == ["translate"]
    assert {k: merged[k] for k in c_results if k != "schema_version"} == {
        k: v for k, v in c_results.items() if k != "schema_version"}
    other = tmp_path / "other.json"
    write_results(make_results("b" * 64, "test_resnet", num_classes=NUM_CLASSES), other)
    assert run_eval_p(["--model", f"local-dir:{model_dir}", "--p-data", str(made_p), "--out", str(other)]) == 2
    assert "holds results for other weights" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--img-size", "64"], "frames but"),
    (["--perturbations", "snow"], "snow.npy is missing"),
    (["--difficulty", "40", "--perturbations", "rotate"], "leaves no frame pairs"),
])
def test_eval_p_bad_input(tmp_path, model_dir, made_p, capsys, extra, message):
    assert run_eval_p(["--model", f"local-dir:{model_dir}", "--p-data", str(made_p),
                       "--out", str(tmp_path / "r.json")] + extra) == 2
    assert message in capsys.readouterr().err


def test_readers_reject_wrong_layouts(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        detect_p_layout(tmp_path / "nope")
    with pytest.raises(ValueError, match="holds no -P set"):
        detect_p_layout(tmp_path)
    np.save(tmp_path / "labels.npy", np.zeros(4, np.int64))
    np.save(tmp_path / "rotate.npy", np.zeros((4, 32, 32, 3), np.uint8))  # a -C file
    with pytest.raises(ValueError, match=r"\(N, T, H, W, 3\)"):
        CifarPReader(tmp_path, ["rotate"])
    np.save(tmp_path / "rotate.npy", np.zeros((3, 5, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="3 videos but labels.npy has 4"):
        CifarPReader(tmp_path, ["rotate"])
    np.save(tmp_path / "labels.npy", np.full(3, 7, np.int64))
    with pytest.raises(ValueError, match="labels up to 7"):
        CifarPReader(tmp_path, ["rotate"], num_classes=4)


@pytest.mark.parametrize("name", ["rotate.npy", "labels.npy"])
def test_cifar_p_reader_names_what_is_wrong_with_a_bad_npy(tmp_path, name):
    np.save(tmp_path / "labels.npy", np.zeros(3, np.int64))
    np.save(tmp_path / "rotate.npy", np.zeros((3, 5, 32, 32, 3), np.uint8))
    path = tmp_path / name
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ValueError, match=rf"{name} is truncated: .*`timm-augmix make-p`"):
        CifarPReader(tmp_path, ["rotate"])
    np.save(path, np.array([object()] * 3), allow_pickle=True)
    with pytest.raises(ValueError, match="never loaded; -P files are uint8 arrays"):
        CifarPReader(tmp_path, ["rotate"])


def test_eval_p_generate_needs_a_reference_size(tmp_path, model_dir, clean_folder, capsys):
    assert run_eval_p(["--model", f"local-dir:{model_dir}", "--generate", "--clean-data", str(clean_folder),
                       "--img-size", "48", "--out", str(tmp_path / "r.json")]) == 2
    assert "--img-size 32, 64 or 224" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------- schema and compare
def p_block(**changes) -> dict:
    block = {"dataset": "cifar10-p", "layout": "cifar", "perturbations": ["rotate", "snow"],
             "frames": {"rotate": 31, "snow": 31}, "difficulty": 1, "num_videos": 10,
             "flip_probability": {"rotate": 4.0, "snow": 2.0}, "top5_distance": {"rotate": 0.5, "snow": 0.25},
             "averaged_perturbations": ["rotate", "snow"], "mean_flip_probability": 3.0, "mean_top5_distance": 0.375,
             "flip_rate": None, "top5_distance_ratio": None, "mfr": None, "mt5d": None, "normalizer": None}
    block.update(changes)
    return block


@pytest.mark.parametrize("change, message", [
    (dict(flip_probability={"rotate": 140.0, "snow": 2.0}), "percentage"),
    (dict(frames={"rotate": 31}), "frame count"),
    (dict(mfr=80.0), "both be set"),
    (dict(averaged_perturbations=["fog"]), "subset"),
    (dict(top5_distance={"rotate": -1.0, "snow": 0.0}), "[0, 15]"),
])
def test_schema_rejects_bad_perturbation_sections(change, message):
    doc = make_results("a" * 64, "wrn16_1")
    doc.update(schema_version=2, perturbation=p_block(**change))
    assert any(message in p for p in validation_problems(doc))


def test_schema_versions():
    doc = make_results("a" * 64, "wrn16_1")
    assert validation_problems(doc) == []  # version 1 still reads
    doc["perturbation"] = p_block()
    assert any("schema_version >= 2" in p for p in validation_problems(doc))
    doc["schema_version"] = 2
    assert validation_problems(doc) == []
    only_p = {k: doc[k] for k in ("schema_version", "model", "architecture", "num_classes", "weights_sha256",
                                  "plugin_version", "created", "perturbation")}
    assert validation_problems(only_p) == []


def test_compare_cli_with_p(tmp_path, capsys):
    paths = []
    for k, fp in enumerate((4.0, 3.0)):
        doc = make_results("a" * 64, "wrn16_1")
        doc.update(schema_version=2, perturbation=p_block(
            flip_probability={"rotate": fp, "snow": 2.0}, mean_flip_probability=(fp + 2) / 2))
        paths.append(write_results(doc, tmp_path / f"r{k}.json"))
    args = argparse.ArgumentParser()
    compare_cli.add_arguments(args)
    plot = tmp_path / "p.png"
    assert compare_cli.run(args.parse_args([f"std={paths[0]}", f"aug={paths[1]}", "--per-perturbation",
                                            "--plot-p", str(plot)])) == 0
    out = capsys.readouterr().out
    assert "| aug | 2.50 | -16.7 % |" in out and "| rotate | 4.00 | 3.00 | -25.0 % |" in out and plot.stat().st_size
    plain = make_results("a" * 64, "wrn16_1")
    write_results(plain, tmp_path / "plain.json")
    assert compare_cli.run(args.parse_args([f"std={paths[0]}", f"c={tmp_path / 'plain.json'}",
                                            "--per-perturbation"])) == 2
    assert "no -P results" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------- the card
def test_card_shows_p_results_and_refuses_p_only(tmp_path, model_dir):
    from timm_augmix_plugin.hub import build_hub_folder

    sha = file_weights_sha256(str(model_dir / "model.safetensors"))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model:\n  name: test_resnet\n")
    doc = make_results(sha, "test_resnet", num_classes=NUM_CLASSES)
    doc.update(schema_version=2, perturbation=p_block(dataset="cifar10-p-generated"))
    results = write_results(doc, tmp_path / "r" / "results.json")
    card = (build_hub_folder(model_dir, results, tmp_path / "hub" / "m", recipe=recipe) / "README.md").read_text()
    assert "type: mean_flip_probability" in card and "value: 3.0" in card
    assert "name: CIFAR-10-P (regenerated)" in card and "## Prediction stability on CIFAR-10-P (regenerated)" in card
    assert "| rotate | 31 | 4.00 | 0.500 |" in card and "| Mean flip probability (%, mFP) |" in card
    only_p = {k: doc[k] for k in ("schema_version", "model", "architecture", "num_classes", "weights_sha256",
                                  "plugin_version", "created", "perturbation")}
    p_only = write_results(only_p, tmp_path / "p" / "results.json")
    with pytest.raises(ValueError, match="holds only -P results"):
        build_hub_folder(model_dir, p_only, tmp_path / "hub" / "n", recipe=recipe)


def test_card_metadata_names_the_p_normalizer():
    from timm_augmix_plugin.evaluation.results import RobustnessResults
    from timm_augmix_plugin.hub import build_card_data

    doc = make_results("a" * 64, "wrn16_1")
    ratios = {"rotate": 80.0, "snow": 90.0}
    doc.update(schema_version=2, perturbation=p_block(flip_rate=ratios, top5_distance_ratio=ratios, mfr=85.0,
                                                      mt5d=85.0, normalizer="runs/base/results.json"))
    data = build_card_data(RobustnessResults.from_dict(doc), model_name="m")
    p_results = {r.metric_type: r for r in data.eval_results if r.dataset_type == "cifar10-p"}
    assert sorted(p_results) == ["mean_flip_probability", "mean_top5_distance", "mfr", "mt5d"]
    assert p_results["mfr"].metric_name == "mFR (%, normalised by the baseline results.json)"
    assert p_results["mt5d"].metric_name == "mT5D (%, normalised by the baseline results.json)"
    assert p_results["mean_flip_probability"].metric_name == "Mean flip probability (%, mFP, unnormalised)"
    assert {r.dataset_name for r in p_results.values()} == {"CIFAR-10-P"} and p_results["mfr"].metric_value == 85.0
    assert "cifar10-p" in data.tags and "mfr" in data.metrics


def test_sequence_helper_matches_make_p(made_p, clean_folder):
    from timm.data import create_dataset

    ds = create_dataset("", root=str(clean_folder))
    img = np.asarray(ds[5][0].convert("RGB"))
    np.testing.assert_array_equal(np.load(made_p / "rotate.npy")[5], perturb(img, "rotate", seed=0, indices=None,
                                                                             start_index=5))


def test_two_processes_match_one(tmp_path, model_dir, made_p):
    """``accelerate launch --cpu --num_processes 2`` runs eval-p as two gloo processes with the same results."""
    import os
    import subprocess
    import sys

    common = ["--model", f"local-dir:{model_dir}", "--p-data", str(made_p), "--perturbations", "translate,rotate",
              "--batch-size", "3", "--workers", "0", "--cpu", "--no-plots"]
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    parser = argparse.ArgumentParser()
    eval_p.add_arguments(parser)
    assert eval_p.run(parser.parse_args(common + ["--out", str(one)])) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1", "CUDA_VISIBLE_DEVICES": ""}
    launcher = Path(sys.executable).with_name("accelerate")
    cmd = [str(launcher), "launch", "--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "-m", "timm_augmix_plugin.cli.eval_p", *common, "--out", str(two)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    a, b = read_results(one)["perturbation"], read_results(two)["perturbation"]
    assert a["source"]["num_processes"] == 1 and b["source"]["num_processes"] == 2
    assert a["num_videos"] == b["num_videos"] == 8
    assert b["flip_probability"] == pytest.approx(a["flip_probability"])
    assert b["top5_distance"] == pytest.approx(a["top5_distance"])
