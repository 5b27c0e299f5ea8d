"""The package's modules import each other without cycles (function-level imports included; a package's
``__init__`` re-exports are not edges)."""
from __future__ import annotations

import ast
from pathlib import Path

import timm_augmix_plugin

ROOT = Path(timm_augmix_plugin.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ["timm_augmix_plugin", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {n for n in names if n in known and n != module}
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycles_between_modules():
    modules = _modules()
    packages = {m for m, p in modules.items() if p.name == "__init__.py"}
    graph = {m: _imports(m, p, set(modules)) - packages for m, p in modules.items() if m not in packages}
    assert graph["timm_augmix_plugin.loss.timm_hook"] >= {"timm_augmix_plugin.loss.factory"}  # the walk sees edges
    assert _cycles(graph) == []


def test_private_modules_are_imported_only_inside_their_own_package():
    modules = _modules()
    noise = "timm_augmix_plugin.corruptions.noise"
    assert "timm_augmix_plugin.corruptions._rng" in _imports(noise, modules[noise], set(modules))  # the walk sees them
    offenders = []
    for module, path in modules.items():
        for target in _imports(module, path, set(modules)):
            leaf = target.rsplit(".", 1)[-1]
            if leaf.startswith("_") and not leaf.startswith("__"):
                owner = target.rsplit(".", 1)[0]
                if not (module == owner or module.startswith(owner + ".")):
                    offenders.append(f"{module} -> {target}")
    assert offenders == [], \
        "private modules (_name.py) used outside their subpackage: " + ", ".join(sorted(offenders))


def test_the_test_oracles_are_not_used_by_the_package():
    modules = _modules()
    users = [m for m, p in modules.items() if not m.startswith("timm_augmix_plugin.testing")
             and any(t.startswith("timm_augmix_plugin.testing") for t in _imports(m, p, set(modules)))]
    assert users == [], f"the package's own code imports the test oracles: {users}"
