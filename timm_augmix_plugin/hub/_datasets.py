"""Names of the -C benchmarks and their clean counterparts, as model-card metadata wants them."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BenchmarkNames", "GENERATED_SUFFIX", "benchmark_names", "perturbation_names"]


@dataclass(frozen=True)
class BenchmarkNames:
    """How one -C benchmark and its clean test set are named on a model card.

    Attributes:
        corrupted_id: Identifier of the -C dataset (``dataset_type`` of its eval results).
        corrupted_name: Pretty name, e.g. ``CIFAR-10-C``.
        clean_id: Hub dataset id of the clean dataset (``datasets`` metadata and clean eval results).
        clean_name: Pretty name of the clean dataset.
    """

    corrupted_id: str
    corrupted_name: str
    clean_id: str
    clean_name: str


_KNOWN: dict[str, BenchmarkNames] = {
    "cifar10-c": BenchmarkNames("cifar10-c", "CIFAR-10-C", "cifar10", "CIFAR-10"),
    "cifar100-c": BenchmarkNames("cifar100-c", "CIFAR-100-C", "cifar100", "CIFAR-100"),
    "tiny-imagenet-c": BenchmarkNames("tiny-imagenet-c", "Tiny-ImageNet-C", "zh-plus/tiny-imagenet", "Tiny-ImageNet"),
    "imagenet-c": BenchmarkNames("imagenet-c", "ImageNet-C", "imagenet-1k", "ImageNet-1k"),
}
GENERATED_SUFFIX = "-generated"
_ALIASES = {"cifar-10-c": "cifar10-c", "cifar-100-c": "cifar100-c", "tinyimagenet-c": "tiny-imagenet-c",
            "imagenet-1k-c": "imagenet-c", "in1k-c": "imagenet-c"}


def _split_slug(dataset: str, aliases: dict[str, str]) -> tuple[str, str, bool]:
    """A results ``dataset`` as ``(slug, base, generated)``: the slug (lower case, ``_`` -> ``-``), its base (the
    ``-generated`` suffix split off, known aliases resolved) and whether it was regenerated."""
    slug = dataset.strip().lower().replace("_", "-")
    generated = slug.endswith(GENERATED_SUFFIX)
    base = slug[: -len(GENERATED_SUFFIX)] if generated else slug
    return slug, aliases.get(base, base), generated


def benchmark_names(dataset: str) -> BenchmarkNames:
    """Card names for the -C dataset slug found in ``results.json`` (``cifar10-c``, ``imagenet-c``, ...).

    Unknown slugs (a -C set made with ``make-c`` from your own data) keep the slug as id and name; the clean set is
    the slug without its ``-c`` suffix. Sets eval-c generated on the fly (``<name>-c-generated``) are named after
    their base benchmark but marked as regenerated, so the card never passes them off as the released files.
    """
    slug, base, generated = _split_slug(dataset, _ALIASES)
    if base in _KNOWN:
        names = _KNOWN[base]
    else:
        clean = base[:-2] if base.endswith("-c") else base
        names = BenchmarkNames(base, base if generated else dataset, clean, clean)
    if generated:
        return BenchmarkNames(slug, f"{names.corrupted_name} (regenerated)", names.clean_id, names.clean_name)
    return names


_KNOWN_P: dict[str, tuple[str, str]] = {
    "cifar10-p": ("cifar10-p", "CIFAR-10-P"),
    "cifar100-p": ("cifar100-p", "CIFAR-100-P"),
    "tiny-imagenet-p": ("tiny-imagenet-p", "Tiny-ImageNet-P"),
    "imagenet-p": ("imagenet-p", "ImageNet-P"),
}
_ALIASES_P = {"cifar-10-p": "cifar10-p", "cifar-100-p": "cifar100-p", "tinyimagenet-p": "tiny-imagenet-p"}


def perturbation_names(dataset: str) -> tuple[str, str]:
    """``(id, pretty name)`` of the -P set named in a results ``perturbation`` section (``cifar10-p``, ...).

    Sets made by ``make-p`` or ``eval-p --generate`` (``<name>-generated``) are marked as regenerated.
    """
    _, base, generated = _split_slug(dataset, _ALIASES_P)
    ident, name = _KNOWN_P.get(base, (base, base if generated else dataset))
    if generated:
        return f"{ident}{GENERATED_SUFFIX}", f"{name} (regenerated)"
    return ident, name
