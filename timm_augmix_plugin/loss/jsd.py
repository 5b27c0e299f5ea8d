"""The JSD consistency loss of AugMix around any base loss.

``loss = base(logits_clean, y) + alpha * JS(p_clean; p_aug1; ...)`` with ``JS = mean_i KL(p_i || M)``,
``M = clamp(mean_i p_i, 1e-7, 1)`` before the log, and gradients through every branch (reference-facts 1.4).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["JsdLoss", "js_divergence"]

DISTRIBUTIONS = ("softmax", "sigmoid")
MIXTURE_CLAMP = 1e-7


def _split_target(target: torch.Tensor, num_splits: int, split_size: int) -> torch.Tensor:
    """Target of the clean split: timm's fast_collate repeats targets split-major, plain collate does not."""
    if target.shape[0] == split_size * num_splits:
        return target[:split_size]
    if target.shape[0] == split_size:
        return target
    raise ValueError(
        f"JSD loss got {target.shape[0]} targets for {split_size * num_splits} logits in {num_splits} splits; "
        f"expected {split_size} (one per sample) or {split_size * num_splits} (repeated per split).")


def js_divergence(probs: list[torch.Tensor]) -> torch.Tensor:
    """Generalised Jensen-Shannon divergence of distributions (probabilities along dim 1), the one JS formula.

    Each KL term is summed over every non-batch dim and averaged over the batch ('batchmean'), then the terms are
    averaged: (B, C) softmax outputs give timm's ``JsdCrossEntropy`` term; (B, 2, C) Bernoulli pairs sum over classes.
    """
    log_mixture = torch.clamp(torch.stack(probs).mean(0), MIXTURE_CLAMP, 1).log()
    batch = probs[0].shape[0]
    terms = [F.kl_div(log_mixture, p, reduction="sum") / batch for p in probs]
    return sum(terms) / len(terms)


def _bernoulli_pairs(logits: torch.Tensor) -> torch.Tensor:
    """(B, C) sigmoid logits -> (B, 2, C) Bernoulli distributions per class."""
    p = torch.sigmoid(logits)
    return torch.stack([p, 1 - p], dim=1)


class JsdLoss(nn.Module):
    """AugMix's JSD consistency loss wrapped around any classification loss.

    Args:
        base_loss: loss applied to the clean split only (the paper: "classifying only clean data tended to slightly
            improve accuracy"): CE, label smoothing, soft-target CE (Mixup/CutMix), BCE, ...
        num_splits: number of splits in the batch (clean + augmented views), split-major.
        alpha: weight of the JS term (the paper's lambda = 12).
        distribution: ``'softmax'`` (one categorical distribution per sample, the paper) or ``'sigmoid'`` (one
            Bernoulli per class, for BCE-trained models).
    """

    def __init__(self, base_loss: nn.Module, num_splits: int = 3, alpha: float = 12.0,
                 distribution: str = "softmax") -> None:
        super().__init__()
        if num_splits < 2:
            raise ValueError(f"The JSD loss needs num_splits >= 2 (clean + augmented views), got {num_splits}.")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}.")
        self.base_loss = base_loss
        self.num_splits = num_splits
        self.alpha = float(alpha)
        self.distribution = distribution

    def loss_parts(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{'base': ..., 'jsd': ...}`` (jsd unweighted), for logging; ``forward`` is ``base + alpha * jsd``."""
        if logits.shape[0] % self.num_splits:
            raise ValueError(
                f"JSD loss got a batch of {logits.shape[0]} logits, not divisible into {self.num_splits} splits; "
                "the batch must be cat([clean, aug1, aug2, ...]) of equal-size splits.")
        split_size = logits.shape[0] // self.num_splits
        splits = torch.split(logits, split_size)
        base = self.base_loss(splits[0], _split_target(target, self.num_splits, split_size))
        if self.distribution == "softmax":
            jsd = js_divergence([F.softmax(s, dim=1) for s in splits])
        else:
            jsd = js_divergence([_bernoulli_pairs(s) for s in splits])
        return {"base": base, "jsd": jsd}

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        parts = self.loss_parts(logits, target)
        return parts["base"] + self.alpha * parts["jsd"]

    def extra_repr(self) -> str:
        return f"num_splits={self.num_splits}, alpha={self.alpha}, distribution={self.distribution!r}"
