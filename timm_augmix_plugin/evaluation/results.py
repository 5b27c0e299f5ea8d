"""results.json of ``eval-c``: the versioned schema, validation, reading and writing.

Schema version 1 (keys beyond these are allowed and kept)::

    schema_version: 1
    model, architecture: str;  num_classes: int;  weights_sha256: 64 hex chars
    dataset: str;  benchmark_style: "cifar" | "imagenet"
    corruptions: [str];  severities: [int in 1..5]
    clean_error: float | null                       # percent
    errors: {corruption: {"<severity>": float}}     # percent
    corruption_errors: {corruption: float}          # mean over severities, percent
    mean_corruption_error: float                    # mean over the benchmark corruptions evaluated (CIFAR style)
    mce, relative_mce: float | null;  mce_normalizer: "alexnet" | "<baseline results path>" | null
    clean, corrupted: {error, rms_calibration_error, ece: percent; nll: nats} (clean may be null)
    num_clean_samples, num_corrupted_samples: int
    plugin_version: str;  created: ISO-8601 UTC
    evaluated_images_sha256: {corrupted, clean: 64 hex chars | null}   # optional (older files lack it): which
                                                    # images were evaluated; `compare` refuses runs that differ

Schema version 2 adds the optional ``perturbation`` section written by ``eval-p`` (-P stability; see
:func:`perturbation_problems`), and allows a document with only that section (the -C keys above are then absent)::

    perturbation:
      dataset, layout: str;  perturbations: [str];  frames: {perturbation: int};  difficulty: int;  num_videos: int
      flip_probability: {perturbation: percent};  top5_distance: {perturbation: float >= 0}
      averaged_perturbations: [str];  mean_flip_probability: percent;  mean_top5_distance: float
      flip_rate, top5_distance_ratio: {perturbation: percent} | null;  mfr, mt5d: float | null
      normalizer: "<baseline results path>" | null

Version 1 files (eval-c before -P existed) are still read.

:func:`load_results` is the one reader of results files: it validates a document and returns its typed view,
:class:`RobustnessResults` (with the -P section as :class:`StabilityResults`), which cards, ``compare`` and the plots
read. :func:`write_results` writes a document; :func:`read_results` gives the validated document itself, for a
writer that adds to it (``eval-p``).
"""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["CALIBRATION_KEYS", "SCHEMA_VERSION", "STYLES", "SUPPORTED_SCHEMA_VERSIONS", "RobustnessResults",
           "StabilityResults", "load_results", "perturbation_problems", "read_results", "utc_now", "validate_results",
           "validation_problems", "write_results"]

SCHEMA_VERSION = 2
#: Versions read (1: eval-c only; 2: adds the optional -P ``perturbation`` section).
SUPPORTED_SCHEMA_VERSIONS = (1, 2)
#: Keys of a -P-only document (eval-p without eval-c results to add to).
_COMMON_KEYS: tuple[str, ...] = ("schema_version", "model", "architecture", "num_classes", "weights_sha256",
                                 "plugin_version", "created")
STYLES = ("cifar", "imagenet")
CALIBRATION_KEYS = ("error", "rms_calibration_error", "ece", "nll")
_REQUIRED: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "model": (str,),
    "architecture": (str,),
    "num_classes": (int,),
    "weights_sha256": (str,),
    "dataset": (str,),
    "benchmark_style": (str,),
    "corruptions": (list,),
    "severities": (list,),
    "clean_error": (int, float, type(None)),
    "errors": (dict,),
    "corruption_errors": (dict,),
    "mean_corruption_error": (int, float),
    "mce": (int, float, type(None)),
    "relative_mce": (int, float, type(None)),
    "mce_normalizer": (str, type(None)),
    "clean": (dict, type(None)),
    "corrupted": (dict,),
    "num_clean_samples": (int,),
    "num_corrupted_samples": (int,),
    "plugin_version": (str,),
    "created": (str,),
}


