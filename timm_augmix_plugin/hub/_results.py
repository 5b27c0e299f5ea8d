"""Reading and validating the ``results.json`` written by ``timm-augmix eval-c`` (schema version 1)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPPORTED_SCHEMA_VERSIONS = (1,)
_REQUIRED_KEYS = (
    "schema_version", "weights_sha256", "dataset", "benchmark_style", "corruptions", "severities",
    "clean_error", "errors", "corruption_errors", "mean_corruption_error", "clean", "corrupted",
)
_CALIBRATION_KEYS = ("error", "rms_calibration_error")


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
        """Validate an eval-c results document; ``source`` names it in error messages."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object from `timm-augmix eval-c`, got {type(data).__name__}.")
        missing = [k for k in _REQUIRED_KEYS if k not in data]
        if missing:
            raise ValueError(
                f"{source}: missing keys {missing}; this is not an eval-c results file. "
                "Produce one with `timm-augmix eval-c ... --out <dir>` and pass <dir>/results.json."
            )
        if data["schema_version"] not in SUPPORTED_SCHEMA_VERSIONS:
            raise ValueError(
                f"{source}: schema_version {data['schema_version']!r} is not supported (expected one of "
                f"{list(SUPPORTED_SCHEMA_VERSIONS)}); regenerate it with this version of `timm-augmix eval-c`."
            )
        sha = data["weights_sha256"]
        if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
            raise ValueError(f"{source}: weights_sha256 must be a 64-character lowercase hex digest, got {sha!r}.")
        style = data["benchmark_style"]
        if style not in ("cifar", "imagenet"):
            raise ValueError(f"{source}: benchmark_style must be 'cifar' or 'imagenet', got {style!r}.")
        corruptions = tuple(str(c) for c in data["corruptions"])
        severities = tuple(int(s) for s in data["severities"])
        if not corruptions or not severities:
            raise ValueError(f"{source}: 'corruptions' and 'severities' must be non-empty lists.")
        errors: dict[str, dict[int, float]] = {}
        for name in corruptions:
            per_severity = data["errors"].get(name)
            if not isinstance(per_severity, dict):
                raise ValueError(f"{source}: errors[{name!r}] is missing; every listed corruption needs its errors.")
            row = {int(k): _number(v, f"{source}: errors[{name!r}][{k!r}]") for k, v in per_severity.items()}
            absent = [s for s in severities if s not in row]
            if absent:
                raise ValueError(f"{source}: errors[{name!r}] lacks severities {absent}.")
            errors[name] = row
        corruption_errors = {
            name: _number(data["corruption_errors"].get(name), f"{source}: corruption_errors[{name!r}]")
            for name in corruptions
        }
        clean = None if data["clean"] is None else _metrics(data["clean"], f"{source}: clean")
        corrupted = _metrics(data["corrupted"], f"{source}: corrupted")
        known = set(_REQUIRED_KEYS) | {"mce", "relative_mce", "architecture", "num_classes"}
        return cls(
            raw=data,
            weights_sha256=sha,
            dataset=str(data["dataset"]),
            benchmark_style=style,
            corruptions=corruptions,
            severities=severities,
            clean_error=_optional_number(data["clean_error"], f"{source}: clean_error"),
            errors=errors,
            corruption_errors=corruption_errors,
            mean_corruption_error=_number(data["mean_corruption_error"], f"{source}: mean_corruption_error"),
            clean=clean,
            corrupted=corrupted,
            mce=_optional_number(data.get("mce"), f"{source}: mce"),
            relative_mce=_optional_number(data.get("relative_mce"), f"{source}: relative_mce"),
            architecture=data.get("architecture"),
            num_classes=None if data.get("num_classes") is None else int(data["num_classes"]),
            extra={k: v for k, v in data.items() if k not in known},
        )


def load_results(path: str | Path) -> RobustnessResults:
    """Read and validate an eval-c ``results.json``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It is not valid JSON or not an eval-c results document.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Results file not found: {path}. Run `timm-augmix eval-c` first and pass the results.json it writes."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); pass the results.json written by eval-c.") from e
    return RobustnessResults.from_dict(data, source=str(path))


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}.")
    return float(value)


def _optional_number(value: Any, what: str) -> float | None:
    return None if value is None else _number(value, what)


def _metrics(section: Any, what: str) -> dict[str, float]:
    if not isinstance(section, dict):
        raise ValueError(f"{what} must be an object with {list(_CALIBRATION_KEYS)}, got {section!r}.")
    missing = [k for k in _CALIBRATION_KEYS if k not in section]
    if missing:
        raise ValueError(f"{what} lacks {missing}.")
    return {k: _number(v, f"{what}.{k}") for k, v in section.items() if v is not None}
