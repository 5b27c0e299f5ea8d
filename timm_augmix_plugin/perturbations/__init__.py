"""Perturbation sequences (-P): batched re-implementations of the CIFAR-10-P / Tiny-ImageNet-P / ImageNet-P generators.

``perturb(images, name, seed=...)`` turns each image into the reference's sequence of frames (noise re-drawn,
one-pixel translations, rotations, tilts, zooms, motion blur and snow at moving angles, brightness steps). The
stability metrics (flip probability, top-5 distance) are in :mod:`timm_augmix_plugin.evaluation.stability`.
"""
from __future__ import annotations

from .api import perturb as perturb
from .params import ALL_PERTURBATIONS as ALL_PERTURBATIONS
from .params import NOISE_PERTURBATIONS as NOISE_PERTURBATIONS
from .params import TEST_PERTURBATIONS as TEST_PERTURBATIONS
from .params import VALIDATION_PERTURBATIONS as VALIDATION_PERTURBATIONS
from .params import context_size as context_size
from .params import frame_count as frame_count
from .params import is_noise as is_noise
from .params import resolve_p_params as resolve_p_params

__all__ = ["perturb", "resolve_p_params", "ALL_PERTURBATIONS", "TEST_PERTURBATIONS", "VALIDATION_PERTURBATIONS",
           "NOISE_PERTURBATIONS", "context_size", "frame_count", "is_noise"]
