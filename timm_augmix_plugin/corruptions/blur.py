"""Blur corruptions: defocus_blur, glass_blur, motion_blur, zoom_blur, gaussian_blur.

Batched re-implementations of the reference algorithms (no ImageMagick; OpenCV optional, for filters on images of
48 x 48 px and more): the defocus disk kernel is built and antialiased like ``cv2.GaussianBlur`` and applied with
``BORDER_REFLECT_101`` (at large sizes as running-sum disk sums plus a separable antialiasing filter when that product
is exactly the kernel); glass blur replays the reference's sequential copy-not-swap loop in compiled code; motion blur
is ImageMagick's ``MotionBlurImage`` (one-sided Gaussian line kernel, edge pixels replicated, 8-bit result); zoom blur
averages the image with bilinear centre zooms computed as ``scipy.ndimage.zoom(order=1)`` does (align-corners
sampling of the centre crop, which ``cv2.resize``'s half-pixel sampling does not reproduce).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import opencv
from ._rng import raw_words
from .filters import correlate2d, gaussian_filter, to_uint8
from .kernels import (
    disk_sum,
    glass_shuffle,
    glass_shuffle_bytes,
    motion_blur_batch,
    zoom_accumulate,
    zoom_accumulate_flat,
)
from .params import SizeParams

__all__ = ["defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "gaussian_blur", "disk_kernel",
           "motion_kernel", "motion_offsets"]


def _cv2_gaussian_1d(ksize: int, sigma: float) -> np.ndarray:
    t = np.arange(ksize, dtype=np.float64) - (ksize - 1) / 2
    w = np.exp(-(t ** 2) / (2 * sigma * sigma))
    return w / w.sum()


def _disk_and_blur(radius: float, alias_blur: float) -> tuple[int, np.ndarray, np.ndarray]:
    """The reference's disk on its (2 half + 1)^2 grid, normalised (float64), and the 1-D antialiasing Gaussian."""
    if radius <= 8:
        half, ksize = 8, 3
    else:
        half, ksize = int(math.ceil(radius)), 5
    t = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(t, t)
    disk = ((xx ** 2 + yy ** 2) <= radius ** 2).astype(np.float64)
    disk /= disk.sum()
    return half, disk, _cv2_gaussian_1d(ksize, alias_blur)


@lru_cache(maxsize=64)
def disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """The reference's antialiased disk: at least 17 x 17, Gaussian-smoothed (3 x 3, or 5 x 5 beyond radius 8)."""
    half, disk, g = _disk_and_blur(radius, alias_blur)
    ksize = g.size
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


