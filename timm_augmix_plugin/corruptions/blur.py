"""Blur corruptions: defocus_blur, glass_blur, motion_blur, zoom_blur, gaussian_blur.

Batched re-implementations of the reference algorithms (no OpenCV, no ImageMagick): the defocus disk kernel is built
and antialiased like ``cv2.GaussianBlur`` and applied with ``BORDER_REFLECT_101``; glass blur replays the reference's
sequential copy-not-swap loop in compiled code; motion blur is ImageMagick's ``MotionBlurImage`` (one-sided Gaussian
line kernel, edge pixels replicated, 8-bit result); zoom blur averages the image with bilinear centre zooms computed
as ``scipy.ndimage.zoom(order=1)`` does.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ._filters import correlate2d, gaussian_filter, to_uint8
from ._kernels import glass_shuffle, motion_blur_batch, zoom_accumulate
from .params import SizeParams

__all__ = ["defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "gaussian_blur", "disk_kernel",
           "motion_kernel", "motion_offsets"]


def _cv2_gaussian_1d(ksize: int, sigma: float) -> np.ndarray:
    t = np.arange(ksize, dtype=np.float64) - (ksize - 1) / 2
    w = np.exp(-(t ** 2) / (2 * sigma * sigma))
    return w / w.sum()


@lru_cache(maxsize=64)
def disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """The reference's antialiased disk: at least 17 x 17, Gaussian-smoothed (3 x 3, or 5 x 5 beyond radius 8)."""
    if radius <= 8:
        half, ksize = 8, 3
    else:
        half, ksize = int(math.ceil(radius)), 5
    t = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(t, t)
    disk = ((xx ** 2 + yy ** 2) <= radius ** 2).astype(np.float64)
    disk /= disk.sum()
    g = _cv2_gaussian_1d(ksize, alias_blur)
    r = ksize // 2
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        p = np.pad(disk, pad, mode="reflect")
        n = disk.shape[axis]
        disk = sum(w * (p[k:k + n] if axis == 0 else p[:, k:k + n]) for k, w in enumerate(g))
    kernel = np.asarray(disk, dtype=np.float32)
    rows, cols = np.nonzero(kernel)
    rr = max(abs(rows - half).max(), abs(cols - half).max())
    return kernel[half - rr:half + rr + 1, half - rr:half + rr + 1]


def defocus_blur(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Convolution with an antialiased disk of the given radius."""
    radius, alias = p.value
    y = x.astype(np.float32) * np.float32(1 / 255)
    return to_uint8(correlate2d(y, disk_kernel(float(radius), float(alias)), mode="mirror"))


def gaussian_blur(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """skimage ``filters.gaussian`` with the given sigma (edge-replicated border, truncate 4)."""
    y = x.astype(np.float32) * np.float32(1 / 255)
    return to_uint8(gaussian_filter(y, float(p.value), mode="nearest"))


def glass_blur(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Gaussian blur, local pixel shuffling (copy from a random neighbour in [-d, d) ), Gaussian blur again."""
    sigma, delta, iterations = p.value
    delta, iterations = int(delta), int(iterations)
    n, h, w, _ = x.shape
    y = to_uint8(gaussian_filter(x.astype(np.float32) * np.float32(1 / 255), sigma, mode="nearest"))
    npos = max(h - 2 * delta, 0) * max(w - 2 * delta, 0)
    offsets = np.empty((n, iterations, npos, 2), dtype=np.int16)
    for i, g in enumerate(rngs):
        offsets[i] = g.integers(-delta, delta, size=(iterations, npos, 2), dtype=np.int16)
    glass_shuffle(y, offsets, delta)
    return to_uint8(gaussian_filter(y.astype(np.float32) * np.float32(1 / 255), sigma, mode="nearest"))


def motion_kernel(radius: float, sigma: float) -> np.ndarray:
    """ImageMagick's one-sided motion kernel: width ``2 * ceil(radius) + 1``, weights ``exp(-i^2 / 2 sigma^2)``."""
    width = int(2 * math.ceil(radius) + 1)
    i = np.arange(width, dtype=np.float64)
    k = np.exp(-(i * i) / (2 * sigma * sigma))
    return (k / k.sum()).astype(np.float32)


def motion_offsets(width: int, angles_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer (dx, dy) per kernel tap and image, ``ceil(i * cos(a) - 0.5)`` and ``ceil(i * sin(a) - 0.5)``."""
    i = np.arange(width, dtype=np.float64)[None, :]
    a = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))[:, None]
    return (np.ceil(i * np.cos(a) - 0.5).astype(np.int64), np.ceil(i * np.sin(a) - 0.5).astype(np.int64))


def motion_blur_images(x: np.ndarray, radius: float, sigma: float, angles_deg: np.ndarray) -> np.ndarray:
    """Motion-blur a float32 batch (values 0..255) at one angle per image; returns float32, not rounded."""
    k = motion_kernel(radius, sigma)
    ox, oy = motion_offsets(k.size, angles_deg)
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    motion_blur_batch(x, k, ox, oy, out)
    return out


def motion_blur(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Motion blur along an angle drawn from U(-45, 45) degrees per image; 8-bit rounding as the PNG round trip."""
    radius, sigma = p.value
    angles = np.array([g.uniform(-45, 45) for g in rngs])
    y = motion_blur_images(x.astype(np.float32), float(radius), float(sigma), angles)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def _zoom_axis(n: int, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices/weights of the clipped centre zoom along one axis for every factor."""
    i0 = np.empty((len(factors), n), dtype=np.int64)
    i1 = np.empty_like(i0)
    wt = np.empty((len(factors), n), dtype=np.float32)
    for f, z in enumerate(factors):
        ch = int(np.ceil(n / z))
        top = (n - ch) // 2
        zn = int(round(ch * z))
        trim = (zn - n) // 2
        scale = (ch - 1) / (zn - 1) if zn > 1 else 0.0
        src = (np.arange(n) + trim) * scale
        lo = np.floor(src).astype(np.int64)
        lo = np.minimum(lo, ch - 1)
        i0[f] = top + lo
        i1[f] = top + np.minimum(lo + 1, ch - 1)
        wt[f] = (src - lo).astype(np.float32)
    return i0, i1, wt


def zoom_blur(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Average of the image and its centre zooms by each factor (bilinear, cropped back to size)."""
    factors = np.asarray(p.value, dtype=np.float64)
    n, h, w, _ = x.shape
    y = x.astype(np.float32) * np.float32(1 / 255)
    y0, y1, wy = _zoom_axis(h, factors)
    x0, x1, wx = _zoom_axis(w, factors)
    out = y.copy()
    zoom_accumulate(y, y0, y1, wy, x0, x1, wx, out)
    out *= np.float32(1.0 / (len(factors) + 1))
    return to_uint8(out)
