"""Aggregate per-sample predictions into the numbers of results.json (errors, CE/mCE, calibration)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..corruptions.params import BENCHMARK_CORRUPTIONS
from . import metrics
from .results import RobustnessResults
from .runner import Predictions

__all__ = ["ALEXNET", "baseline_reference", "split_errors", "summarize"]

ALEXNET = "alexnet"


def split_errors(
    predictions: Predictions, groups: Mapping[int, tuple[str, int]]
) -> dict[str, dict[int, float]]:
    """Top-1 error (percent) per corruption and severity from predictions tagged with group ids.

    Raises:
        ValueError: when a group has no samples.
    """
    errors: dict[str, dict[int, float]] = {}
    for group, (corruption, severity) in groups.items():
        mask = predictions.group == group
        if not mask.any():
            raise ValueError(f"no predictions for {corruption} severity {severity}")
        errors.setdefault(corruption, {})[severity] = metrics.error_rate(predictions.correct[mask])
    return errors


def _calibration(predictions: Predictions, calibration: Mapping[str, Any]) -> dict[str, float]:
    return metrics.calibration_summary(
        predictions.confidence,
        predictions.correct,
        predictions.log_prob,
        rms_bin_size=calibration["rms_bin_size"],
        rms_skip_last_bin=calibration["rms_method"] == metrics.RMS_REFERENCE_SKIP_LAST_BIN,
        ece_bins=calibration["ece_bins"],
    )


def baseline_reference(baseline: RobustnessResults, corruptions: Sequence[str], severities: Sequence[int]) -> dict:
    """Per-severity errors and clean error of a baseline results.json, checked to cover what is being evaluated.

    Raises:
        ValueError: listing the corruptions/severities the baseline lacks.
    """
    missing = [
        f"{c}/{s}" for c in corruptions for s in severities if s not in baseline.errors.get(c, {})
    ]
    if missing:
        raise ValueError(
            f"the baseline results lack errors for {len(missing)} corruption/severity pair(s): "
            f"{', '.join(missing[:20])}"
            f"{' ...' if len(missing) > 20 else ''}; evaluate the baseline model on the same corruptions and severities"
        )
    errors = {c: {s: baseline.errors[c][s] for s in severities} for c in corruptions}
    return {"errors": errors, "clean_error": baseline.clean_error}


def summarize(
    *,
    clean: Predictions | None,
    corrupted: Predictions,
    groups: Mapping[int, tuple[str, int]],
    corruptions: Sequence[str],
    severities: Sequence[int],
    benchmark_style: str,
    calibration: Mapping[str, Any],
    baseline: RobustnessResults | None = None,
    baseline_name: str | None = None,
) -> dict[str, Any]:
    """The metric part of results.json.

    Args:
        clean: predictions on clean data, or None when no clean data was evaluated.
        corrupted: predictions on all corrupted splits, ``group`` ids as in ``groups``.
        groups: group id -> (corruption, severity).
        corruptions, severities: what was evaluated, in order.
        benchmark_style: ``"cifar"`` (mCE only against a baseline) or ``"imagenet"`` (mCE against AlexNet by default).
        calibration: ``rms_method``, ``rms_bin_size``, ``ece_bins``.
        baseline: a baseline's results (:func:`~.results.load_results`) to normalise CE by (overrides AlexNet);
            ``baseline_name`` is recorded.
    """
    errors = split_errors(corrupted, groups)
    corruption_errors = {c: metrics.mean_over_severities(errors[c]) for c in corruptions}
    benchmark = [c for c in corruptions if c in BENCHMARK_CORRUPTIONS]
    averaged = benchmark or list(corruptions)
    clean_error = None if clean is None else metrics.error_rate(clean.correct)

    normalizer: str | None = None
    references: dict[str, dict[int, float]] = {}
    reference_clean: float | None = None
    if baseline is not None:
        ref = baseline_reference(baseline, corruptions, severities)
        normalizer, references, reference_clean = baseline_name or "baseline", ref["errors"], ref["clean_error"]
    elif benchmark_style == "imagenet":
        normalizer = ALEXNET
        references = {c: metrics.alexnet_errors_percent(c) for c in corruptions if c in metrics.ALEXNET_ERRORS}
        reference_clean = 100.0 * metrics.ALEXNET_CLEAN_ERROR

    normalized: dict[str, float] = {}
    relative: dict[str, float] = {}
    for c in corruptions:
        if c not in references:
            continue
        normalized[c] = metrics.normalized_corruption_error(errors[c], references[c])
        if clean_error is not None and reference_clean is not None:
            relative[c] = metrics.relative_corruption_error(errors[c], clean_error, references[c], reference_clean)
    mce_over = [c for c in averaged if c in normalized]
    mce = metrics.mean_corruption_error(normalized, mce_over) if normalizer and mce_over else None
    relative_over = [c for c in averaged if c in relative]
    relative_mce = metrics.mean_corruption_error(relative, relative_over) if relative_over else None

    by_corruption = {
        c: _calibration(corrupted.select(np.isin(corrupted.group, [g for g, (n, _) in groups.items() if n == c])),
                        calibration)
        for c in corruptions
    }
    return {
        "clean_error": clean_error,
        "errors": {c: {str(s): errors[c][s] for s in severities} for c in corruptions},
        "corruption_errors": corruption_errors,
        "mean_corruption_error": metrics.mean_corruption_error(corruption_errors, averaged),
        "mce": mce,
        "relative_mce": relative_mce,
        "mce_normalizer": normalizer if mce is not None else None,
        "clean": None if clean is None else _calibration(clean, calibration),
        "corrupted": _calibration(corrupted, calibration),
        "num_clean_samples": 0 if clean is None else len(clean),
        "num_corrupted_samples": len(corrupted),
        # extras beyond the contract
        "averaged_corruptions": list(averaged),
        "normalized_corruption_errors": normalized,
        "relative_corruption_errors": relative,
        "corrupted_by_corruption": by_corruption,
        "calibration": {
            "rms_method": calibration["rms_method"],
            "rms_bin_size": calibration["rms_bin_size"],
            "ece_bins": calibration["ece_bins"],
            "confidence": "max softmax probability",
            "corrupted_pooling": "all corrupted samples pooled (every corruption and severity evaluated)",
            "units": {"error": "percent", "rms_calibration_error": "percent", "ece": "percent", "nll": "nats"},
        },
    }
