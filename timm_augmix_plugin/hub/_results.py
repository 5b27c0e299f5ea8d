"""The model card's typed view of an eval-c ``results.json``; reading and validation are eval-c's own."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..evaluation.results import read_results, validate_results

# Keys with a typed field below; every other key of the document is kept in ``extra``.
_TYPED_KEYS = frozenset({
    "schema_version", "weights_sha256", "dataset", "benchmark_style", "corruptions", "severities", "clean_error",
    "errors", "corruption_errors", "mean_corruption_error", "clean", "corrupted", "mce", "relative_mce",
    "architecture", "num_classes",
})


@dataclass(frozen=True)
class RobustnessResults:
    """The parts of an eval-c ``results.json`` that a model card needs, validated.

    Attributes:
        raw: The whole JSON document as read (kept so the card folder carries it unchanged).
        weights_sha256: Content hash of the evaluated weights (``state_dict_sha256``).
        dataset: Slug of the -C dataset, e.g. ``cifar10-c``.
        benchmark_style: ``cifar`` (unnormalised mean corruption error) or ``imagenet`` (AlexNet-normalised mCE).
        corruptions: Corruption names in evaluation order.
        severities: Severity levels, e.g. ``[1, 2, 3, 4, 5]``.
        clean_error: Top-1 error on the clean test set, in percent (None when eval-c skipped the clean set).
        errors: ``errors[corruption][severity]`` top-1 error in percent (severity keys are ints here).
        corruption_errors: Mean error over severities per corruption, in percent.
        mean_corruption_error: Mean of ``corruption_errors`` over the benchmark corruptions, in percent.
        mce: AlexNet-normalised mCE (ImageNet style) or None.
        relative_mce: Relative mCE or None.
        clean: Metrics on the clean set: ``error``, ``rms_calibration_error``, ``ece`` (percent), ``nll`` (nats);
            None when eval-c skipped the clean set.
        corrupted: The same metrics over all corrupted images.
    """

    raw: dict[str, Any]
    weights_sha256: str
    dataset: str
    benchmark_style: str
    corruptions: tuple[str, ...]
    severities: tuple[int, ...]
    clean_error: float | None
    errors: dict[str, dict[int, float]]
    corruption_errors: dict[str, float]
    mean_corruption_error: float
    clean: dict[str, float] | None
    corrupted: dict[str, float]
    mce: float | None = None
    relative_mce: float | None = None
    architecture: str | None = None
    num_classes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "results") -> RobustnessResults:
        """Validate an eval-c results document (schema of :mod:`timm_augmix_plugin.evaluation.results`).

        ``source`` names the document in error messages.

        Raises:
            ValueError: listing every way ``data`` departs from the eval-c schema.
        """
        try:
            validate_results(data)
        except ValueError as err:
            raise ValueError(f"{source}: {err}") from None
        return cls._from_valid(data)

    @classmethod
    def _from_valid(cls, data: dict[str, Any]) -> RobustnessResults:
        corruptions = tuple(str(c) for c in data["corruptions"])
        return cls(
            raw=data,
            weights_sha256=data["weights_sha256"],
            dataset=str(data["dataset"]),
            benchmark_style=data["benchmark_style"],
            corruptions=corruptions,
            severities=tuple(int(s) for s in data["severities"]),
            clean_error=_optional_float(data["clean_error"]),
            errors={c: {int(s): float(v) for s, v in data["errors"][c].items()} for c in corruptions},
            corruption_errors={c: float(data["corruption_errors"][c]) for c in corruptions},
            mean_corruption_error=float(data["mean_corruption_error"]),
            clean=None if data["clean"] is None else _floats(data["clean"]),
            corrupted=_floats(data["corrupted"]),
            mce=_optional_float(data.get("mce")),
            relative_mce=_optional_float(data.get("relative_mce")),
            architecture=data.get("architecture"),
            num_classes=None if data.get("num_classes") is None else int(data["num_classes"]),
            extra={k: v for k, v in data.items() if k not in _TYPED_KEYS},
        )


def load_results(path: str | Path) -> RobustnessResults:
    """Read and validate an eval-c ``results.json`` (with :func:`~timm_augmix_plugin.evaluation.read_results`).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It is not valid JSON or not an eval-c results document.
    """
    data = read_results(path)
    if "corruptions" not in data:
        raise ValueError(f"{path} holds only -P results; a card needs eval-c results: run `timm-augmix eval-c ... --out "
                         f"{path}` first, then `timm-augmix eval-p ... --out {path}` adds the -P section to it")
    return RobustnessResults._from_valid(data)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _floats(section: dict[str, Any]) -> dict[str, float]:
    """The numeric metrics of a validated ``clean``/``corrupted`` block."""
    return {k: float(v) for k, v in section.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
