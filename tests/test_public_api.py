"""Each subpackage's public API: its ``__init__`` lists in ``__all__`` exactly the names it re-exports."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import timm_augmix_plugin

ROOT = Path(timm_augmix_plugin.__file__).parent
SUBPACKAGES = sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))


def _reexports(path: Path) -> set[str]:
    """Names an ``__init__`` re-exports with ``from .x import name as name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
            for alias in node.names if alias.asname == alias.name}


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_init_lists_its_public_names(name):
    module = importlib.import_module(f"timm_augmix_plugin.{name}")
    public = getattr(module, "__all__", None)
    assert public is not None, f"{name}/__init__.py has no __all__"
    assert len(set(public)) == len(public)
    assert [n for n in public if not hasattr(module, n)] == []
    assert _reexports(ROOT / name / "__init__.py") <= set(public), f"{name}: re-exported but not in __all__"


def test_results_are_typed_by_evaluation_only():
    from timm_augmix_plugin import evaluation, hub

    assert evaluation.RobustnessResults.__module__ == "timm_augmix_plugin.evaluation.results"
    assert not hasattr(hub, "RobustnessResults") and not hasattr(hub, "load_results")


MODULES = sorted(str(p.relative_to(ROOT).with_suffix("")).replace("/", ".") for p in ROOT.rglob("*.py")
                 if p.name not in ("__init__.py", "__main__.py"))


@pytest.mark.parametrize("name", MODULES)
def test_every_module_lists_its_public_names(name):
    """One rule for every module: ``__all__`` names what other modules and users may import, and it exists."""
    module = importlib.import_module(f"timm_augmix_plugin.{name}")
    public = getattr(module, "__all__", None)
    assert public is not None, f"{name}.py has no __all__"
    assert len(set(public)) == len(public) and [n for n in public if not hasattr(module, n)] == []
    assert [n for n in public if n.startswith("_")] == [], f"{name}: private names in __all__"
