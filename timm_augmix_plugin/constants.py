"""Normalisation constants used by the plugin's models, transforms and evaluation."""
from __future__ import annotations

from timm.data.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

__all__ = [
    "CIFAR_MEAN", "CIFAR_STD", "IMAGENET_CROP_PCT", "PAPER_CIFAR_MEAN", "PAPER_CIFAR_STD", "PRESET_NORMALIZATION",
]

#: CIFAR-10 channel mean / std (as in the AugMix repository's ``augment_and_mix.py``), used by the plugin's
#: CIFAR models.
CIFAR_MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
CIFAR_STD: tuple[float, float, float] = (0.2023, 0.1994, 0.2010)
#: The normalisation ``cifar.py`` of the paper's code trains with.
PAPER_CIFAR_MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
PAPER_CIFAR_STD: tuple[float, float, float] = (0.5, 0.5, 0.5)
#: timm's default evaluation crop fraction (short side resized to ``floor(size / crop_pct)``, then centre-cropped).
IMAGENET_CROP_PCT = 0.875
#: ``(mean, std)`` of each ``create_augmix_transform`` preset, for callers that give no mean / std (no model to
#: resolve a data config from): CIFAR statistics for ``cifar`` and ``none``, timm's ImageNet defaults for
#: ``imagenet``.
PRESET_NORMALIZATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar": (CIFAR_MEAN, CIFAR_STD),
    "imagenet": (tuple(IMAGENET_DEFAULT_MEAN), tuple(IMAGENET_DEFAULT_STD)),
    "none": (CIFAR_MEAN, CIFAR_STD),
}
