"""Every seed derivation of the package: pure functions of a user seed and a key, so that results do not depend on
batch size, worker count, process sharding or the order in which samples are drawn.

* :func:`mix_seed`: a 63-bit torch seed of ``(seed, stream, index)`` (training samples: run seed, epoch, index);
* :func:`process_seed`: the seed of one training process's parameter generator (device-side AugMix);
* :func:`image_generators` / :func:`indexed_generators`: one numpy generator per image of a -C corruption, keyed by
  ``(corruption, severity, image index)`` through ``SeedSequence`` spawn keys;
* :func:`sample_seed`: a 32-bit seed per generated -C sample for a corruption function without ``start_index``
  (eval-c ``--generate``);
* :func:`fresh_seed`: a non-deterministic seed when none is given.

The formulas are fixed: changing one changes every generated image and figure.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np

__all__ = ["fresh_seed", "image_generators", "indexed_generators", "mix_seed", "name_key", "process_seed",
           "sample_seed"]

_SEED_MODULUS = 2**63 - 1


def name_key(name: str) -> int:
    """A stable 32-bit integer for a name (CRC-32 of its UTF-8 bytes), for seed keys."""
    return zlib.crc32(name.encode("utf-8"))


def mix_seed(seed: int, stream: int, index: int) -> int:
    """A 63-bit seed that is a pure function of ``(seed, stream, index)``, e.g. (run seed, epoch, sample index)."""
    return ((int(seed) * 1_000_003 + int(stream)) * 2_147_483_647 + int(index)) % _SEED_MODULUS


def process_seed(seed: int, process_index: int) -> int:
    """The seed of process ``process_index``'s generator in a run seeded with ``seed`` (distinct per process)."""
    return int(seed) * 1009 + int(process_index)


def fresh_seed() -> int:
    """A non-deterministic 63-bit seed from the OS entropy pool (used when no seed is given)."""
    return int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)


def image_generators(seed: int, name: str, severity: int, start_index: int, count: int) -> list[np.random.Generator]:
    """One numpy generator per image ``start_index .. start_index + count - 1``.

    Args:
        seed: user seed (non-negative int).
        name: corruption name (part of the key, so corruptions draw independent noise).
        severity: 1..5 (part of the key).
        start_index: global index of the first image (make-c passes the dataset index).
        count: number of images.
    """
    return indexed_generators(seed, name, severity, range(start_index, start_index + count))


def indexed_generators(seed: int, name: str, severity: int, indices: Iterable[int]) -> list[np.random.Generator]:
    """One numpy generator per global image index in ``indices`` (any order; e.g. an evenly spread subset).

    Each is a PCG64 from ``SeedSequence(seed, spawn_key=(name_key(name), severity, index))``.
    """
    key = name_key(name)
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key, severity, int(i)))))
            for i in indices]


def sample_seed(seed: int, corruption: str, severity: int, index: int) -> int:
    """A 32-bit seed for one generated sample, a pure function of ``(seed, corruption, severity, index)``.

    From ``SeedSequence([seed mod 2**32, name_key(corruption), severity, index])``, so it does not depend on process
    sharding or worker order.
    """
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, name_key(corruption), severity, index])
    return int(state.generate_state(1, dtype=np.uint32)[0])
