"""Per-image random generators keyed by (seed, corruption, severity, image index); the seeding is
:mod:`timm_augmix_plugin.utils.seeds`'s.

Every image gets its own ``numpy.random.Generator`` built from a ``SeedSequence`` whose entropy is the user seed and
whose spawn key is ``(corruption id, severity, image index)``. Results therefore do not depend on batch size, on how
a dataset is split between workers, or on which other images are in the batch.
"""
from __future__ import annotations

import numpy as np

from ..utils.seeds import fresh_seed, image_generators, indexed_generators

__all__ = ["fresh_seed", "image_generators", "indexed_generators", "raw_words"]


def raw_words(g: np.random.Generator, count: int) -> np.ndarray:
    """``g``'s next ``count`` raw 64-bit outputs as little-endian uint64, so byte views match on every platform."""
    return g.bit_generator.random_raw(count).astype("<u8", copy=False)
