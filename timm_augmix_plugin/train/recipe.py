"""Training recipes: YAML files loaded into typed, validated dataclass sections.

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
import difflib
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = [
    "AugMixSection",
    "DataSection",
    "EvalSection",
    "LossSection",
    "ModelSection",
    "OptimSection",
    "Recipe",
    "SchedSection",
    "TrainSection",
    "apply_overrides",
    "check_data_paths",
    "load_recipe",
    "packaged_recipes",
    "resolve_recipe_path",
]

#: Dataset names (prefixes) the training data builder understands.
DATASET_KINDS = ("synthetic", "", "folder", "tar", "torch/", "hfds/")
class _RecipeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-4`` as a float (YAML 1.2); YAML 1.1 wants ``1.0e-4``."""


_RecipeLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_RecipeLoader)  # noqa: S506 (a SafeLoader subclass)


#: AugMix backends: 'pil' (per image in the loader workers) or 'batched' (per-sample AugMix on the device, after
#: the loader; see ``timm_augmix_plugin.augmix.BatchedAugMix``).
AUGMIX_BACKENDS = ("pil", "batched")


@dataclass
class ModelSection:
    """The network, built with ``timm.create_model(name, num_classes=data.num_classes, ...)``.

    Attributes:
        name: Any timm model name (the plugin's ``wrn40_2``, ``allconvnet``, ... or timm's own ``resnet50``).
        pretrained: Start from timm's pretrained weights.
        drop_rate: Classifier dropout; None keeps the model's default.
        kwargs: Extra keyword arguments for ``create_model``.
    """

    name: str = "wrn16_1"
    pretrained: bool = False
    drop_rate: float | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``timm.create_model`` besides name and classes: ``kwargs`` plus ``drop_rate``."""
        kwargs = dict(self.kwargs)
        if self.drop_rate is not None:
            kwargs["drop_rate"] = self.drop_rate
        return kwargs


@dataclass
class DataSection:
    """Where the images come from and how they are batched.

    Attributes:
        dataset: ``synthetic`` (the embedded procedurally generated 10-class data, no download), ``''`` / ``folder`` /
            ``tar`` (an ImageFolder-style directory or tar file, via ``timm.data.create_dataset``),
            ``torch/cifar10`` / ``torch/cifar100`` (torchvision), or ``hfds/<name>`` (Hugging Face datasets).
        root: Training data location (folder, tar file or download directory). Relative paths are relative to
            the working directory.
        eval_root: Evaluation data location when it differs from ``root`` (e.g. a separate ``test.tar``).
        train_split: Split name passed to ``create_dataset`` for training.
        eval_split: Split name for the per-epoch clean evaluation.
        download: Let torchvision / Hugging Face download the data.
        num_classes: Number of classes (the classifier size).
        img_size: Training / evaluation image side in pixels.
        preset: Geometric preprocessing: ``cifar`` (flip + random crop padded by ``img_size // 8``, 4 px at 32) or
            ``imagenet`` (random-resized crop + flip; resize + centre crop for evaluation).
        mean: Normalisation mean; None takes the model's ``pretrained_cfg``.
        std: Normalisation std; None takes the model's ``pretrained_cfg``.
        batch_size: Global batch per optimizer update (summed over processes and accumulation steps).
        num_workers: DataLoader worker processes per training process.
        train_samples: Synthetic data: how many training images to generate; other datasets: train on a fixed
            seeded random subset of this size. None uses everything (synthetic: 5000).
        eval_samples: As ``train_samples`` for the evaluation split (synthetic default: 1000).
        seed: Seed of the synthetic images and of subset selection.
    """

    dataset: str = "synthetic"
    root: str | None = None
    eval_root: str | None = None
    train_split: str = "train"
    eval_split: str = "validation"
    download: bool = False
    num_classes: int = 10
    img_size: int = 32
    preset: Literal["cifar", "imagenet"] = "cifar"
    mean: list[float] | None = None
    std: list[float] | None = None
    batch_size: int = 128
    num_workers: int = 2
    train_samples: int | None = None
    eval_samples: int | None = None
    seed: int = 0


@dataclass
class AugMixSection:
    """AugMix augmentation.

    Attributes:
        enabled: Apply AugMix to training images.
        policy: AugMix policy string, e.g. ``augmix_paper`` (severity 3, width 3, random depth) or
            ``augmix_paper-s1`` (the ImageNet severity); see ``timm_augmix_plugin.augmix.parse_policy``.
        num_splits: 1 = one AugMix view per image; 3 = clean + two AugMix views (needed by the JSD loss), fed as one
            split-major batch of ``num_splits * B`` images.
        split_bn: Give each split its own BatchNorm statistics during training (timm ``convert_splitbn_model``).
        backend: Where AugMix runs: ``pil`` (per image in the loader workers, fused clean + views) or ``batched``
            (the loader delivers uint8 crops; every sample gets its own AugMix chains on the training device).
    """

    enabled: bool = False
    policy: str = "augmix_paper"
    num_splits: int = 1
    split_bn: bool = False
    backend: str = "pil"


@dataclass
class LossSection:
    """Training objective.

    Attributes:
        type: Base classification loss of ``timm.loss.create_classification_loss`` (``ce`` or ``bce``).
        smoothing: Label smoothing of the base loss.
        jsd: Add the Jensen-Shannon consistency term over the AugMix splits (base loss on the clean split only).
        jsd_alpha: Weight of the consistency term (the paper's lambda = 12).
    """

    type: Literal["ce", "bce"] = "ce"
    smoothing: float = 0.0
    jsd: bool = False
    jsd_alpha: float = 12.0


@dataclass
class OptimSection:
    """Optimizer, built with ``timm.optim.create_optimizer_v2``.

    Attributes:
        name: timm optimizer name: ``sgd`` is SGD with Nesterov momentum (the paper's CIFAR setting), ``momentum``
            is SGD with plain momentum; ``adamw`` etc. also work.
        lr: Peak learning rate.
        momentum: Momentum (SGD family).
        weight_decay: L2 weight decay.
        filter_bias_and_bn: Exempt biases and norm parameters from weight decay (the paper decays everything).
        clip_grad: Clip the global gradient norm to this value; None disables clipping.
        kwargs: Extra keyword arguments for ``create_optimizer_v2``.
    """

    name: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    filter_bias_and_bn: bool = False
    clip_grad: float | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class SchedSection:
    """Learning-rate schedule, built with ``timm.scheduler.create_scheduler_v2`` and stepped per optimizer update.

    Attributes:
        name: ``cosine`` (the paper's CIFAR schedule), ``multistep``, ``step``, ``poly``, ``tanh`` or ``none``.
        min_lr: Floor of the cosine / poly / tanh schedules (paper: 1e-6).
        warmup_epochs: Linear warm-up length in epochs.
        warmup_lr: Learning rate at the start of the warm-up.
        decay_milestones: Epochs at which ``multistep`` multiplies the rate by ``decay_rate``.
        decay_epochs: Period of the ``step`` schedule in epochs.
        decay_rate: Multiplier of the ``step`` / ``multistep`` schedules.
    """

    name: Literal["cosine", "multistep", "step", "poly", "tanh", "none"] = "cosine"
    min_lr: float = 1e-6
    warmup_epochs: int = 0
    warmup_lr: float = 1e-5
    decay_milestones: list[int] = field(default_factory=lambda: [30, 60])
    decay_epochs: float = 30.0
    decay_rate: float = 0.1


@dataclass
class TrainSection:
    """The training loop.

    Attributes:
        epochs: Number of epochs.
        seed: Seed of model initialisation, shuffling and augmentation (``accelerate.utils.set_seed``).
        output_dir: Where ``recipe.yaml``, ``metrics.jsonl``, ``checkpoints/`` and ``final/`` go; None uses
            ``runs/<recipe name>``.
        mixed_precision: ``no``, ``fp16`` or ``bf16`` (Accelerate's autocast).
        grad_accum_steps: Micro-batches per optimizer update.
        ema: Keep an exponential moving average of the weights (timm ``ModelEmaV3``), evaluated and exported too.
        ema_decay: EMA decay per update.
        checkpoint_every_steps: Also checkpoint every this many updates inside an epoch (0: at epoch ends only).
        keep_checkpoints: How many checkpoints to keep (older ones are deleted).
        resume: ``auto`` resumes from the latest checkpoint in ``output_dir`` when one exists; ``never`` starts over.
        log_every_steps: Write a training record to ``metrics.jsonl`` every this many updates.
        max_steps_per_epoch: Stop each epoch after this many micro-batches (smoke tests); None runs full epochs.
        cpu: Train on the CPU even when an accelerator is present.
        channels_last: Use the channels-last memory format for the model and its inputs (often faster, on CPUs too).
        sync_bn: BatchNorm statistics over the global batch of all processes (``GlobalBatchNorm``, CPU and GPU), so a
            several-process run follows the 1-process run; None (default) = on when there are several processes and
            the model has BatchNorm; false = per-process statistics (results then depend on the process count).
    """

    epochs: int = 100
    seed: int = 1
    output_dir: str | None = None
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    grad_accum_steps: int = 1
    ema: bool = False
    ema_decay: float = 0.9998
    checkpoint_every_steps: int = 0
    keep_checkpoints: int = 2
    resume: Literal["auto", "never"] = "auto"
    log_every_steps: int = 20
    max_steps_per_epoch: int | None = None
    cpu: bool = False
    channels_last: bool = False
    sync_bn: bool | None = None


@dataclass
class EvalSection:
    """Per-epoch clean evaluation.

    Attributes:
        batch_size: Global evaluation batch size (paper: 1000).
        every_epochs: Evaluate after every this many epochs (and always after the last one).
    """

    batch_size: int = 1000
    every_epochs: int = 1


_SECTIONS: dict[str, type] = {
    "model": ModelSection,
    "data": DataSection,
    "augmix": AugMixSection,
    "loss": LossSection,
    "optim": OptimSection,
    "sched": SchedSection,
    "train": TrainSection,
    "eval": EvalSection,
}


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
                raise ValueError(f"{source}: unknown top-level key {key!r}.{_suggest(key, top_keys)} "
                                 f"Valid keys: {', '.join(sorted(top_keys))}.")
            if key in _SECTIONS:
                kwargs[key] = _build_section(_SECTIONS[key], value if value is not None else {}, key, source)
            else:
                kwargs[key] = _coerce(value, str, key, source)
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
        raw = _load_yaml(path.read_text())
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
            value = _load_yaml(text) if text.strip() else None
        except yaml.YAMLError as err:
            raise ValueError(f"Override {item!r}: the value is not valid YAML ({err}).") from err
        if len(parts) == 1 and parts[0] in ("name", "description"):
            out[parts[0]] = value
            continue
        if len(parts) != 2:
            raise ValueError(f"Override {item!r}: expected section.key=value with one dot, e.g. optim.lr=0.05.")
        section, key = parts
        if section not in _SECTIONS:
            raise ValueError(f"Override {item!r}: unknown section {section!r}.{_suggest(section, _SECTIONS)} "
                             f"Sections: {', '.join(_SECTIONS)}.")
        names = {f.name for f in dataclasses.fields(_SECTIONS[section])}
        if key not in names:
            raise ValueError(f"Override {item!r}: unknown key {key!r} in section {section!r}."
                             f"{_suggest(key, names)} Valid keys: {', '.join(sorted(names))}.")
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
# Parsing helpers
# --------------------------------------------------------------------------------------------------------------------
def _suggest(key: str, valid) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _build_section(cls: type, raw: Any, section: str, source: str):
    if not isinstance(raw, dict):
        raise TypeError(f"{source}: section {section!r} must be a mapping of keys to values, "
                        f"got {type(raw).__name__} ({raw!r}).")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in raw.items():
        if key not in names:
            raise ValueError(f"{source}: unknown key {key!r} in section {section!r}.{_suggest(str(key), names)} "
                             f"Valid keys: {', '.join(names)}.")
        kwargs[key] = _coerce(value, hints[key], f"{section}.{key}", source)
    return cls(**kwargs)


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in typing.get_args(tp))}]"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp, key: str, source: str) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted for floats. Returns the value to store."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    def fail():
        raise TypeError(f"{source}: {key} must be {_type_name(tp)}, got {type(value).__name__} {value!r}. "
                        f"Fix the value in the recipe or override it, e.g. {key}=<value>.")

    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            fail()
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key, source)
            except (TypeError, ValueError):
                continue
        fail()
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{source}: {key}={value!r} is not one of {', '.join(repr(a) for a in args)}. "
                             f"Pick one of those values.")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            fail()
        return [_coerce(v, args[0], f"{key}[{i}]", source) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            fail()
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            fail()
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fail()
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail()
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            fail()
        return value
    if tp is Any:
        return value
    raise TypeError(f"{source}: internal error, unsupported annotation {tp!r} for {key}.")


def dataset_kind(name: str) -> str:
    low = name.lower()
    for kind in DATASET_KINDS:
        if kind.endswith("/") and low.startswith(kind) and len(low) > len(kind):
            return kind
        if low == kind:
            return kind
    raise ValueError(f"data.dataset={name!r} is not supported. Use 'synthetic', '' (a folder or tar file given by "
                     f"data.root), 'torch/cifar10', 'torch/cifar100' or 'hfds/<name>'.")


# --------------------------------------------------------------------------------------------------------------------
# Validation (single fields and cross-field rules)
# --------------------------------------------------------------------------------------------------------------------
def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _check_policy(policy: str) -> None:
    from timm_augmix_plugin.augmix import parse_policy

    try:
        parse_policy(policy)
    except ValueError as err:
        raise ValueError(f"augmix.policy={policy!r} is not a valid AugMix policy: {err} Use e.g. 'augmix_paper' "
                         f"(CIFAR: severity 3, width 3, random depth) or 'augmix_paper-s1' (ImageNet).") from err


def _validate(r: Recipe) -> None:
    d, a, lo, o, s, t, e = r.data, r.augmix, r.loss, r.optim, r.sched, r.train, r.eval
    _require(bool(r.name) and "/" not in r.name, f"name={r.name!r} must be a non-empty run name without '/'.")
    _require(bool(r.model.name), "model.name must name a timm model, e.g. model.name=wrn40_2.")
    # data
    kind = dataset_kind(d.dataset)
    if kind in ("", "folder", "tar", "torch/"):
        _require(d.root is not None, f"data.root is required for data.dataset={d.dataset!r}: set it to the dataset "
                                     f"folder / tar file (or the torchvision download directory).")
    _require(d.num_classes >= 2, f"data.num_classes must be >= 2, got {d.num_classes}.")
    if kind == "synthetic":
        _require(d.num_classes <= 10, f"The synthetic dataset has 10 classes; data.num_classes={d.num_classes} "
                                      f"must be <= 10 (use data.num_classes=10).")
        _require(d.img_size >= 16, f"The synthetic dataset needs data.img_size >= 16, got {d.img_size}.")
    _require(d.img_size >= 8, f"data.img_size must be >= 8 pixels, got {d.img_size}.")
    for key in ("mean", "std"):
        val = getattr(d, key)
        if val is not None:
            _require(len(val) == 3, f"data.{key} needs 3 values (one per RGB channel), got {val}.")
    if d.std is not None:
        _require(all(v > 0 for v in d.std), f"data.std values must be > 0, got {d.std}.")
    _require(d.batch_size >= 1, f"data.batch_size must be >= 1, got {d.batch_size}.")
    _require(d.num_workers >= 0, f"data.num_workers must be >= 0, got {d.num_workers}.")
    for key in ("train_samples", "eval_samples"):
        val = getattr(d, key)
        _require(val is None or val >= 1, f"data.{key} must be >= 1 or null, got {val}.")
    # augmix
    _require(a.backend in AUGMIX_BACKENDS,
             f"augmix.backend={a.backend!r} is unknown; expected one of {AUGMIX_BACKENDS}.")
    _check_policy(a.policy)
    _require(1 <= a.num_splits <= 8, f"augmix.num_splits must be in 1..8, got {a.num_splits}.")
    if a.num_splits > 1:
        _require(a.enabled, f"augmix.num_splits={a.num_splits} (clean + augmented splits) needs augmix.enabled=true.")
    if a.split_bn:
        _require(a.num_splits >= 2, "augmix.split_bn=true needs augmix.num_splits >= 2 (one BN per split); set "
                                    "augmix.num_splits=3 or augmix.split_bn=false.")
    # loss
    if lo.jsd:
        _require(a.enabled, "loss.jsd=true needs AugMix views: set augmix.enabled=true and augmix.num_splits=3.")
        _require(a.num_splits >= 3, f"loss.jsd=true needs clean + at least 2 AugMix views, but augmix.num_splits="
                                    f"{a.num_splits}. Set augmix.num_splits=3 (clean + 2 AugMix views, as in the "
                                    f"paper).")
    _require(0.0 <= lo.smoothing < 1.0, f"loss.smoothing must be in [0, 1), got {lo.smoothing}.")
    _require(lo.jsd_alpha >= 0.0, f"loss.jsd_alpha must be >= 0, got {lo.jsd_alpha}.")
    # optim
    _require(o.lr > 0 and math.isfinite(o.lr), f"optim.lr must be a positive number, got {o.lr}.")
    _require(o.weight_decay >= 0, f"optim.weight_decay must be >= 0, got {o.weight_decay}.")
    _require(o.momentum >= 0, f"optim.momentum must be >= 0, got {o.momentum}.")
    _require(o.clip_grad is None or o.clip_grad > 0, f"optim.clip_grad must be > 0 or null, got {o.clip_grad}.")
    # sched
    _require(s.min_lr >= 0, f"sched.min_lr must be >= 0, got {s.min_lr}.")
    _require(s.warmup_epochs >= 0, f"sched.warmup_epochs must be >= 0, got {s.warmup_epochs}.")
    _require(0 < s.decay_rate <= 1, f"sched.decay_rate must be in (0, 1], got {s.decay_rate}.")
    if s.name == "multistep":
        ms = s.decay_milestones
        _require(list(ms) == sorted(ms) and all(m > 0 for m in ms),
                 f"sched.decay_milestones must be increasing positive epochs, got {ms}.")
    # train
    _require(t.epochs >= 1, f"train.epochs must be >= 1, got {t.epochs}.")
    _require(s.warmup_epochs < t.epochs,
             f"sched.warmup_epochs={s.warmup_epochs} must be smaller than train.epochs={t.epochs}.")
    _require(t.grad_accum_steps >= 1, f"train.grad_accum_steps must be >= 1, got {t.grad_accum_steps}.")
    _require(d.batch_size % t.grad_accum_steps == 0,
             f"data.batch_size={d.batch_size} (the global batch per update) must be divisible by "
             f"train.grad_accum_steps={t.grad_accum_steps}.")
    _require(0 < t.ema_decay < 1, f"train.ema_decay must be in (0, 1), got {t.ema_decay}.")
    _require(t.checkpoint_every_steps >= 0, f"train.checkpoint_every_steps must be >= 0, got "
                                            f"{t.checkpoint_every_steps}.")
    _require(t.keep_checkpoints >= 1, f"train.keep_checkpoints must be >= 1, got {t.keep_checkpoints}.")
    _require(t.log_every_steps >= 1, f"train.log_every_steps must be >= 1, got {t.log_every_steps}.")
    _require(t.max_steps_per_epoch is None or t.max_steps_per_epoch >= 1,
             f"train.max_steps_per_epoch must be >= 1 or null, got {t.max_steps_per_epoch}.")
    _require(t.max_steps_per_epoch is None or t.max_steps_per_epoch % t.grad_accum_steps == 0,
             f"train.max_steps_per_epoch={t.max_steps_per_epoch} counts micro-batches and must be a multiple of "
             f"train.grad_accum_steps={t.grad_accum_steps}.")
    # eval
    _require(e.batch_size >= 1, f"eval.batch_size must be >= 1, got {e.batch_size}.")
    _require(e.every_epochs >= 1, f"eval.every_epochs must be >= 1, got {e.every_epochs}.")
