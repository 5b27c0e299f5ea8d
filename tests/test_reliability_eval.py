"""eval-c / compare / card: no silent wrong comparison and no raw traceback (issue 15): the evaluated images are
hashed into results.json and compare refuses runs evaluated on other images (old results without the hash are
accepted with a warning, the committed hub/ ones included), compare handles results without clean data, an
unwritable --out is found before the evaluation, bad .npy and safetensors files give messages that say what is
wrong, and a truncated clean image raises instead of being replaced by the next one."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic import make_results
from test_eval_c import CORRUPTIONS, model_dir, run_cli, write_cifar_c, write_image_folder  # noqa: F401
from test_hub_card import make_run, run_card

from timm_augmix_plugin.cli.main import main
from timm_augmix_plugin.evaluation.compare import check_comparable
from timm_augmix_plugin.evaluation.results import RobustnessResults, load_results

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")  # the evaluations create an Accelerator (conftest)


def _eval(model_dir: Path, c_data: Path, out: Path, *extra: str) -> RobustnessResults:
    assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(c_data), "--corruptions",
                    ",".join(CORRUPTIONS), "--out", str(out), "--no-plots", *extra]) == 0
    return load_results(out)


def test_compare_refuses_runs_evaluated_on_other_images_with_the_same_counts(tmp_path, model_dir, capsys):
    same = write_cifar_c(tmp_path / "a")
    other = write_cifar_c(tmp_path / "b")
    np.save(other / "fog.npy", 255 - np.load(other / "fog.npy"))  # other pixels, same shapes and labels
    first = _eval(model_dir, same, tmp_path / "1.json", "--batch-size", "7")
    again = _eval(model_dir, same, tmp_path / "2.json", "--batch-size", "16")
    moved = _eval(model_dir, other, tmp_path / "3.json")
    hashes = [r.evaluated_images_sha256["corrupted"] for r in (first, again, moved)]
    assert hashes[0] == hashes[1] != hashes[2] and first.evaluated_images_sha256["clean"] is None
    assert check_comparable([("a", first), ("b", again)]) == []
    with pytest.raises(ValueError, match="evaluated on different corrupted images"):
        check_comparable([("a", first), ("c", moved)])
    capsys.readouterr()
    assert main(["compare", f"a={tmp_path / '1.json'}", f"c={tmp_path / '3.json'}"]) == 2
    err = capsys.readouterr().err
    assert "different corrupted images" in err and "Traceback" not in err


def test_the_committed_hub_results_are_still_compared_with_a_warning(capsys):
    folders = sorted((REPO / "hub").glob("wrn16_1.*_cifar10_cpu/results.json"))  # the three CPU runs, one -C set
    assert len(folders) == 3
    assert main(["compare", *(f"{p.parent.name}={p}" for p in folders)]) == 0
    captured = capsys.readouterr()
    assert "record no hash of the evaluated images" in captured.err and "| wrn16_1." in captured.out


def test_compare_handles_results_without_clean_data(tmp_path, capsys):
    specs = []
    for name, offset in (("a", 0.0), ("b", -5.0)):
        results = make_results("a" * 64, "wrn16_1", offset=offset)
        results.update(clean_error=None, clean=None, num_clean_samples=0)
        (tmp_path / f"{name}.json").write_text(json.dumps(results))
        specs.append(f"{name}={tmp_path / f'{name}.json'}")
    assert main(["compare", *specs, "--per-corruption", "--plot", str(tmp_path / "cmp.png")]) == 0
    out = capsys.readouterr().out
    assert "| b | n/a | 15.50 | -24.4 % | n/a | n/a | n/a | 9.87 |" in out and (tmp_path / "cmp.png").is_file()


def test_eval_c_checks_its_output_before_the_evaluation(tmp_path, model_dir, capsys, monkeypatch):
    from timm_augmix_plugin.evaluation import _common  # the setup both evaluations share loads the model

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setattr(_common, "load_model", lambda *a, **k: pytest.fail("work started"))
    assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(tmp_path), "--out",
                    str(blocker / "results.json")]) == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[:300], "is truncated: its header announces"),
    (lambda b: b"garbage" * 40, "is not a readable .npy array file"),
    (lambda b: b"", "is not a readable .npy array file"),
])
def test_corrupt_npy_files_are_named_with_what_is_wrong(tmp_path, model_dir, capsys, damage, message):
    c_data = write_cifar_c(tmp_path / "c")
    for name in ("fog.npy", "labels.npy"):
        path = c_data / name
        good = path.read_bytes()
        path.write_bytes(damage(good))
        assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(c_data), "--corruptions",
                        ",".join(CORRUPTIONS), "--out", str(tmp_path / "r.json")]) == 2
        err = capsys.readouterr().err
        assert f"{name} {message}" in err and "pickle" not in err, err
        path.write_bytes(good)


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"\x00garbage" * 100])
def test_bad_safetensors_give_a_clear_error_in_eval_c_and_card(tmp_path, model_dir, capsys, damage):
    import shutil

    broken = tmp_path / "final"
    shutil.copytree(model_dir, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    c_data = write_cifar_c(tmp_path / "c")
    assert run_cli(["--model", f"local-dir:{broken}", "--c-data", str(c_data), "--out", str(tmp_path / "r.json")]) == 2
    assert "is not a readable safetensors file" in capsys.readouterr().err
    run = make_run(tmp_path / "run")
    card_weights = run["final"] / "model.safetensors"
    card_weights.write_bytes(damage(card_weights.read_bytes()))
    assert run_card(["--checkpoint", str(run["final"]), "--results", str(run["results"]),
                     "--out", str(tmp_path / "hub" / "x")]) == 2
    assert "is not a readable safetensors file" in capsys.readouterr().err


def test_a_truncated_clean_image_raises_instead_of_being_replaced(tmp_path, model_dir, capsys):
    clean = write_image_folder(tmp_path / "clean", per_class=3, seed=7)
    victim = sorted(clean.glob("class1/*.png"))[0]
    victim.write_bytes(victim.read_bytes()[:150])
    c_data = write_cifar_c(tmp_path / "c")
    assert run_cli(["--model", f"local-dir:{model_dir}", "--c-data", str(c_data), "--clean-data", str(clean),
                    "--corruptions", ",".join(CORRUPTIONS), "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert victim.name in err and "truncated or corrupt" in err and "Traceback" not in err
