"""Training recipes: YAML files loaded into typed, validated dataclass sections.

The sections and their own checks live in :mod:`.recipe_sections`, the generic YAML-to-dataclass reading in
:mod:`.typed_yaml`; this module owns the recipe as a whole (rules across sections, files, overrides).

A recipe has the sections ``model``, ``data``, ``augmix``, ``loss``, ``optim``, ``sched``, ``train`` and ``eval``.
Unknown or misspelled keys, wrong types and inconsistent combinations (JSD without clean + augmented splits, ...)
raise ``ValueError``/``TypeError`` naming the key and the fix, before anything is built. Dotted overrides such as
``optim.lr=0.05`` are applied on top of the file. :meth:`Recipe.to_yaml` writes the resolved recipe, which
:func:`load_recipe` reads back to an equal object.

Example:
    >>> recipe = load_recipe('recipes/quickstart.yaml', ['optim.lr=0.05', 'train.epochs=2'])
    >>> recipe.optim.lr
    0.05
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .recipe_sections import SECTIONS as _SECTIONS
from .recipe_sections import (
    AugMixSection,
    DataSection,
    EvalSection,
    LossSection,
    ModelSection,
    OptimSection,
    SchedSection,
    TrainSection,
    dataset_kind,
)
from .typed_yaml import build_dataclass, coerce, load_yaml, require, suggest

#: The sections are :mod:`.recipe_sections`'s (importable from here too, as before the split).
__all__ = [
    "Recipe",
    "apply_overrides",
    "check_data_paths",
    "load_recipe",
    "packaged_recipes",
    "resolve_recipe_path",
]


@dataclass
class Recipe:
    """A complete, validated training recipe.

    Attributes:
        name: Short run name (defaults to the recipe file's stem); the default output directory is ``runs/<name>``.
        description: Free text, e.g. the paper table row this recipe reproduces.
    """

    name: str = "recipe"
    description: str = ""
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    augmix: AugMixSection = field(default_factory=AugMixSection)
    loss: LossSection = field(default_factory=LossSection)
    optim: OptimSection = field(default_factory=OptimSection)
    sched: SchedSection = field(default_factory=SchedSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)

    def __post_init__(self) -> None:
        _validate(self)

    # ----------------------------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "recipe") -> Recipe:
        """Build a recipe from nested plain data, rejecting unknown keys and wrong types.

        Args:
            raw: Mapping of top-level keys (``name``, ``description``) and sections to their values.
            source: Where ``raw`` came from, quoted in error messages.
        """
        if not isinstance(raw, dict):
            raise TypeError(f"{source}: a recipe must be a mapping of sections, got {type(raw).__name__}.")
        top_keys = {"name", "description", *_SECTIONS}
        kwargs: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in top_keys:
                raise ValueError(f"{source}: unknown top-level key {key!r}.{suggest(key, top_keys)} "
                                 f"Valid keys: {', '.join(sorted(top_keys))}.")
            if key in _SECTIONS:
                kwargs[key] = build_dataclass(_SECTIONS[key], value if value is not None else {}, key, source)
            else:
                kwargs[key] = coerce(value, str, key, source)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain data (lists, dicts, scalars) that :meth:`from_dict` turns back into an equal recipe."""
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | os.PathLike) -> None:
        """Write the resolved recipe (every field, defaults included) to ``path``."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)
        Path(path).write_text(f"# Resolved recipe written by timm_augmix_plugin.train\n{text}")

    @property
    def output_dir(self) -> Path:
        """The run's output directory (``train.output_dir`` or ``runs/<name>``)."""
        return Path(self.train.output_dir) if self.train.output_dir else Path("runs") / self.name

    @property
    def mode(self) -> str:
        """``standard``, ``augmix`` or ``augmix_jsd``."""
        if not self.augmix.enabled:
            return "standard"
        return "augmix_jsd" if self.loss.jsd else "augmix"


def packaged_recipes() -> dict[str, Path]:
    """The recipes installed with the plugin (the repository's ``recipes/`` folder): name -> YAML file."""
    from importlib.resources import files

    folder = files("timm_augmix_plugin.recipes")
    return {Path(f.name).stem: Path(str(f)) for f in folder.iterdir() if f.name.endswith(".yaml")}


def resolve_recipe_path(path: str | os.PathLike) -> Path:
    """``path`` if it is a file, else the packaged recipe of that name (a bare name, ``.yaml`` optional).

    Raises:
        FileNotFoundError: neither exists; the message lists the packaged recipe names.
    """
    path = Path(path)
    if path.is_file():
        return path
    if len(path.parts) == 1:
        packaged = packaged_recipes().get(path.stem if path.suffix in (".yaml", ".yml") else path.name)
        if packaged is not None and packaged.is_file():
            return packaged
    names = ", ".join(sorted(packaged_recipes()))
    raise FileNotFoundError(f"Recipe file {str(path)!r} not found. Pass an existing YAML file or the name of a "
                            f"packaged recipe: {names}.")


