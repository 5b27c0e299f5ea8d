"""Noise corruptions: gaussian_noise, shot_noise, impulse_noise, speckle_noise.

Each of these changes every sub-pixel independently, with the reference output
``np.uint8(np.clip(f(v / 255, noise), 0, 1) * 255)``: given the input value ``v`` (0..255) the output is a discrete
distribution over 0..255. For gaussian, speckle and shot noise we tabulate that distribution exactly (normal CDF,
Poisson pmf) once per parameter (``noise_cdf``) and sample it by inverse transform with one uniform per sub-pixel: the
same law as the reference, without drawing normal or Poisson variates. Impulse noise uses one uniform per sub-pixel.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special, stats

from ._rng import raw_words
from .kernels import impulse_kernel, sample_from_thresholds
from .params import SizeParams

__all__ = ["gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "noise_cdf", "sample_noise"]

_V = np.arange(256, dtype=np.float64)


def _finish(cdf: np.ndarray) -> np.ndarray:
    cdf = np.clip(cdf, 0.0, 1.0)
    cdf = np.maximum.accumulate(cdf, axis=1)
    cdf[:, 255] = 1.0
    return np.ascontiguousarray(cdf)


@lru_cache(maxsize=64)
def noise_cdf(kind: str, c: float) -> np.ndarray:
    """``cdf[v, o] = P(output <= o | input v)`` (256 x 256, float64) for one noise kind and parameter ``c``."""
    upper = (_V[None, :] + 1.0) / 255.0  # output <= o  <=>  value * 255 < o + 1
    x = (_V / 255.0)[:, None]
    if kind == "gaussian":
        return _finish(special.ndtr((upper - x) / c))
    if kind == "speckle":
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (upper - x) / (x * c)
        cdf = special.ndtr(z)
        cdf[0, :] = 1.0  # x == 0: no noise, output 0
        return _finish(cdf)
    if kind == "shot":
        kmax = int(np.ceil(c))
        k = np.arange(kmax + 1, dtype=np.float64)
        out_k = np.uint8(np.clip(k / c, 0, 1) * 255)  # same arithmetic as the reference
        lam = (x * c)[:, 0]
        pmf = stats.poisson.pmf(k[None, :kmax], lam[:, None])
        tail = stats.poisson.sf(kmax - 1, lam)  # P(k >= kmax): output 255
        mass = np.zeros((256, 256))
        for j in range(kmax):
            mass[:, out_k[j]] += pmf[:, j]
        mass[:, 255] += tail
        mass[0, :] = 0.0
        mass[0, 0] = 1.0
        return _finish(np.cumsum(mass, axis=1))
    if kind == "impulse":
        mass = np.zeros((256, 256))
        mass[np.arange(256), np.arange(256)] = 1.0 - c
        mass[:, 0] += c / 2  # pepper
        mass[:, 255] += c / 2  # salt
        return _finish(np.cumsum(mass, axis=1))
    raise ValueError(f"unknown noise kind {kind!r}")


_GUIDE_BINS = 1024


@lru_cache(maxsize=64)
def _guide(kind: str, c: float) -> np.ndarray:
    cdf = noise_cdf(kind, c)
    b = np.arange(_GUIDE_BINS) / _GUIDE_BINS
    return np.stack([np.searchsorted(row, b, side="right") for row in cdf]).clip(0, 255).astype(np.int16)


@lru_cache(maxsize=64)
def _integer_tables(kind: str, c: float) -> tuple[np.ndarray, np.ndarray]:
    """``ceil(cdf * 2**24)`` (uint32) and a 1024-bin uint8 guide, for ``sample_from_thresholds``."""
    cdf = noise_cdf(kind, c)
    thresholds = np.ceil(cdf * float(1 << 24)).astype(np.uint32)
    return np.ascontiguousarray(thresholds), _guide(kind, c).astype(np.uint8)


def _random_words(shape: tuple[int, ...], rngs: list[np.random.Generator]) -> np.ndarray:
    """Per image, the generator's next 32-bit outputs (the ones ``random(dtype=float32)`` would turn into floats)."""
    n = shape[0]
    per = int(np.prod(shape[1:]))
    words = np.empty((n, per + per % 2), dtype=np.uint32)
    for i, g in enumerate(rngs):
        words[i] = raw_words(g, (per + 1) // 2).view("<u4")
    return words[:, :per].reshape(shape)


def _uniforms(shape: tuple[int, ...], rngs: list[np.random.Generator]) -> np.ndarray:
    u = np.empty(shape, dtype=np.float32)
    for i, g in enumerate(rngs):
        g.random(out=u[i], dtype=np.float32)
    return u


def sample_noise(x: np.ndarray, kind: str, c: float, rngs: list[np.random.Generator]) -> np.ndarray:
    """Inverse-transform sampling with one uniform per sub-pixel, from raw random words and integer thresholds
    (identical draws to ``sample_from_cdf`` on ``rng.random(dtype=float32)``); the -P noise sequences draw their
    frames with it too."""
    words = _random_words(x.shape, rngs)
    out = np.empty_like(x)
    thresholds, guide = _integer_tables(kind, float(c))
    sample_from_thresholds(np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(words).reshape(-1), thresholds,
                           guide, out.reshape(-1))
    return out


def gaussian_noise(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Additive N(0, c) noise on [0, 1] values."""
    return sample_noise(x, "gaussian", p.value, rngs)


def shot_noise(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Poisson(x * c) / c."""
    return sample_noise(x, "shot", p.value, rngs)


def impulse_noise(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Salt and pepper on each sub-pixel with probability c (half salt, half pepper), as skimage ``s&p``."""
    u = _uniforms(x.shape, rngs)
    out = np.empty_like(x)
    impulse_kernel(np.ascontiguousarray(x).reshape(-1), u.reshape(-1), float(p.value), out.reshape(-1))
    return out


def speckle_noise(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Multiplicative noise x + x * N(0, c)."""
    return sample_noise(x, "speckle", p.value, rngs)
