"""Spatter (extra corruption): water drops (mode 0) or mud (mode 1) from a thresholded, blurred Gaussian field.

The water branch follows the reference's OpenCV pipeline with numpy/scipy equivalents: Canny edges (Sobel 3 x 3,
L1 magnitude, non-maximum suppression, hysteresis 50/150), Euclidean distance to the nearest edge truncated at 20,
3 x 3 box blur, histogram equalisation, an emboss filter and another box blur; the result modulates a pale-turquoise
(175, 238, 238) overlay. The mud branch darkens the image toward brown (63, 42, 20) where the blurred drop mask is
at least 0.8.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .filters import correlate2d, gaussian_filter, to_uint8
from .params import SizeParams

__all__ = ["spatter", "canny", "equalize_hist", "liquid_layers", "water_mask", "WATER_COLOUR"]

_BOX3 = np.full((3, 3), 1 / 9, dtype=np.float32)
_EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float32)
#: The pale-turquoise overlay of the water drops, RGB in [0, 1].
WATER_COLOUR = np.array([175, 238, 238], dtype=np.float32) / 255


def canny(img: np.ndarray, low: float = 50, high: float = 150) -> np.ndarray:
    """Binary edge map (bool) of a uint8 image, following ``cv2.Canny(img, low, high)`` (aperture 3, L1 norm)."""
    f = img.astype(np.float32)
    p = np.pad(f, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    mag = np.abs(gx) + np.abs(gy)
    m = np.pad(mag, 1, mode="constant")
    ax, ay = np.abs(gx), np.abs(gy)
    tg22, tg67 = np.tan(np.deg2rad(22.5)), np.tan(np.deg2rad(67.5))
    horiz = ay < ax * tg22
    vert = ay > ax * tg67
    diag = ~(horiz | vert)
    s = np.where(gx * gy < 0, -1, 1)
    h, w = img.shape
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    c = m[1:-1, 1:-1]
    keep = np.zeros_like(c, dtype=bool)
    keep |= horiz & (c > m[1:-1, :-2]) & (c >= m[1:-1, 2:])
    keep |= vert & (c > m[:-2, 1:-1]) & (c >= m[2:, 1:-1])
    d1 = m[ii, jj + 1 - s]  # (i - 1, j - s) in padded coordinates
    d2 = m[ii + 2, jj + 1 + s]  # (i + 1, j + s)
    keep |= diag & (c > d1) & (c > d2)
    cand = keep & (mag > low)
    labels, count = ndimage.label(cand, structure=np.ones((3, 3)))
    if count == 0:
        return cand
    strong = np.zeros(count + 1, dtype=bool)
    strong[np.unique(labels[cand & (mag > high)])] = True
    strong[0] = False
    return strong[labels]


def equalize_hist(img: np.ndarray) -> np.ndarray:
    """``cv2.equalizeHist`` for a uint8 image."""
    hist = np.bincount(img.reshape(-1), minlength=256)
    nz = np.flatnonzero(hist)
    first = nz[0]
    total = img.size
    if hist[first] == total:
        return np.full_like(img, first)
    scale = 255.0 / (total - hist[first])
    lut = np.clip(np.rint((np.cumsum(hist) - hist[first]) * scale), 0, 255).astype(np.uint8)
    lut[: first + 1] = 0
    return lut[img]


def liquid_layers(rngs: list[np.random.Generator], h: int, w: int, loc: float, scale: float, sigma: float,
                  threshold: float) -> np.ndarray:
    """One liquid layer per generator, float32 (N, H, W): normal(loc, scale) noise, Gaussian-blurred (``sigma``,
    edge-replicated border), zero below ``threshold``."""
    liquid = np.empty((len(rngs), h, w), dtype=np.float32)
    for i, g in enumerate(rngs):
        liquid[i] = g.normal(loc, scale, size=(h, w))
    liquid = gaussian_filter(liquid, float(sigma), mode="nearest")
    liquid[liquid < threshold] = 0
    return liquid


def water_mask(liquid: np.ndarray) -> np.ndarray:
    """The water-drop overlay strength (float32 (H, W), max 1) of one liquid layer: embossed distance to its edges."""
    layer8 = (np.clip(liquid, 0, 1) * 255).astype(np.uint8)
    edges = canny(layer8, 50, 150)
    if edges.any():
        dist = ndimage.distance_transform_edt(~edges).astype(np.float32)
    else:
        dist = np.full(liquid.shape, 20, dtype=np.float32)
    dist = np.minimum(dist, 20)
    dist = correlate2d(dist[None, ..., None], _BOX3, "mirror")[0, ..., 0].astype(np.uint8)
    dist = equalize_hist(dist)
    emb = correlate2d(dist.astype(np.float32)[None, ..., None], _EMBOSS, "mirror")[0, ..., 0]
    dist = np.clip(np.rint(emb), 0, 255).astype(np.uint8).astype(np.float32)
    dist = correlate2d(dist[None, ..., None], _BOX3, "mirror")[0, ..., 0]
    m = layer8.astype(np.float32) * dist
    mx = m.max()
    return m / mx if mx > 0 else m


def spatter(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Water (mode 0) or mud (mode 1) spatter."""
    loc, scale, sigma, threshold, intensity, mode = p.value
    n, h, w, _ = x.shape
    liquid = liquid_layers(rngs, h, w, loc, scale, sigma, threshold)
    y = x.astype(np.float32) * np.float32(1 / 255)
    if int(mode) == 0:
        m = np.stack([water_mask(liquid[i]) for i in range(n)]) * np.float32(intensity)
        return to_uint8(y + m[..., None] * WATER_COLOUR)
    mask = (liquid > threshold).astype(np.float32)
    mask = gaussian_filter(mask, float(intensity), mode="nearest")
    mask[mask < 0.8] = 0
    colour = np.array([63, 42, 20], dtype=np.float32) / 255
    return to_uint8(y * (1 - mask[..., None]) + colour * mask[..., None])