def load_recipe(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Load a YAML recipe file, apply dotted ``section.key=value`` overrides and validate the result.

    Args:
        path: The recipe file, or the name of a recipe shipped with the plugin (``quickstart``,
            ``cifar10_wrn40_2_augmix_jsd``, ...; see :func:`packaged_recipes`).
        overrides: Strings like ``optim.lr=0.05`` or ``data.mean=[0.5,0.5,0.5]``; values are parsed as YAML.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError / TypeError: Unknown keys, wrong types or inconsistent settings, with the key named.
    """
    path = resolve_recipe_path(path)
    try:
        raw = load_yaml(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err}). Fix the syntax of the file.") from err
    if raw is None:
        raise ValueError(f"{path} is empty: a recipe needs its sections (model, data, augmix, loss, optim, sched, "
                         f"train, eval); an empty one would train {TrainSection.epochs} epochs of every default. "
                         f"Start from a packaged recipe, e.g. `python -m timm_augmix_plugin.train --recipe quickstart "
                         f"--print-recipe > {path}`.")
    if not isinstance(raw, dict):
        raise TypeError(f"{path}: a recipe must be a mapping of sections, got {type(raw).__name__}.")
    if set(raw) <= {"name", "description"}:  # unknown keys get their own message in from_dict
        raise ValueError(f"{path} has no section ({', '.join(_SECTIONS)}), only {sorted(raw) or 'nothing'}: it "
                         f"would train {TrainSection.epochs} epochs of every default. Add the sections, e.g. start "
                         f"from `python -m timm_augmix_plugin.train --recipe quickstart --print-recipe`.")
    raw.setdefault("name", path.stem)
    raw = apply_overrides(raw, overrides)
    return Recipe.from_dict(raw, source=str(path))


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``section.key=value`` overrides applied (values parsed as YAML).

    Keys are checked against the recipe sections here so a typo fails with a suggestion.
    """
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"Override {item!r} is not of the form section.key=value, e.g. optim.lr=0.05.")
        dotted, text = item.split("=", 1)
        parts = dotted.strip().split(".")
        try:
            value = load_yaml(text) if text.strip() else None
        except yaml.YAMLError as err:
            raise ValueError(f"Override {item!r}: the value is not valid YAML ({err}).") from err
        if len(parts) == 1 and parts[0] in ("name", "description"):
            out[parts[0]] = value
            continue
        if len(parts) != 2:
            raise ValueError(f"Override {item!r}: expected section.key=value with one dot, e.g. optim.lr=0.05.")
        section, key = parts
        if section not in _SECTIONS:
            raise ValueError(f"Override {item!r}: unknown section {section!r}.{suggest(section, _SECTIONS)} "
                             f"Sections: {', '.join(_SECTIONS)}.")
        names = {f.name for f in dataclasses.fields(_SECTIONS[section])}
        if key not in names:
            raise ValueError(f"Override {item!r}: unknown key {key!r} in section {section!r}."
                             f"{suggest(key, names)} Valid keys: {', '.join(sorted(names))}.")
        sec = out.get(section) or {}
        if not isinstance(sec, dict):
            raise TypeError(f"Section {section!r} must be a mapping, got {type(sec).__name__}.")
        sec = dict(sec)
        sec[key] = value
        out[section] = sec
    return out


def check_data_paths(recipe: Recipe) -> None:
    """Check that the recipe's data locations exist (called before any training starts).

    Raises:
        FileNotFoundError: A folder / tar / dataset root is missing, with the path and how to fix it.
    """
    d = recipe.data
    kind = dataset_kind(d.dataset)
    if kind == "synthetic" or kind == "hfds/":
        return
    roots = [("data.root", d.root)]
    if d.eval_root:
        roots.append(("data.eval_root", d.eval_root))
    for key, root in roots:
        if root is None:
            continue
        path = Path(root).expanduser()
        if kind == "torch/" and d.download:
            continue  # torchvision creates and fills it
        if not path.exists():
            hint = " Set data.download=true to let torchvision fetch it, or p" if kind == "torch/" else " P"
            raise FileNotFoundError(
                f"{key}={root!r} does not exist (resolved to {path.resolve()}).{hint}oint {key} at the dataset "
                f"(a class-per-folder directory or a tar file such as ../shared/data/cifar10-jpeg/train.tar), e.g. "
                f"`{key}=/path/to/data`; relative paths are taken from the working directory {Path.cwd()}.")


# --------------------------------------------------------------------------------------------------------------------
# Validation across sections (each section validates its own fields)
# --------------------------------------------------------------------------------------------------------------------
def _validate(r: Recipe) -> None:
    """The rules between sections (each section has checked its own fields)."""
    d, a, lo, s, t = r.data, r.augmix, r.loss, r.sched, r.train
    require(bool(r.name) and "/" not in r.name, f"name={r.name!r} must be a non-empty run name without '/'.")
    if lo.jsd:
        require(a.enabled, "loss.jsd=true needs AugMix views: set augmix.enabled=true and augmix.num_splits=3.")
        require(a.num_splits >= 3, f"loss.jsd=true needs clean + at least 2 AugMix views, but augmix.num_splits="
                                   f"{a.num_splits}. Set augmix.num_splits=3 (clean + 2 AugMix views, as in the "
                                   f"paper).")
    require(s.warmup_epochs < t.epochs,
            f"sched.warmup_epochs={s.warmup_epochs} must be smaller than train.epochs={t.epochs}.")
    require(d.batch_size % t.grad_accum_steps == 0,
            f"data.batch_size={d.batch_size} (the global batch per update) must be divisible by "
            f"train.grad_accum_steps={t.grad_accum_steps}.")
