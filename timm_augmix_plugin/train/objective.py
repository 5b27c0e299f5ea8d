"""The training objective of a recipe: the base classification loss, optionally with the JSD consistency term.

The base loss comes from timm's factory (``timm.loss.create_classification_loss(loss_type, smoothing=...)``), the JSD
objective from the plugin's own factory around it (:func:`timm_augmix_plugin.loss.create_jsd_loss`). The objective
also reports the loss split into its parts for the metrics log.
"""
from __future__ import annotations

import torch
from torch import nn

from ..loss.factory import create_jsd_loss
from .recipe import Recipe

__all__ = ["Objective"]


class Objective(nn.Module):
    """Loss of one training batch.

    Args:
        recipe: The recipe (``loss`` and ``augmix`` sections are used).

    Calling it with split-major logits ``(S*B, C)`` and labels ``(B,)`` returns ``(loss, parts)`` where ``parts``
    holds detached floats: ``base`` (the base loss; on the clean split for JSD) and, for JSD, ``consistency``
    (``alpha * JS``).
    """

    def __init__(self, recipe: Recipe) -> None:
        super().__init__()
        import timm.loss

        lo = recipe.loss
        self.jsd = lo.jsd
        self.num_splits = recipe.augmix.num_splits if recipe.augmix.enabled else 1
        # recipes allow 'ce' / 'bce', so the JSD objective is always the plugin's JsdLoss (it owns the JS formula)
        self.loss = (create_jsd_loss(lo.type, num_splits=self.num_splits, alpha=lo.jsd_alpha, smoothing=lo.smoothing)
                     if lo.jsd else timm.loss.create_classification_loss(lo.type, smoothing=lo.smoothing))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        batch = target.shape[0]
        if logits.shape[0] != batch * self.num_splits:
            raise ValueError(f"Expected split-major logits for {self.num_splits} splits of {batch} samples "
                             f"({self.num_splits * batch} rows), got {logits.shape[0]} rows.")
        if self.jsd:  # one pass gives the loss and its parts
            parts = self.loss.loss_parts(logits, target)
            consistency = self.loss.alpha * parts["jsd"]
            return parts["base"] + consistency, {"base": parts["base"].detach(), "consistency": consistency.detach()}
        if self.num_splits > 1:  # plain loss on every split (clean and augmented)
            target = target.repeat(self.num_splits, *([1] * (target.dim() - 1)))
        loss = self.loss(logits, target)
        return loss, {"base": loss.detach()}

