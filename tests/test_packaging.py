"""pyproject.toml lists every package explicitly (recipes/ ships as timm_augmix_plugin.recipes); keep it complete."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_lists_every_subpackage_and_the_recipes():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {p.parent.relative_to(ROOT).as_posix().replace("/", ".") for p in (ROOT / "timm_augmix_plugin").rglob(
        "__init__.py")}
    assert set(config["packages"]) == on_disk | {"timm_augmix_plugin.recipes"}
    assert config["package-dir"] == {"timm_augmix_plugin.recipes": "recipes"}
    assert "*.yaml" in config["package-data"]["timm_augmix_plugin.recipes"]
