"""Corruption benchmarks (-C): fast, batched re-implementations of the 19 ImageNet-C / CIFAR-10-C corruptions.

``corrupt(images, name, severity, seed=...)`` applies one corruption with the reference parameters for the image size
(CIFAR 32 px, Tiny-ImageNet 64 px, ImageNet 224 px tables; other sizes use the nearest table with size-scaled spatial
parameters, see :mod:`timm_augmix_plugin.corruptions.params`).
"""
from __future__ import annotations

from .api import CORRUPTION_FUNCTIONS as CORRUPTION_FUNCTIONS
from .api import corrupt as corrupt
from .api import get_corruption as get_corruption
from .params import ALL_CORRUPTIONS as ALL_CORRUPTIONS
from .params import BENCHMARK_CORRUPTIONS as BENCHMARK_CORRUPTIONS
from .params import EXTRA_CORRUPTIONS as EXTRA_CORRUPTIONS
from .params import TABLE_SIZES as TABLE_SIZES
from .params import resolve_params as resolve_params
from .params import select_table as select_table

__all__ = ["corrupt", "get_corruption", "CORRUPTION_FUNCTIONS", "BENCHMARK_CORRUPTIONS", "EXTRA_CORRUPTIONS",
           "ALL_CORRUPTIONS", "TABLE_SIZES", "resolve_params", "select_table"]
