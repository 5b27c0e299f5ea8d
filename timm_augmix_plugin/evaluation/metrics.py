"""Pure metric functions for -C robustness evaluation: error rates, (relative) corruption errors, mCE and calibration.

Conventions: error rates, corruption errors and calibration errors are in **percent**; the negative log-likelihood is
in nats per sample. Inputs are numpy arrays (or anything ``np.asarray`` accepts); nothing here touches global state.

AlexNet reference errors (the ImageNet-C mCE normaliser) are the values published in the README of
``hendrycks/robustness`` (commit 76d9393, PR #20) and in robustness issue #10, for the torchvision pretrained AlexNet.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "ALEXNET_CLEAN_ERROR", "ALEXNET_ERRORS", "ALEXNET_MEAN_ERRORS", "RMS_ALL_BINS", "RMS_REFERENCE_SKIP_LAST_BIN",
    "adaptive_bin_edges", "alexnet_errors_percent", "calibration_summary", "error_rate",
    "expected_calibration_error", "mean_corruption_error", "mean_over_severities", "negative_log_likelihood",
    "nll_from_logits", "normalized_corruption_error", "relative_corruption_error", "reliability_bins",
    "rms_calibration_error"
]

#: AlexNet top-1 error (fraction) on ImageNet-C per corruption and severity 1..5, in the benchmark's reference order
#: (``corruptions.BENCHMARK_CORRUPTIONS``, then ``corruptions.EXTRA_CORRUPTIONS``, the owner of the names).
ALEXNET_ERRORS: dict[str, tuple[float, float, float, float, float]] = {
    "gaussian_noise": (0.69528, 0.82542, 0.93554, 0.98138, 0.99452),
    "shot_noise": (0.71224, 0.85108, 0.93574, 0.98182, 0.99146),
    "impulse_noise": (0.78374, 0.89808, 0.94870, 0.98720, 0.99548),
    "defocus_blur": (0.65624, 0.73202, 0.85036, 0.91364, 0.94714),
    "glass_blur": (0.64308, 0.75054, 0.88806, 0.91622, 0.93344),
    "motion_blur": (0.58430, 0.70048, 0.82108, 0.89750, 0.92638),
    "zoom_blur": (0.70008, 0.76992, 0.80784, 0.84198, 0.87198),
    "snow": (0.71726, 0.88392, 0.86468, 0.91870, 0.94952),
    "frost": (0.61390, 0.79734, 0.88790, 0.89942, 0.93430),
    "fog": (0.67474, 0.76050, 0.84378, 0.87260, 0.94500),
    "brightness": (0.45140, 0.48502, 0.54048, 0.62166, 0.72440),
    "contrast": (0.64548, 0.76150, 0.88874, 0.97760, 0.99270),
    "elastic_transform": (0.52596, 0.70116, 0.55686, 0.64076, 0.80554),
    "pixelate": (0.52218, 0.54620, 0.73728, 0.87092, 0.91262),
    "jpeg_compression": (0.51002, 0.54718, 0.57294, 0.65458, 0.74778),
    "speckle_noise": (0.66192, 0.74440, 0.90246, 0.94548, 0.97268),
    "gaussian_blur": (0.54732, 0.70444, 0.82574, 0.89864, 0.95940),
    "spatter": (0.47196, 0.62194, 0.75052, 0.84132, 0.90182),
    "saturate": (0.59342, 0.65514, 0.51174, 0.70834, 0.82260),
}
#: AlexNet mean error over severities 1..5 (fraction); equals the ``ALEXNET_ERR`` list of the AugMix ``imagenet.py``.
ALEXNET_MEAN_ERRORS: dict[str, float] = {name: float(np.mean(errs)) for name, errs in ALEXNET_ERRORS.items()}
#: AlexNet clean top-1 error (fraction) on the ImageNet validation set: torchvision's ``AlexNet_Weights.IMAGENET1K_V1``
#: reports acc@1 = 56.522 %, i.e. 43.478 % error (the model Hendrycks & Dietterich used, robustness issue #38).
ALEXNET_CLEAN_ERROR: float = 1.0 - 0.56522

#: Names of the two RMS calibration error variants (recorded in results.json).
RMS_ALL_BINS = "all_bins"
RMS_REFERENCE_SKIP_LAST_BIN = "reference_skip_last_bin"


def alexnet_errors_percent(corruption: str) -> dict[int, float]:
    """AlexNet's ImageNet-C error in percent for ``corruption``, keyed by severity 1..5.

    Raises:
        KeyError: for a corruption AlexNet has no published errors for.
    """
    if corruption not in ALEXNET_ERRORS:
        raise KeyError(f"no AlexNet ImageNet-C errors for corruption {corruption!r}; known: {sorted(ALEXNET_ERRORS)}")
    return {s: 100.0 * e for s, e in enumerate(ALEXNET_ERRORS[corruption], start=1)}


def error_rate(correct: np.ndarray) -> float:
    """Top-1 error in percent of a boolean (or 0/1) ``correct`` vector."""
    correct = np.asarray(correct)
    if correct.size == 0:
        raise ValueError("error_rate needs at least one sample, got an empty array")
    return 100.0 * (1.0 - float(np.mean(correct, dtype=np.float64)))


def mean_over_severities(errors_by_severity: Mapping[int, float]) -> float:
    """Mean of per-severity errors: the corruption error of the CIFAR-C protocol.

    With the same number of images at every severity (as in CIFAR-10/100-C) this equals the error over all
    severities pooled, which is how the AugMix ``cifar.py`` computes it.
    """
    if not errors_by_severity:
        raise ValueError("mean_over_severities needs at least one severity")
    return float(np.mean([float(v) for v in errors_by_severity.values()]))


def normalized_corruption_error(errors: Mapping[int, float], reference: Mapping[int, float]) -> float:
    """Corruption error normalised by a reference model: ``100 * sum_s E_s / sum_s R_s`` over the given severities.

    With AlexNet as reference this is the ImageNet-C ``CE_c`` of Hendrycks & Dietterich (2019); over all five
    severities it equals ``100 * mean_s(E_s) / ALEXNET_MEAN_ERRORS[c]`` as in the AugMix ``imagenet.py``.

    Args:
        errors: the model's error (percent) per severity.
        reference: the reference model's error (percent) per severity; must cover every severity in ``errors``.
    """
    missing = sorted(set(errors) - set(reference))
    if missing:
        raise ValueError(f"the reference errors lack severities {missing}")
    denominator = sum(float(reference[s]) for s in errors)
    if denominator <= 0:
        raise ValueError(f"reference errors sum to {denominator}; cannot normalise by them")
    return 100.0 * sum(float(v) for v in errors.values()) / denominator


def relative_corruption_error(
    errors: Mapping[int, float],
    clean_error: float,
    reference: Mapping[int, float],
    reference_clean_error: float,
) -> float:
    """Relative corruption error: ``100 * sum_s (E_s - E_clean) / sum_s (R_s - R_clean)``.

    Measures the *degradation* under a corruption relative to the reference model's degradation
    (Hendrycks & Dietterich 2019, "Relative mCE").

    Raises:
        ValueError: when the reference shows no degradation (denominator <= 0).
    """
    missing = sorted(set(errors) - set(reference))
    if missing:
        raise ValueError(f"the reference errors lack severities {missing}")
    denominator = sum(float(reference[s]) - float(reference_clean_error) for s in errors)
    if denominator <= 0:
        raise ValueError(
            f"the reference model's corrupted errors do not exceed its clean error (sum of gaps {denominator}); "
            "relative CE is undefined for this reference"
        )
    return 100.0 * sum(float(v) - float(clean_error) for v in errors.values()) / denominator


def mean_corruption_error(values: Mapping[str, float], corruptions: Sequence[str] | None = None) -> float:
    """Mean of per-corruption values (CEs or unnormalised errors) over ``corruptions`` (default: all keys)."""
    names = list(values) if corruptions is None else list(corruptions)
    missing = [c for c in names if c not in values]
    if missing:
        raise ValueError(f"no value for corruptions {missing}")
    if not names:
        raise ValueError("mean_corruption_error needs at least one corruption")
    return float(np.mean([float(values[c]) for c in names]))


def _sorted_by_confidence(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    correct = np.asarray(correct, dtype=np.float64).reshape(-1)
    if confidence.shape != correct.shape:
        raise ValueError(f"confidence and correct differ in length: {confidence.shape} vs {correct.shape}")
    if confidence.size == 0:
        raise ValueError("calibration metrics need at least one sample, got none")
    order = np.argsort(confidence, kind="stable")
    return confidence[order], correct[order]


def adaptive_bin_edges(num_samples: int, bin_size: int = 100) -> list[tuple[int, int]]:
    """Index ranges of equal-mass bins of ``bin_size`` consecutive (confidence-sorted) samples.

    There are ``max(1, num_samples // bin_size)`` bins; the last one absorbs the remainder, so it holds between
    ``bin_size`` and ``2 * bin_size - 1`` samples (or all of them when ``num_samples < bin_size``).
    """
    if bin_size < 1:
        raise ValueError(f"bin_size must be >= 1, got {bin_size}")
    num_bins = max(1, num_samples // bin_size)
    edges = [(i * bin_size, (i + 1) * bin_size) for i in range(num_bins)]
    edges[-1] = (edges[-1][0], num_samples)
    return edges


def rms_calibration_error(
    confidence: np.ndarray,
    correct: np.ndarray,
    bin_size: int = 100,
    skip_last_bin: bool = False,
) -> float:
    """RMS calibration error in percent with adaptive (equal-mass) bins, after Hendrycks et al.

    Samples are sorted by confidence (stable sort) and cut into bins of ``bin_size`` consecutive samples, the last
    bin absorbing the remainder (see :func:`adaptive_bin_edges`). The result is
    ``100 * sqrt(sum_b (n_b / N) * (mean_conf_b - mean_acc_b) ** 2)``.

    Args:
        confidence: max softmax probability per sample.
        correct: whether the top-1 prediction was right, per sample.
        bin_size: samples per bin (``beta`` of the reference implementation, 100 there).
        skip_last_bin: reproduce the reference implementation's quirk (``calib_err`` in
            ``hendrycks/natural-adv-examples/calibration_tools.py`` loops over ``range(len(bins) - 1)``): the last bin
            is left out of the sum while ``N`` still counts its samples. Off by default (all bins count).
    """
    confidence, correct = _sorted_by_confidence(confidence, correct)
    total = confidence.size
    edges = adaptive_bin_edges(total, bin_size)
    if skip_last_bin:
        edges = edges[:-1]
    squared = 0.0
    for start, stop in edges:
        gap = confidence[start:stop].mean() - correct[start:stop].mean()
        squared += (stop - start) / total * gap * gap
    return 100.0 * float(np.sqrt(squared))


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, num_bins: int = 15) -> dict[str, np.ndarray]:
    """Equal-width confidence bins on [0, 1]: per bin its edges, sample count, mean confidence and accuracy.

    Bin ``i`` holds confidences in ``(i / num_bins, (i + 1) / num_bins]`` (the first bin also holds 0).
    Empty bins get ``nan`` mean confidence and accuracy.

    Returns:
        dict with ``edges`` (num_bins + 1,), ``count``, ``confidence``, ``accuracy`` (num_bins,) each.
    """
    if num_bins < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")
    confidence, correct = _sorted_by_confidence(confidence, correct)
    if confidence.min() < 0 or confidence.max() > 1:
        raise ValueError(f"confidences must lie in [0, 1], got range [{confidence.min()}, {confidence.max()}]")
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    index = np.clip(np.ceil(confidence * num_bins).astype(np.int64) - 1, 0, num_bins - 1)
    count = np.bincount(index, minlength=num_bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=confidence, minlength=num_bins) / count
        mean_acc = np.bincount(index, weights=correct, minlength=num_bins) / count
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": mean_acc}


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, num_bins: int = 15) -> float:
    """Expected calibration error in percent: ``100 * sum_b (n_b / N) * |acc_b - conf_b|`` over equal-width bins.

    Binning as in :func:`reliability_bins` (15 bins by default, as in Guo et al. 2017).
    """
    bins = reliability_bins(confidence, correct, num_bins)
    filled = bins["count"] > 0
    weights = bins["count"][filled] / bins["count"].sum()
    gaps = np.abs(bins["accuracy"][filled] - bins["confidence"][filled])
    return 100.0 * float(np.sum(weights * gaps))


def negative_log_likelihood(log_prob_of_label: np.ndarray) -> float:
    """Mean negative log-likelihood (nats) from each sample's log-probability of its true label."""
    values = np.asarray(log_prob_of_label, dtype=np.float64)
    if values.size == 0:
        raise ValueError("negative_log_likelihood needs at least one sample, got none")
    return float(-np.mean(values))


def nll_from_logits(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood (nats) of ``labels`` under ``softmax(logits)`` (numerically stable)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return negative_log_likelihood(log_probs[np.arange(len(labels)), labels])


def calibration_summary(
    confidence: np.ndarray,
    correct: np.ndarray,
    log_prob_of_label: np.ndarray,
    *,
    rms_bin_size: int = 100,
    rms_skip_last_bin: bool = False,
    ece_bins: int = 15,
) -> dict[str, float]:
    """``error``, ``rms_calibration_error``, ``ece`` (all percent) and ``nll`` (nats) of one set of predictions."""
    return {
        "error": error_rate(correct),
        "rms_calibration_error": rms_calibration_error(confidence, correct, rms_bin_size, rms_skip_last_bin),
        "ece": expected_calibration_error(confidence, correct, ece_bins),
        "nll": negative_log_likelihood(log_prob_of_label),
    }
