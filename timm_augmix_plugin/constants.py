"""Normalisation constants used by the plugin's models, transforms and evaluation."""
from __future__ import annotations

#: CIFAR-10 channel mean / std (as in the AugMix repository's ``augment_and_mix.py``), used by the plugin's
#: CIFAR models.
CIFAR_MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
CIFAR_STD: tuple[float, float, float] = (0.2023, 0.1994, 0.2010)
#: The normalisation ``cifar.py`` of the paper's code trains with.
PAPER_CIFAR_MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
PAPER_CIFAR_STD: tuple[float, float, float] = (0.5, 0.5, 0.5)