@lru_cache(maxsize=64)
def disk_factors(radius: float, alias_blur: float) -> tuple[np.ndarray, float, np.ndarray] | None:
    """``disk_kernel`` as a flat disk followed by the separable antialiasing Gaussian, when that is exact.

    Returns ``(widths, 1 / disk_count, g)``: the half-width of each disk row (-1 for an empty row; the disk is
    symmetric, so these are also the half-heights of its columns), the disk weight
    and the 1-D Gaussian; or None when the disk reaches the kernel grid's border (radius >= 8), where the reference's
    reflected antialiasing makes the kernel differ from that product.
    """
    half, disk, g = _disk_and_blur(radius, alias_blur)
    r = g.size // 2
    full = np.zeros((disk.shape[0] + 2 * r,) * 2)
    gg = np.outer(g, g)
    for i, j in np.argwhere(disk > 0):
        full[i:i + g.size, j:j + g.size] += disk[i, j] * gg
    kernel = disk_kernel(radius, alias_blur).astype(np.float64)
    k = kernel.shape[0] // 2
    c = half + r
    embedded = np.zeros_like(full)
    embedded[c - k:c + k + 1, c - k:c + k + 1] = kernel
    if np.abs(embedded - full).max() > 1e-7:  # float32 rounding of the kernel is ~1e-9
        return None
    rd = math.floor(radius)
    rows = disk[half - rd:half + rd + 1] > 0
    widths = np.where(rows.any(axis=1), rows.sum(axis=1) // 2, -1).astype(np.int64)
    return widths, float(disk.max()), g


def defocus_blur(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Convolution with an antialiased disk of the given radius.

    With OpenCV at 48 x 48 px and above, when the kernel factors exactly (``disk_factors``), the flat disk is summed
    with running sums down the columns (``disk_sum``, mirrored border) and the antialiasing applied as a separable
    filter (``cv2.sepFilter2D``, mirrored border): for symmetric kernels and a mirrored border this is the same
    correlation as the 2-D kernel, up to float rounding, and cheaper. Otherwise ``correlate2d`` (``cv2.filter2D`` or the
    numpy paths).
    """
    radius, alias = float(p.value[0]), float(p.value[1])
    n, h, w, _ = x.shape
    y = x.astype(np.float32) * np.float32(1 / 255)
    factors = disk_factors(radius, alias)
    cv2 = opencv.opencv(h * w)
    if cv2 is None or factors is None or len(factors[0]) // 2 + 2 >= min(h, w):
        return to_uint8(correlate2d(y, disk_kernel(radius, alias), mode="mirror"))
    widths, weight, g = factors
    pad = len(widths) // 2
    yp = np.pad(y, [(0, 0), (pad, pad), (pad, pad), (0, 0)], mode="reflect")  # numpy 'reflect' = REFLECT_101
    sums = np.empty(y.shape, dtype=np.float32)
    disk_sum(yp, widths, pad, sums)
    gx = (g * weight).astype(np.float32)
    gy = g.astype(np.float32)
    out = np.empty(y.shape, dtype=np.float32)
    for i in range(n):
        cv2.sepFilter2D(sums[i], -1, gx, gy, dst=out[i], borderType=cv2.BORDER_REFLECT_101)
    return to_uint8(out)


def gaussian_blur(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """skimage ``filters.gaussian`` with the given sigma (edge-replicated border, truncate 4)."""
    y = x.astype(np.float32) * np.float32(1 / 255)
    return to_uint8(gaussian_filter(y, float(p.value), mode="nearest"))


def _raw_bytes(g: np.random.Generator, words: int) -> np.ndarray:
    """``8 * words`` random bytes from ``g``'s 64-bit outputs, little-endian on every platform."""
    return raw_words(g, words).view(np.uint8)


def glass_blur(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Gaussian blur, local pixel shuffling (copy from a random neighbour in [-d, d) ), Gaussian blur again.

    Offsets are decoded from one random byte each (exactly uniform, see ``glass_shuffle_bytes``), which is several
    times cheaper than drawing bounded integers.
    """
    sigma, delta, iterations = p.value
    delta, iterations = int(delta), int(iterations)
    n, h, w, _ = x.shape
    y = to_uint8(gaussian_filter(x.astype(np.float32) * np.float32(1 / 255), sigma, mode="nearest"))
    npos = max(h - 2 * delta, 0) * max(w - 2 * delta, 0)
    if 2 * delta > 256:  # offsets do not fit a byte (images of thousands of pixels): bounded integers
        offsets = np.empty((n, iterations, npos, 2), dtype=np.int16)
        for i, g in enumerate(rngs):
            offsets[i] = g.integers(-delta, delta, size=(iterations, npos, 2), dtype=np.int16)
        glass_shuffle(y, offsets, delta)
        return to_uint8(gaussian_filter(y.astype(np.float32) * np.float32(1 / 255), sigma, mode="nearest"))
    need = 2 * iterations * npos  # one byte per offset component
    accept = (256 - 256 % (2 * delta)) / 256
    words = (int(need / accept + 8 * math.sqrt(need) + 64) + 7) // 8  # bytes with rejection margin, in 64-bit words
    rand = np.empty((n, words * 8), dtype=np.uint8)
    for i, g in enumerate(rngs):
        rand[i] = _raw_bytes(g, words)
    packed = np.zeros((n, h, w, 4), dtype=np.uint8)  # one uint32 per pixel: a pixel moves in one load/store
    packed[..., :3] = y
    pix = packed.view(np.uint32)[..., 0]
    done = np.zeros(n, dtype=np.uint8)
    glass_shuffle_bytes(pix, rand, delta, iterations, done)
    for i in np.flatnonzero(done == 0):  # practically never: too many rejected bytes; draw more from the same stream
        extra = rand[i]
        while not done[i]:
            extra = np.concatenate([extra, _raw_bytes(rngs[i], words)])
            glass_shuffle_bytes(pix[i:i + 1], extra[None], delta, iterations, done[i:i + 1])
    y = packed[..., :3]
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


@lru_cache(maxsize=64)
def _zoom_tables(h: int, w: int, c: int, factors: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """Index/weight tables of the centre zooms (cached: the batch is processed in many small chunks)."""
    f = np.asarray(factors, dtype=np.float64)
    y0, y1, wy = _zoom_axis(h, f)
    x0, x1, wx = _zoom_axis(w, f)
    ch = np.arange(c)[None, None, :]
    c0 = (x0[:, :, None] * c + ch).reshape(len(f), w * c)  # flat source positions for zoom_accumulate_flat
    c1 = (x1[:, :, None] * c + ch).reshape(len(f), w * c)
    return y0, y1, wy, x0, x1, wx, c0, c1, np.ascontiguousarray(np.repeat(wx, c, axis=1))


# Image size from which zoom blur interpolates rows first (zoom_accumulate_flat); below it the per-row kernel is faster.
_ZOOM_FLAT_PIXELS = 48 * 48


def zoom_blur(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Average of the image and its centre zooms by each factor (bilinear, cropped back to size)."""
    factors = np.asarray(p.value, dtype=np.float64)
    n, h, w, c = x.shape
    y = x.astype(np.float32) * np.float32(1 / 255)
    out = y.copy()
    # a leading factor of exactly 1 (every table row starts there) zooms to the image itself, bit for bit: add it
    # directly, in the same accumulation order
    lead = 0
    while lead < len(factors) and factors[lead] == 1.0:
        out += y
        lead += 1
    if lead == len(factors):
        out *= np.float32(1.0 / (len(factors) + 1))
        return to_uint8(out)
    y0, y1, wy, x0, x1, wx, c0, c1, wc = _zoom_tables(h, w, c, tuple(factors[lead:].tolist()))
    if h * w < _ZOOM_FLAT_PIXELS:
        zoom_accumulate(y, y0, y1, wy, x0, x1, wx, out)
    else:
        zoom_accumulate_flat(y.reshape(n, h, w * c), y0, y1, wy, c0, c1, wc, out.reshape(n, h, w * c))
    out *= np.float32(1.0 / (len(factors) + 1))
    return to_uint8(out)
