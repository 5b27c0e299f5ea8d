"""Per-image random generators keyed by (seed, corruption, severity, image index).

Every image gets its own ``numpy.random.Generator`` built from a ``SeedSequence`` whose entropy is the user seed and
whose spawn key is ``(corruption id, severity, image index)``. Results therefore do not depend on batch size, on how
a dataset is split between workers, or on which other images are in the batch.
"""
from __future__ import annotations

import zlib

import numpy as np

__all__ = ["image_generators", "indexed_generators", "fresh_seed", "raw_words"]


def _name_id(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def fresh_seed() -> int:
    """A non-deterministic 63-bit seed from the OS entropy pool (used when no seed is given)."""
    return int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)


def image_generators(seed: int, name: str, severity: int, start_index: int, count: int) -> list[np.random.Generator]:
    """One generator per image ``start_index .. start_index + count - 1``.

    Args:
        seed: user seed (non-negative int).
        name: corruption name (part of the key, so corruptions draw independent noise).
        severity: 1..5 (part of the key).
        start_index: global index of the first image (make-c passes the dataset index).
        count: number of images.
    """
    return indexed_generators(seed, name, severity, range(start_index, start_index + count))


def indexed_generators(seed: int, name: str, severity: int, indices) -> list[np.random.Generator]:
    """One generator per global image index in ``indices`` (any order; e.g. an evenly spread subset)."""
    key = _name_id(name)
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key, severity, int(i)))))
            for i in indices]


def raw_words(g: np.random.Generator, count: int) -> np.ndarray:
    """``g``'s next ``count`` raw 64-bit outputs as little-endian uint64, so byte views match on every platform."""
    return g.bit_generator.random_raw(count).astype("<u8", copy=False)