def utc_now() -> str:
    """Current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_percent(problems: list[str], where: str, value: Any) -> None:
    if not _is_number(value):
        problems.append(f"{where} must be a finite number, got {value!r}")
    elif not 0.0 <= value <= 100.0:
        problems.append(f"{where} must be a percentage in [0, 100], got {value}")


def _check_calibration(problems: list[str], where: str, block: Any) -> None:
    if not isinstance(block, Mapping):
        problems.append(f"{where} must be an object with keys {CALIBRATION_KEYS}")
        return
    for key in CALIBRATION_KEYS:
        if key not in block:
            problems.append(f"{where}.{key} is missing")
        elif key == "nll":
            if not _is_number(block[key]) or block[key] < 0:
                problems.append(f"{where}.nll must be a finite non-negative number, got {block[key]!r}")
        else:
            _check_percent(problems, f"{where}.{key}", block[key])


def _check_ratio_block(problems: list[str], where: str, block: Any, names: list[str]) -> None:
    if block is None:
        return
    if not isinstance(block, Mapping) or set(block) != set(names):
        problems.append(f"{where} must map each of {names} to a number (or be null)")
        return
    for name, value in block.items():
        if not _is_number(value) or value < 0:
            problems.append(f"{where}[{name!r}] must be a finite non-negative number, got {value!r}")


def perturbation_problems(block: Any) -> list[str]:
    """Every way a results document's ``perturbation`` section (-P stability, schema v2) is malformed."""
    where = "perturbation"
    if not isinstance(block, Mapping):
        return [f"{where} must be an object, got {type(block).__name__}"]
    problems: list[str] = []
    names = block.get("perturbations")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        return [f"{where}.perturbations must be a non-empty list of names"]
    for key in ("dataset", "layout"):
        if not isinstance(block.get(key), str):
            problems.append(f"{where}.{key} must be a string")
    for key in ("difficulty", "num_videos"):
        value = block.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"{where}.{key} must be an integer >= 1, got {value!r}")
    frames = block.get("frames")
    if not isinstance(frames, Mapping) or set(frames) != set(names) or not all(
            isinstance(v, int) and v >= 2 for v in frames.values()):
        problems.append(f"{where}.frames must map each perturbation to its frame count (>= 2)")
    fp, t5 = block.get("flip_probability"), block.get("top5_distance")
    if not isinstance(fp, Mapping) or set(fp) != set(names):
        problems.append(f"{where}.flip_probability must have one value per perturbation")
    else:
        for name, value in fp.items():
            _check_percent(problems, f"{where}.flip_probability[{name!r}]", value)
    if not isinstance(t5, Mapping) or set(t5) != set(names):
        problems.append(f"{where}.top5_distance must have one value per perturbation")
    else:
        for name, value in t5.items():
            if not _is_number(value) or not 0 <= value <= 15:
                problems.append(f"{where}.top5_distance[{name!r}] must be a number in [0, 15], got {value!r}")
    averaged = block.get("averaged_perturbations")
    if not isinstance(averaged, list) or not averaged or not set(averaged) <= set(names):
        problems.append(f"{where}.averaged_perturbations must be a non-empty subset of perturbations")
    _check_percent(problems, f"{where}.mean_flip_probability", block.get("mean_flip_probability"))
    mt = block.get("mean_top5_distance")
    if not _is_number(mt) or mt < 0:
        problems.append(f"{where}.mean_top5_distance must be a finite non-negative number, got {mt!r}")
    averaged_names = averaged if isinstance(averaged, list) else []
    for key in ("flip_rate", "top5_distance_ratio"):
        _check_ratio_block(problems, f"{where}.{key}", block.get(key), averaged_names)
    for key in ("mfr", "mt5d"):
        value = block.get(key)
        if value is not None and (not _is_number(value) or value < 0):
            problems.append(f"{where}.{key} must be a finite non-negative number or null, got {value!r}")
    if (block.get("mfr") is None) != (block.get("normalizer") is None):
        problems.append(f"{where}.mfr and {where}.normalizer must both be set or both be null")
    return problems


