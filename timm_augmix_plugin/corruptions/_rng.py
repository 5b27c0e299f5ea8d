"""Raw generator output as bytes, for the corruptions that draw whole words at a time (glass blur, impulse noise).

The per-image generators themselves come from :mod:`timm_augmix_plugin.utils.seeds` (``image_generators``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["raw_words"]


def raw_words(g: np.random.Generator, count: int) -> np.ndarray:
    """``g``'s next ``count`` raw 64-bit outputs as little-endian uint64, so byte views match on every platform."""
    return g.bit_generator.random_raw(count).astype("<u8", copy=False)
