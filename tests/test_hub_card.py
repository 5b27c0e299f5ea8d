"""`timm-augmix card`: checkpoint -> Hub folder -> `local-dir:` load, the card's typed metadata, and the hash check.

Everything runs offline on tiny models in ``tmp_path``; the eval-c results are synthetic but carry the real hash of
the weights they describe.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest
import timm
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file
from synthetic import make_results
from timm.models import save_for_hf

from timm_augmix_plugin.cli import card as card_cli
from timm_augmix_plugin.evaluation import load_results
from timm_augmix_plugin.hub import (
    GENERATED_FILES,
    WeightsMismatchError,
    benchmark_names,
    build_hub_folder,
    verify_hub_folder,
)
from timm_augmix_plugin.utils.weights_hash import file_weights_sha256, state_dict_sha256

matplotlib.use("Agg")

RECIPE_TEXT = "model:\n  name: test_resnet\n  num_classes: 10\naugmix:\n  policy: augmix_paper\n  jsd_alpha: 12.0\n"


def make_run(root: Path, architecture: str = "test_resnet", *, seed: int = 0, plots: bool = True,
             results_for: str | None = None, **results_kw) -> dict[str, Path]:
    """A training-run layout: ``<root>/final`` (save_for_hf), ``recipe.yaml`` and ``eval-c/results.json`` + plots."""
    torch.manual_seed(seed)
    model = timm.create_model(architecture, num_classes=10).eval()
    final = root / "final"
    save_for_hf(model, final, safe_serialization=True)
    (root / "recipe.yaml").write_text(RECIPE_TEXT, encoding="utf-8")
    evalc = root / "eval-c"
    evalc.mkdir(parents=True)
    sha = results_for or state_dict_sha256(model.state_dict())
    (evalc / "results.json").write_text(json.dumps(make_results(sha, architecture, **results_kw)), encoding="utf-8")
    if plots:
        import matplotlib.pyplot as plt

        for name in ("error_vs_severity.png", "reliability.png"):
            fig = plt.figure(figsize=(1, 1))
            plt.plot([0, 1], [1, 0])
            fig.savefig(evalc / name)
            plt.close(fig)
    return {"root": root, "final": final, "results": evalc / "results.json", "recipe": root / "recipe.yaml"}


def run_card(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    card_cli.add_arguments(parser)
    return card_cli.run(parser.parse_args(argv))


def logits(model: torch.nn.Module, seed: int = 1, size: int = 32) -> torch.Tensor:
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model.eval()(x)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """One run of test_resnet turned into a card folder through the CLI."""
    root = tmp_path_factory.mktemp("run")
    run = make_run(root)
    out = root / "hub" / "test_resnet.augmix_cifar10"
    rc = run_card(["--checkpoint", str(run["final"]), "--results", str(run["results"]), "--recipe", str(run["recipe"]),
                   "--out", str(out), "--repo-id", "my-org/test_resnet.augmix_cifar10"])
    assert rc == 0
    return {**run, "out": out}


class TestFolder:
    def test_folder_holds_exactly_the_generated_files(self, built):
        names = {p.name for p in built["out"].iterdir()}
        assert names == {"model.safetensors", "config.json", "results.json", "README.md", "error_vs_severity.png",
                         "reliability.png"}
        assert names <= GENERATED_FILES
        assert not list(built["out"].parent.glob(".*")), "staging folder left behind"

    def test_config_is_timms_with_preprocessing(self, built):
        config = json.loads((built["out"] / "config.json").read_text())
        assert config["architecture"] == "test_resnet"
        assert config["num_classes"] == 10
        cfg = config["pretrained_cfg"]
        for key in ("input_size", "mean", "std", "crop_pct", "interpolation"):
            assert key in cfg, key
        source = json.loads((built["final"] / "config.json").read_text())["pretrained_cfg"]
        assert cfg["mean"] == source["mean"] and cfg["input_size"] == source["input_size"]

    def test_results_copied_unchanged(self, built):
        assert (built["out"] / "results.json").read_bytes() == built["results"].read_bytes()

    def test_local_dir_load_gives_the_checkpoints_logits(self, built):
        reference = timm.create_model("test_resnet", num_classes=10)
        reference.load_state_dict(load_file(built["final"] / "model.safetensors"))
        loaded = timm.create_model(f"local-dir:{built['out']}", pretrained=True)
        torch.testing.assert_close(logits(loaded), logits(reference), rtol=0, atol=0)

    def test_weights_hash_preserved_and_folder_verifies(self, built):
        expected = file_weights_sha256(str(built["final"] / "model.safetensors"))
        assert file_weights_sha256(str(built["out"] / "model.safetensors")) == expected
        assert verify_hub_folder(built["out"]) == expected


class TestCard:
    def test_metadata_parses_back_with_the_right_numbers(self, built):
        card = ModelCard.load(built["out"] / "README.md")
        data = card.data
        results = json.loads(built["results"].read_text())
        assert data.library_name == "timm"
        assert {"augmix", "image-classification", "robustness", "timm"} <= set(data.tags)
        assert data.datasets == ["cifar10"]
        assert data.license == "apache-2.0"
        assert data.model_name == "test_resnet.augmix_cifar10"
        assert data["weights_sha256"] == results["weights_sha256"]
        got = {(r.dataset_name, r.metric_type): r.metric_value for r in data.eval_results}
        assert got == {
            ("CIFAR-10", "error"): pytest.approx(results["clean_error"], abs=1e-4),
            ("CIFAR-10-C", "mean_corruption_error"): pytest.approx(results["mean_corruption_error"], abs=1e-4),
            ("CIFAR-10-C", "rms_calibration_error"): pytest.approx(results["corrupted"]["rms_calibration_error"]),
            ("CIFAR-10", "rms_calibration_error"): pytest.approx(results["clean"]["rms_calibration_error"]),
        }
        assert all(r.task_type == "image-classification" for r in data.eval_results)
        assert {r.dataset_type for r in data.eval_results} == {"cifar10", "cifar10-c"}
        index = data.to_dict()["model-index"]
        assert index[0]["name"] == "test_resnet.augmix_cifar10"

    def test_body_has_table_plots_recipe_and_loading(self, built):
        text = ModelCard.load(built["out"] / "README.md").text
        results = json.loads(built["results"].read_text())
        row = results["errors"]["fog"]
        expected_row = "| fog | " + " | ".join(f"{row[str(s)]:.2f}" for s in range(1, 6)) + \
            f" | {results['corruption_errors']['fog']:.2f} |"
        assert expected_row in text
        assert "| **mean** |" in text and f"**{results['mean_corruption_error']:.2f}**" in text
        assert "](error_vs_severity.png)" in text and "](reliability.png)" in text
        assert RECIPE_TEXT.strip() in text
        assert 'timm.create_model("hf-hub:my-org/test_resnet.augmix_cifar10", pretrained=True)' in text
        assert "local-dir:" in text
        assert "import timm_augmix_plugin" not in text  # a timm architecture: plain timm loads it
        assert results["weights_sha256"] in text

    def test_imagenet_style_card_reports_mce(self, tmp_path):
        run = make_run(tmp_path / "run", plots=False, style="imagenet", dataset="imagenet-c")
        out = build_hub_folder(run["final"], run["results"], tmp_path / "hub" / "in", recipe=run["recipe"])
        data = ModelCard.load(out / "README.md").data
        metrics = {(r.dataset_name, r.metric_type): r.metric_value for r in data.eval_results}
        assert metrics[("ImageNet-C", "mce")] == pytest.approx(68.41)
        assert metrics[("ImageNet-C", "relative_mce")] == pytest.approx(70.12)
        names = {r.metric_type: r.metric_name for r in data.eval_results}
        assert names["mce"] == "mCE (%, normalised by AlexNet)"
        assert "| mCE (%, normalised by AlexNet) | ImageNet-C | 68.41 |" in ModelCard.load(out / "README.md").text
        assert data.datasets == ["imagenet-1k"]
        assert not list(out.glob("*.png"))  # only the plots that exist are copied
        assert "![" not in ModelCard.load(out / "README.md").text

    def test_dataset_named_on_the_command_line(self, tmp_path):
        run = make_run(tmp_path / "run", plots=False, dataset="test-c-generated")
        out = tmp_path / "hub" / "named"
        assert run_card(["--checkpoint", str(run["final"]), "--results", str(run["results"]), "--out", str(out),
                         "--dataset", "cifar10-c-generated", "--description", "Smoke-test weights."]) == 0
        card = ModelCard.load(out / "README.md")
        assert {r.dataset_name for r in card.data.eval_results} == {"CIFAR-10", "CIFAR-10-C (regenerated)"}
        assert card.text.lstrip().startswith("# named\n\nSmoke-test weights.")
        assert (out / "results.json").read_bytes() == run["results"].read_bytes()

    def test_results_without_clean_set(self, tmp_path):
        run = make_run(tmp_path / "run", plots=False)
        results = json.loads(run["results"].read_text())
        results.update(clean_error=None, clean=None)
        run["results"].write_text(json.dumps(results))
        out = build_hub_folder(run["final"], run["results"], tmp_path / "hub" / "noclean")
        data = ModelCard.load(out / "README.md").data
        assert {r.dataset_name for r in data.eval_results} == {"CIFAR-10-C"}


class TestCheckpointKinds:
    def test_bare_safetensors_with_model_from_results(self, tmp_path):
        run = make_run(tmp_path / "run", plots=False)
        bare = tmp_path / "weights.safetensors"
        save_file(load_file(run["final"] / "model.safetensors"), bare)
        out = build_hub_folder(bare, run["results"], tmp_path / "hub" / "bare", recipe=run["recipe"])
        config = json.loads((out / "config.json").read_text())
        assert config["architecture"] == "test_resnet" and config["num_classes"] == 10
        reference = timm.create_model(f"local-dir:{run['final']}", pretrained=True)
        torch.testing.assert_close(logits(timm.create_model(f"local-dir:{out}", pretrained=True)), logits(reference))

    def test_data_config_override_reaches_config_json(self, tmp_path):
        run = make_run(tmp_path / "run", plots=False)
        out = tmp_path / "hub" / "override"
        rc = run_card(["--checkpoint", str(run["final"]), "--results", str(run["results"]), "--out", str(out),
                       "--mean", "0.4914", "0.4822", "0.4465", "--std", "0.2023", "0.1994", "0.2010",
                       "--input-size", "3", "32", "32", "--crop-pct", "1.0"])
        assert rc == 0
        cfg = json.loads((out / "config.json").read_text())["pretrained_cfg"]
        assert cfg["mean"] == pytest.approx([0.4914, 0.4822, 0.4465]) and cfg["input_size"] == [3, 32, 32]
        assert cfg["crop_pct"] == 1.0
        assert "(3, 32, 32)" in (out / "README.md").read_text()

    def test_plugin_architecture_card_and_load(self, tmp_path):
        assert timm.is_model("wrn16_1"), "the plugin's CIFAR models must be registered in timm on import"
        run = make_run(tmp_path / "run", "wrn16_1", plots=False)
        out = build_hub_folder(run["final"], run["results"], tmp_path / "hub" / "wrn")
        text = (out / "README.md").read_text()
        assert "import timm_augmix_plugin" in text
        reference = timm.create_model(f"local-dir:{run['final']}", pretrained=True)
        torch.testing.assert_close(logits(timm.create_model(f"local-dir:{out}", pretrained=True)), logits(reference))

    def test_timm_architecture_loads_without_the_plugin(self, built, tmp_path):
        """A fresh interpreter that never imports the plugin loads a timm-architecture folder with the same logits."""
        expected = logits(timm.create_model(f"local-dir:{built['out']}", pretrained=True))
        torch.save(expected, tmp_path / "expected.pt")
        code = (
            "import sys, timm, torch\n"
            f"m = timm.create_model('local-dir:{built['out']}', pretrained=True).eval()\n"
            "x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))\n"
            "with torch.no_grad(): y = m(x)\n"
            f"torch.testing.assert_close(y, torch.load('{tmp_path / 'expected.pt'}'), rtol=0, atol=0)\n"
            "assert not any(k.startswith('timm_augmix_plugin') for k in sys.modules), 'plugin was imported'\n"
        )
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]


class TestRefusals:
    def test_results_for_other_weights_are_refused(self, tmp_path, capsys):
        run = make_run(tmp_path / "run", plots=False, results_for="ab" * 32)
        out = tmp_path / "hub" / "mismatch"
        with pytest.raises(WeightsMismatchError, match="different weights"):
            build_hub_folder(run["final"], run["results"], out)
        assert not out.exists()
        rc = run_card(["--checkpoint", str(run["final"]), "--results", str(run["results"]), "--out", str(out)])
        assert rc == 2
        err = capsys.readouterr().err
        assert "abababababababab" in err and "re-run `timm-augmix eval-c`" in err
        assert not out.exists()

    def test_existing_folder_needs_overwrite(self, built, tmp_path):
        args = [built["final"], built["results"], built["out"]]
        with pytest.raises(FileExistsError, match="--overwrite"):
            build_hub_folder(*args)
        before = (built["out"] / "README.md").read_text()
        build_hub_folder(*args, overwrite=True, repo_id="my-org/test_resnet.augmix_cifar10")
        assert (built["out"] / "README.md").read_text() == before  # deterministic rebuild

    def test_overwrite_refuses_a_folder_with_foreign_files(self, tmp_path):
        run = make_run(tmp_path / "run", plots=False)
        out = tmp_path / "hub" / "foreign"
        out.mkdir(parents=True)
        (out / "notes.txt").write_text("mine")
        with pytest.raises(FileExistsError, match="notes.txt"):
            build_hub_folder(run["final"], run["results"], out, overwrite=True)
        assert (out / "notes.txt").read_text() == "mine"

    def test_missing_recipe_is_explained(self, tmp_path):
        run = make_run(tmp_path / "run", plots=False)
        run["recipe"].unlink()
        with pytest.raises(FileNotFoundError, match="--recipe"):
            build_hub_folder(run["final"], run["results"], tmp_path / "hub" / "x")

    def test_torch_file_without_weights_is_refused(self, tmp_path):
        run = make_run(tmp_path / "run", plots=False)
        (run["final"] / "model.safetensors").unlink()
        torch.save({}, run["final"] / "pytorch_model.bin")
        with pytest.raises(FileNotFoundError, match="torch checkpoint files"):
            build_hub_folder(run["final"], run["results"], tmp_path / "hub" / "x")
        with pytest.raises(ValueError, match="not a timm train.py checkpoint or a state dict"):
            build_hub_folder(run["final"] / "pytorch_model.bin", run["results"], tmp_path / "hub" / "x")

    def test_wrong_num_classes_for_bare_file(self, tmp_path):
        run = make_run(tmp_path / "run", plots=False)
        with pytest.raises(ValueError, match="--num-classes"):
            build_hub_folder(run["final"] / "model.safetensors", run["results"], tmp_path / "hub" / "x",
                             num_classes=7, recipe=run["recipe"])

    def test_not_a_results_file(self, tmp_path):
        bad = tmp_path / "results.json"
        bad.write_text(json.dumps({"schema_version": 1}))
        with pytest.raises(ValueError, match="eval-c"):
            load_results(bad)
        bad.write_text("{not json")
        with pytest.raises(ValueError, match="not valid JSON"):
            load_results(bad)
        with pytest.raises(FileNotFoundError, match="eval-c"):
            load_results(tmp_path / "absent.json")


def test_benchmark_names():
    assert benchmark_names("cifar100-c").clean_name == "CIFAR-100"
    assert benchmark_names("CIFAR-10-C").corrupted_name == "CIFAR-10-C"
    custom = benchmark_names("flowers-c")
    assert (custom.corrupted_id, custom.clean_id) == ("flowers-c", "flowers")
    regenerated = benchmark_names("cifar10-c-generated")  # eval-c --generate from a clean set named cifar10
    assert regenerated.corrupted_name == "CIFAR-10-C (regenerated)" and regenerated.clean_id == "cifar10"
    assert regenerated.corrupted_id == "cifar10-c-generated"
    assert benchmark_names("test-c-generated").clean_id == "test"


RELEASED = sorted(p for p in (Path(__file__).resolve().parents[1] / "hub").glob("*/") if p.is_dir())


@pytest.mark.skipif(not RELEASED, reason="no released card folders under hub/ yet")
@pytest.mark.parametrize("folder", RELEASED, ids=[p.name for p in RELEASED])
def test_released_folders_are_consistent(folder):
    """Every folder under the repository's hub/ is as `timm-augmix card` generated it: files, hashes, size, loading."""
    names = {p.name for p in folder.iterdir()}
    assert names <= GENERATED_FILES, f"{folder} holds files the card command does not write: {names - GENERATED_FILES}"
    if not (folder / "model.safetensors").exists():  # weights over the commit limit live on the Hub only
        card_hash = ModelCard.load(folder / "README.md").data["weights_sha256"]
        assert card_hash == load_results(folder / "results.json").weights_sha256
        pytest.skip(f"{folder.name}: weights not committed (over {card_cli.COMMIT_LIMIT_MB} MB)")
    verify_hub_folder(folder)  # results.json and the card's metadata name exactly these weights
    assert (folder / "model.safetensors").stat().st_size <= card_cli.COMMIT_LIMIT_MB * 2**20
    model = timm.create_model(f"local-dir:{folder}", pretrained=True)
    size = model.pretrained_cfg["input_size"][-1]
    assert torch.isfinite(logits(model, size=size)).all()