def _perturbation_only_problems(results: Mapping[str, Any]) -> list[str]:
    problems = [f"missing key {key!r}" for key in _COMMON_KEYS if key not in results]
    if problems:
        return problems
    if results["schema_version"] not in SUPPORTED_SCHEMA_VERSIONS[1:]:
        problems.append(f"a -P-only document needs schema_version >= 2, got {results['schema_version']!r}")
    if not isinstance(results["weights_sha256"], str) or not re.fullmatch(r"[0-9a-f]{64}", results["weights_sha256"]):
        problems.append("weights_sha256 must be 64 lowercase hex characters")
    return problems + perturbation_problems(results["perturbation"])


def _has_corruption_results(results: Mapping[str, Any]) -> bool:
    """Whether a (valid) results document holds eval-c results (a -P-only document does not)."""
    return "corruptions" in results


def validation_problems(results: Mapping[str, Any]) -> list[str]:
    """Every way ``results`` departs from the schema (versions 1 and 2; empty list: valid)."""
    problems: list[str] = []
    if not isinstance(results, Mapping):
        return [f"results must be a JSON object, got {type(results).__name__}"]
    if "perturbation" in results and not _has_corruption_results(results):
        return _perturbation_only_problems(results)
    for key, types in _REQUIRED.items():
        if key not in results:
            problems.append(f"missing key {key!r}")
        elif not isinstance(results[key], types) or (isinstance(results[key], bool) and bool not in types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            problems.append(f"{key!r} must be {names}, got {type(results[key]).__name__}")
    if problems:
        return problems
    if results["schema_version"] not in SUPPORTED_SCHEMA_VERSIONS:
        problems.append(f"schema_version {results['schema_version']} is not supported (expected one of "
                        f"{SUPPORTED_SCHEMA_VERSIONS})")
    if "perturbation" in results:
        if results["schema_version"] < 2:
            problems.append("the perturbation section needs schema_version >= 2")
        problems += perturbation_problems(results["perturbation"])
    if results["benchmark_style"] not in STYLES:
        problems.append(f"benchmark_style must be one of {STYLES}, got {results['benchmark_style']!r}")
    if not re.fullmatch(r"[0-9a-f]{64}", results["weights_sha256"]):
        problems.append("weights_sha256 must be 64 lowercase hex characters")
    if results["num_classes"] < 1:
        problems.append(f"num_classes must be >= 1, got {results['num_classes']}")
    corruptions, severities = results["corruptions"], results["severities"]
    if not corruptions or not all(isinstance(c, str) for c in corruptions):
        problems.append("corruptions must be a non-empty list of names")
    if not severities or not all(isinstance(s, int) and 1 <= s <= 5 for s in severities):
        problems.append("severities must be a non-empty list of integers in 1..5")
    if results["clean_error"] is not None:
        _check_percent(problems, "clean_error", results["clean_error"])
    expected_sev = {str(s) for s in severities if isinstance(s, int)}
    for c in corruptions:
        per_sev = results["errors"].get(c)
        if not isinstance(per_sev, Mapping):
            problems.append(f"errors[{c!r}] is missing")
        else:
            if set(per_sev) != expected_sev:
                problems.append(f"errors[{c!r}] has severities {sorted(per_sev)}, expected {sorted(expected_sev)}")
            for s, v in per_sev.items():
                _check_percent(problems, f"errors[{c!r}][{s!r}]", v)
        if c not in results["corruption_errors"]:
            problems.append(f"corruption_errors[{c!r}] is missing")
        else:
            _check_percent(problems, f"corruption_errors[{c!r}]", results["corruption_errors"][c])
    extra = sorted(set(results["errors"]) - set(corruptions))
    if extra:
        problems.append(f"errors has corruptions not listed in 'corruptions': {extra}")
    _check_percent(problems, "mean_corruption_error", results["mean_corruption_error"])
    for key in ("mce", "relative_mce"):
        value = results[key]
        if value is not None and (not _is_number(value) or value < 0 and key == "mce"):
            problems.append(f"{key} must be a finite number (or null), got {value!r}")
    if (results["mce"] is None) != (results["mce_normalizer"] is None):
        problems.append("mce and mce_normalizer must both be set or both be null")
    if results["clean"] is None:
        if results["clean_error"] is not None:
            problems.append("clean is null but clean_error is set")
    else:
        _check_calibration(problems, "clean", results["clean"])
    _check_calibration(problems, "corrupted", results["corrupted"])
    hashes = results.get("evaluated_images_sha256")
    if hashes is not None:
        if not isinstance(hashes, Mapping) or not all(
                v is None or isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for v in hashes.values()):
            problems.append("evaluated_images_sha256 must map 'corrupted' / 'clean' to 64 hex characters or null")
    if results["num_corrupted_samples"] < 1:
        problems.append("num_corrupted_samples must be >= 1")
    if results["num_clean_samples"] < 0:
        problems.append("num_clean_samples must be >= 0")
    return problems


def validate_results(results: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` listing every schema problem of ``results``."""
    problems = validation_problems(results)
    if problems:
        listing = "\n  - ".join(problems)
        raise ValueError(
            f"invalid eval-c/eval-p results (schema v{SCHEMA_VERSION}):\n  - {listing}\n"
            "Write results with `timm-augmix eval-c ... --out <dir>/results.json` from this plugin version rather "
            "than by hand."
        )


def write_results(results: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Validate and write ``results`` as indented JSON (creating parent folders); returns the path."""
    validate_results(results)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2, allow_nan=False)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def read_results(path: str | os.PathLike) -> dict[str, Any]:
    """The validated document of a results.json, as stored (:attr:`RobustnessResults.raw` of :func:`load_results`).

    Raises:
        FileNotFoundError: missing file.
        ValueError: not JSON, or not a results document of a supported schema version.
    """
    return load_results(path).raw


def load_results(path: str | os.PathLike) -> RobustnessResults:
    """Read and validate a results.json (schema v1 or v2, -C and/or -P results) into its typed view.

    Raises:
        FileNotFoundError: missing file.
        ValueError: not JSON, or not a results document of a supported schema version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} does not exist; create it with `timm-augmix eval-c --out {path}`")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None
    return RobustnessResults.from_dict(data, source=str(path))


# ---- the typed view ------------------------------------------------------------------------------------------------

#: Keys of the ``perturbation`` section with a typed field; the others are kept in ``StabilityResults.extra``.
_STABILITY_KEYS = frozenset({
    "dataset", "layout", "perturbations", "frames", "difficulty", "num_videos", "flip_probability", "top5_distance",
    "averaged_perturbations", "mean_flip_probability", "mean_top5_distance", "flip_rate", "top5_distance_ratio",
    "mfr", "mt5d", "normalizer",
})


@dataclass(frozen=True)
class StabilityResults:
    """The -P section (``perturbation``) of a results document, validated (written by ``eval-p``).

    Attributes:
        dataset: Slug of the -P set, e.g. ``cifar10-p`` or ``cifar10-p-generated``.
        layout: How the sequences were read (files or generated).
        perturbations: Perturbation names in evaluation order.
        frames: Frames per sequence, per perturbation.
        difficulty: Frame distance of the compared pairs (noise sequences compare with the first frame).
        num_videos: Sequences per perturbation.
        flip_probability: Flip probability per perturbation, in percent.
        top5_distance: Mean top-5 distance per perturbation.
        averaged_perturbations: The perturbations the means are over.
        mean_flip_probability: mFP (unnormalised), in percent.
        mean_top5_distance: Mean top-5 distance (unnormalised).
        flip_rate, top5_distance_ratio: Per perturbation against the ``normalizer``, in percent (None without one).
        mfr, mt5d: Their means (None without a normalizer).
        normalizer: The baseline results the ratios divide by, or None.
        extra: The section's other keys (e.g. ``source``).
    """

    dataset: str
    layout: str
    perturbations: tuple[str, ...]
    frames: dict[str, int]
    difficulty: int
    num_videos: int
    flip_probability: dict[str, float]
    top5_distance: dict[str, float]
    averaged_perturbations: tuple[str, ...]
    mean_flip_probability: float
    mean_top5_distance: float
    flip_rate: dict[str, float] | None = None
    top5_distance_ratio: dict[str, float] | None = None
    mfr: float | None = None
    mt5d: float | None = None
    normalizer: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, block: Mapping[str, Any]) -> StabilityResults:
        """Validate a ``perturbation`` section (:func:`perturbation_problems`) and type it.

        Raises:
            ValueError: listing every way ``block`` is malformed.
        """
        problems = perturbation_problems(block)
        if problems:
            raise ValueError("invalid -P results section:\n  - " + "\n  - ".join(problems))
        return cls._from_valid(block)

    @classmethod
    def _from_valid(cls, block: Mapping[str, Any]) -> StabilityResults:
        names = tuple(block["perturbations"])
        ratios = {key: None if block.get(key) is None else {n: float(v) for n, v in block[key].items()}
                  for key in ("flip_rate", "top5_distance_ratio")}
        return cls(
            dataset=block["dataset"], layout=block["layout"], perturbations=names,
            frames={n: int(block["frames"][n]) for n in names}, difficulty=int(block["difficulty"]),
            num_videos=int(block["num_videos"]),
            flip_probability={n: float(block["flip_probability"][n]) for n in names},
            top5_distance={n: float(block["top5_distance"][n]) for n in names},
            averaged_perturbations=tuple(block["averaged_perturbations"]),
            mean_flip_probability=float(block["mean_flip_probability"]),
            mean_top5_distance=float(block["mean_top5_distance"]),
            mfr=_optional_float(block.get("mfr")), mt5d=_optional_float(block.get("mt5d")),
            normalizer=block.get("normalizer"), extra={k: v for k, v in block.items() if k not in _STABILITY_KEYS},
            **ratios,
        )


#: Top-level keys with a typed field below; every other key of the document is kept in ``RobustnessResults.extra``.
_TYPED_KEYS = frozenset({
    *_REQUIRED, "evaluated_images_sha256", "perturbation",
})


@dataclass(frozen=True)
class RobustnessResults:
    """A results.json of ``eval-c`` and/or ``eval-p``, validated and typed (what :func:`load_results` returns).

    The -C fields are empty (``corruptions == ()``, numbers None) in a document with only -P results; see
    :attr:`has_corruption_results`.

    Attributes:
        raw: The whole JSON document as read (kept so a card folder carries it unchanged).
        schema_version: 1 or 2.
        model: The model spec evaluated.
        architecture: Its timm architecture.
        num_classes: Its classifier size.
        weights_sha256: Content hash of the evaluated weights (``state_dict_sha256``).
        plugin_version: Version of the plugin that wrote the document.
        created: When it was written (ISO-8601 UTC).
        dataset: Slug of the -C dataset, e.g. ``cifar10-c`` (None without -C results).
        benchmark_style: ``cifar`` (unnormalised mean corruption error) or ``imagenet`` (AlexNet-normalised mCE).
        corruptions: Corruption names in evaluation order.
        severities: Severity levels, e.g. ``(1, 2, 3, 4, 5)``.
        clean_error: Top-1 error on the clean test set, in percent (None when eval-c skipped the clean set).
        errors: ``errors[corruption][severity]`` top-1 error in percent (severity keys are ints here).
        corruption_errors: Mean error over severities per corruption, in percent.
        mean_corruption_error: Mean of ``corruption_errors`` over the benchmark corruptions, in percent.
        mce: Normalised mCE (AlexNet or a baseline) or None.
        relative_mce: Relative mCE or None.
        mce_normalizer: ``alexnet``, the baseline results path, or None.
        clean: Metrics on the clean set: ``error``, ``rms_calibration_error``, ``ece`` (percent), ``nll`` (nats);
            None when eval-c skipped the clean set.
        corrupted: The same metrics over all corrupted images.
        num_clean_samples, num_corrupted_samples: Images evaluated.
        evaluated_images_sha256: ``corrupted`` / ``clean`` hashes of the evaluated images (None in older files).
        perturbation: The -P section, or None.
        extra: The document's other keys (``source``, ``averaged_corruptions``, ...).
    """

    raw: dict[str, Any]
    schema_version: int
    model: str
    architecture: str
    num_classes: int
    weights_sha256: str
    plugin_version: str
    created: str
    corruptions: tuple[str, ...] = ()
    severities: tuple[int, ...] = ()
    dataset: str | None = None
    benchmark_style: str | None = None
    clean_error: float | None = None
    errors: dict[str, dict[int, float]] = field(default_factory=dict)
    corruption_errors: dict[str, float] = field(default_factory=dict)
    mean_corruption_error: float | None = None
    mce: float | None = None
    relative_mce: float | None = None
    mce_normalizer: str | None = None
    clean: dict[str, float] | None = None
    corrupted: dict[str, float] | None = None
    num_clean_samples: int = 0
    num_corrupted_samples: int = 0
    evaluated_images_sha256: dict[str, str | None] | None = None
    perturbation: StabilityResults | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_corruption_results(self) -> bool:
        """Whether the document holds eval-c results (a -P-only document does not)."""
        return bool(self.corruptions)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "results") -> RobustnessResults:
        """Validate a results document (:func:`validate_results`) and type it; ``source`` names it in errors.

        Raises:
            ValueError: listing every way ``data`` departs from the schema.
        """
        try:
            validate_results(data)
        except ValueError as err:
            raise ValueError(f"{source}: {err}") from None
        return cls._from_valid(dict(data))

    @classmethod
    def _from_valid(cls, data: dict[str, Any]) -> RobustnessResults:
        common: dict[str, Any] = {
            "raw": data, "schema_version": int(data["schema_version"]), "model": data["model"],
            "architecture": data["architecture"], "num_classes": int(data["num_classes"]),
            "weights_sha256": data["weights_sha256"], "plugin_version": data["plugin_version"],
            "created": data["created"],
            "perturbation": None if data.get("perturbation") is None else StabilityResults._from_valid(
                data["perturbation"]),
            "extra": {k: v for k, v in data.items() if k not in _TYPED_KEYS},
        }
        if not _has_corruption_results(data):
            return cls(**common)
        corruptions = tuple(str(c) for c in data["corruptions"])
        hashes = data.get("evaluated_images_sha256")
        return cls(
            **common,
            dataset=str(data["dataset"]),
            benchmark_style=data["benchmark_style"],
            corruptions=corruptions,
            severities=tuple(int(s) for s in data["severities"]),
            clean_error=_optional_float(data["clean_error"]),
            errors={c: {int(s): float(v) for s, v in data["errors"][c].items()} for c in corruptions},
            corruption_errors={c: float(data["corruption_errors"][c]) for c in corruptions},
            mean_corruption_error=float(data["mean_corruption_error"]),
            mce=_optional_float(data["mce"]),
            relative_mce=_optional_float(data["relative_mce"]),
            mce_normalizer=data["mce_normalizer"],
            clean=None if data["clean"] is None else _floats(data["clean"]),
            corrupted=_floats(data["corrupted"]),
            num_clean_samples=int(data["num_clean_samples"]),
            num_corrupted_samples=int(data["num_corrupted_samples"]),
            evaluated_images_sha256=None if hashes is None else dict(hashes),
        )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _floats(section: Mapping[str, Any]) -> dict[str, float]:
    """The numeric metrics of a validated ``clean``/``corrupted`` block."""
    return {k: float(v) for k, v in section.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
