"""``create_jsd_loss``: the JSD consistency wrapper around any loss timm's factory builds."""
from __future__ import annotations

from typing import Any

import torch.nn as nn
from timm.loss import JsdCrossEntropy

from .jsd import JsdLoss
from .timm_originals import timm_create_classification_loss

__all__ = ["DEFAULT_JSD_ALPHA", "SIGMOID_LOSS_TYPES", "create_jsd_loss"]

SIGMOID_LOSS_TYPES = ("bce",)
#: Weight of the JSD consistency term unless given (the paper's lambda).
DEFAULT_JSD_ALPHA = 12.0


def create_jsd_loss(
        loss_type: str | None = "ce",
        num_splits: int = 3,
        alpha: float = DEFAULT_JSD_ALPHA,
        **base_kwargs: Any,
) -> nn.Module:
    """JSD consistency loss over ``num_splits`` augmentation splits around timm's ``loss_type`` loss.

    Args:
        loss_type: any of timm's loss types for the clean split (``'ce'``, ``'bce'``, ``'poly'``, ...). ``'jsd'``
            returns timm's own ``JsdCrossEntropy`` with ``alpha``.
        num_splits: clean + augmented splits in each batch (3 for the paper).
        alpha: weight of the JS term (12 in the paper).
        **base_kwargs: passed to ``timm.loss.create_classification_loss`` for the base loss (``smoothing``,
            ``soft_targets``, ``multi_label``, ``bce_*``, ...).

    Example:
        >>> criterion = create_jsd_loss('ce', num_splits=3, alpha=12.0, smoothing=0.1)
        >>> loss = criterion(model(torch.cat([clean, aug1, aug2])), target)
    """
    if num_splits < 2:
        raise ValueError(f"The JSD loss needs num_splits >= 2 (clean + augmented views), got {num_splits}.")
    if loss_type == "jsd":
        if base_kwargs.get("soft_targets") or base_kwargs.get("multi_label"):
            raise ValueError("loss_type='jsd' is timm's JsdCrossEntropy (class indices only); for Mixup/CutMix or "
                             "multi-label targets use create_jsd_loss('ce' | 'bce', ...), or through timm's factory "
                             "loss_type='jsd_ce' | 'jsd_bce' with jsd_splits >= 2.")
        return JsdCrossEntropy(num_splits=num_splits, alpha=alpha, smoothing=base_kwargs.get("smoothing", 0.0))
    base = timm_create_classification_loss()(loss_type=loss_type, **base_kwargs)
    multi_label = base_kwargs.get("multi_label", False)
    sigmoid = multi_label or (loss_type or "ce") in SIGMOID_LOSS_TYPES
    return JsdLoss(base, num_splits=num_splits, alpha=alpha, distribution="sigmoid" if sigmoid else "softmax")
