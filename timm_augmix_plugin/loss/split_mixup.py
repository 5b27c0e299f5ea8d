"""Mixup/CutMix for JSD batches: the same mix applied to every split.

timm's ``Mixup`` pairs sample ``i`` with ``len(batch) - 1 - i``; on a split-major ``cat([clean, aug1, aug2])`` batch
that would mix clean images with augmented ones of other samples. :class:`SplitMixup` draws one lambda (and one
CutMix box) per batch and applies it to each split with the same partner ordering, so the three views of a sample stay
three views of the same mixed image, and returns the soft targets of the clean split.
"""
from __future__ import annotations

import torch
from timm.data import Mixup
from timm.data.mixup import cutmix_bbox_and_lam, mixup_target

__all__ = ["SplitMixup"]


class SplitMixup:
    """Apply a timm :class:`~timm.data.Mixup` identically to each of ``num_splits`` splits.

    Args:
        mixup: a timm ``Mixup`` in ``mode='batch'`` (per-element modes would give each split different draws).
        num_splits: number of splits in the batch.
    """

    def __init__(self, mixup: Mixup, num_splits: int = 3) -> None:
        if mixup.mode != "batch":
            raise ValueError(f"SplitMixup needs Mixup(mode='batch'), got mode={mixup.mode!r}: per-element draws "
                             "would differ between the clean and augmented splits.")
        if num_splits < 1:
            raise ValueError(f"num_splits must be >= 1, got {num_splits}.")
        self.mixup = mixup
        self.num_splits = num_splits

    def __call__(self, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix ``x`` (S*B, C, H, W) in place per split; returns ``(x, soft_target)`` with B soft targets."""
        if x.shape[0] % self.num_splits:
            raise ValueError(f"Batch of {x.shape[0]} is not divisible into {self.num_splits} splits.")
        split = x.shape[0] // self.num_splits
        if split % 2:
            raise ValueError(f"Mixup needs an even number of samples per split, got {split}.")
        if target.shape[0] == x.shape[0]:
            target = target[:split]
        lam, use_cutmix = self.mixup._params_per_batch()
        if lam != 1.0:
            if use_cutmix:
                (yl, yh, xl, xh), lam = cutmix_bbox_and_lam(
                    x.shape, lam, ratio_minmax=self.mixup.cutmix_minmax, correct_lam=self.mixup.correct_lam)
            for s in range(self.num_splits):
                part = x[s * split:(s + 1) * split]
                flipped = part.flip(0)
                if use_cutmix:
                    part[:, :, yl:yh, xl:xh] = flipped[:, :, yl:yh, xl:xh]
                else:
                    part.mul_(lam).add_(flipped.mul_(1.0 - lam))
        soft = mixup_target(target, self.mixup.num_classes, lam, self.mixup.label_smoothing)
        return x, soft
