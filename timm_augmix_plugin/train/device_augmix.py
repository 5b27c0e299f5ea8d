"""``augmix.backend: batched``: AugMix on the training device, after the loader.

The loader delivers uint8 crops; :class:`DeviceAugMix` turns each micro-batch into the split-major
``cat([clean, aug_1, ...])`` batch the JSD loss expects (or one AugMix view per image when ``num_splits == 1``),
with every sample drawing its own chains, ops, levels and weights. Its parameter generator is seeded from
``(train.seed, process index)`` and checkpointed, so a resumed run continues the same stream.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from timm_augmix_plugin.augmix import BatchedAugMix

from ..utils.seeds import process_seed
from .recipe import Recipe

__all__ = ["DeviceAugMix"]


class DeviceAugMix:
    """Batched per-sample AugMix for the training loop (see the module docstring)."""

    def __init__(self, recipe: Recipe, mean: Sequence[float], std: Sequence[float], device: torch.device,
                 process_index: int = 0) -> None:
        self.num_splits = recipe.augmix.num_splits
        self.generator = torch.Generator().manual_seed(process_seed(recipe.train.seed, process_index))
        self.module = BatchedAugMix(recipe.augmix.policy, mean=mean, std=std, num_views=max(self.num_splits - 1, 1),
                                    generator=self.generator).to(device)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, C, H, W) crops -> normalised float (num_splits * B, C, H, W), split-major."""
        views = self.module(images)
        return torch.cat(views) if self.num_splits > 1 else views[1]

    def state_dict(self) -> dict:
        """The parameter generator's state (for ``accelerator.register_for_checkpointing``)."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`."""
        self.generator.set_state(state["generator"])
