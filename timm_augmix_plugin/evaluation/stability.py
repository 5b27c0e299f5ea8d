"""Stability metrics of the -P benchmarks: flip probability and top-5 distance, per video and aggregated.

As defined by hendrycks/robustness ``ImageNet-P/test.py`` and ``cifar-p-eval.py`` (``flip_prob``, ``ranking_dist``
with ``mode='top5'``):

* Noise sequences (``'noise' in name``) compare every frame with frame 0; the other sequences compare each frame with
  the one ``difficulty`` frames before it (difficulty 1 for CIFAR-P: consecutive frames). The reference walks
  ``difficulty`` interleaved chains; their consecutive pairs are exactly the pairs ``(t, t + difficulty)``.
* Per video the value is the mean over those pairs; a perturbation's value is the mean over videos.
* Top-5 distance of a pair ``(a, b)``: with ``r_k`` the 0-based rank in frame ``b`` of the class ranked ``k`` in frame
  ``a`` (ranks by descending logit, ties by class order as ``rankdata(method='ordinal')``), ``sum_{k<5} |k - min(r_k,
  5)|``.

The reference prints fractions; results.json stores flip probabilities in percent (like every error in it) and the
top-5 distance as it is (a mean rank displacement, 0..15).

mFR and mT5D (ImageNet-P) divide each perturbation's value by AlexNet's before averaging. AlexNet's per-perturbation
flip probabilities and top-5 distances are not in the reference code (``test.py`` only prints one model's raw values,
and the benchmark paper reports normalised figures), so this module does not ship them: eval-p reports the
unnormalised mean flip probability and top-5 distance, and mFR / mT5D only against a ``--baseline`` results.json
(the same ratio with the baseline model in AlexNet's place).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

__all__ = ["video_flip_probability", "video_top5_distance", "pair_indices", "normalized_ratio_mean"]


def pair_indices(frames: int, noise: bool, difficulty: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame indices ``(a, b)`` of the compared pairs: ``(0, t)`` for noise, ``(t, t + difficulty)`` otherwise."""
    if frames < 2:
        raise ValueError(f"a sequence needs at least 2 frames, got {frames}")
    if noise:
        b = torch.arange(1, frames)
        return torch.zeros_like(b), b
    if not 1 <= difficulty < frames:
        raise ValueError(f"difficulty must be in 1..{frames - 1} for {frames} frames, got {difficulty}")
    a = torch.arange(0, frames - difficulty)
    return a, a + difficulty


def video_flip_probability(predictions: torch.Tensor, noise: bool, difficulty: int = 1) -> torch.Tensor:
    """Per video, the fraction of compared frame pairs whose top-1 predictions differ.

    Args:
        predictions: (N, T) predicted classes.
        noise: compare with frame 0 (noise sequences) instead of the frame ``difficulty`` steps before.
        difficulty: step between compared frames of non-noise sequences.

    Returns:
        (N,) float64 fractions.
    """
    a, b = pair_indices(predictions.shape[1], noise, difficulty)
    return (predictions[:, a] != predictions[:, b]).double().mean(dim=1)


def video_top5_distance(logits: torch.Tensor, noise: bool, difficulty: int = 1) -> torch.Tensor:
    """Per video, the mean top-5 distance over the compared frame pairs.

    Args:
        logits: (N, T, C) scores (any monotone transform of them gives the same ranks).
        noise: compare with frame 0 instead of the frame ``difficulty`` steps before.
        difficulty: step between compared frames of non-noise sequences.

    Returns:
        (N,) float64.
    """
    n, t, c = logits.shape
    k = min(5, c)
    a, b = pair_indices(t, noise, difficulty)
    order = torch.argsort(-logits.float(), dim=-1, stable=True)  # order[..., r] = class with 0-based rank r
    rank = torch.empty_like(order)
    rank.scatter_(-1, order, torch.arange(c, device=order.device).expand_as(order))
    top_a = order[:, a, :k]  # (N, P, k) classes ranked 0..k-1 in frame a
    r = rank[:, b].gather(-1, top_a)  # their ranks in frame b
    positions = torch.arange(k, device=r.device)
    return (positions - r.clamp(max=5)).abs().sum(-1).double().mean(dim=1)


def normalized_ratio_mean(values: Mapping[str, float], baseline: Mapping[str, float],
                          names: Sequence[str]) -> tuple[dict[str, float], float]:
    """Per name ``100 * values / baseline`` and their mean (the mFR / mT5D recipe with any normaliser).

    Raises:
        ValueError: a name is missing from the baseline, or its baseline value is 0.
    """
    missing = [n for n in names if n not in baseline]
    if missing:
        raise ValueError(f"the baseline has no -P result for {missing}; evaluate it on the same perturbations")
    zero = [n for n in names if not baseline[n]]
    if zero:
        raise ValueError(f"the baseline's value is 0 for {zero}, so it cannot normalise them")
    ratios = {n: 100.0 * float(values[n]) / float(baseline[n]) for n in names}
    return ratios, sum(ratios.values()) / len(ratios)
