"""Recipe inputs a careless user writes: scientific notation, an empty file, JSD with 2 splits (issue 15)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from timm_augmix_plugin.train import load_recipe


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


def test_scientific_notation_is_a_float_in_files_and_overrides(tmp_path):
    recipe = load_recipe(_write(tmp_path, "optim:\n  lr: 1e-1\n  weight_decay: 5E-4\nsched:\n  min_lr: 1e-6\n"))
    assert (recipe.optim.lr, recipe.optim.weight_decay, recipe.sched.min_lr) == (0.1, 5e-4, 1e-6)
    recipe = load_recipe(_write(tmp_path, "optim: {}\n"), ["optim.lr=1e-4", "optim.clip_grad=2e+1"])
    assert recipe.optim.lr == 1e-4 and recipe.optim.clip_grad == 20.0
    # what is not a number stays a string and is still refused with the key named
    with pytest.raises(TypeError, match=r"optim\.lr must be float, got str '1e-x'"):
        load_recipe(_write(tmp_path, "optim: {}\n"), ["optim.lr=1e-x"])


@pytest.mark.parametrize("text", ["", "# only a comment\n", "name: nothing\n"])
def test_a_recipe_without_sections_is_refused(tmp_path, text):
    with pytest.raises(ValueError, match=r"(is empty|has no section).*100 epochs"):
        load_recipe(_write(tmp_path, text))


def test_jsd_with_two_splits_is_refused(tmp_path):
    path = _write(tmp_path, yaml.safe_dump({"augmix": {"enabled": True, "num_splits": 2}, "loss": {"jsd": True}}))
    with pytest.raises(ValueError, match=r"loss\.jsd=true needs clean \+ at least 2 AugMix views.*num_splits=3"):
        load_recipe(path)


def test_cli_reports_an_empty_recipe_without_a_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "timm_augmix_plugin.train", "--recipe", str(_write(tmp_path, ""))],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "is empty" in proc.stderr and "Traceback" not in proc.stderr
