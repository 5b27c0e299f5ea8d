"""Weather corruptions: snow, frost, fog, brightness.

Snow is generated as in the reference (Gaussian snow layer, centre zoom, threshold, 8-bit, ImageMagick-style motion
blur at an angle in U(-135, -45), added twice, the second copy rotated by 180 degrees) with the motion blur done by our
own kernel instead of Wand. Fog is the reference's diamond-square plasma fractal, vectorised over the batch.
"""
from __future__ import annotations

import numpy as np

from .blur import _zoom_tables, motion_blur_images
from .frost_assets import load_frost_textures
from .kernels import brightness_kernel, fog_combine, plasma_fill, snow_combine, zoom_accumulate_flat
from .params import SizeParams

__all__ = ["snow", "frost", "fog", "brightness", "plasma_fractal_batch", "snow_layers", "snow_streaks"]


def _zoom_plane(layer: np.ndarray, factor: float) -> np.ndarray:
    """Clipped centre zoom (bilinear) of a batch of single-channel float32 planes (N, H, W)."""
    n, h, w = layer.shape
    y0, y1, wy, _, _, _, c0, c1, wc = _zoom_tables(h, w, 1, (float(factor),))
    out = np.zeros((n, h, w), dtype=np.float32)
    zoom_accumulate_flat(np.ascontiguousarray(layer, dtype=np.float32), y0, y1, wy, c0, c1, wc, out)
    return out


def snow_layers(rngs: list[np.random.Generator], h: int, w: int, loc: float, scale: float, zoom: float,
                threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Per image the reference's 8-bit snow layer (N, H, W) float32 0..255 and a streak angle from U(-135, -45).

    Each generator draws the Gaussian layer, then the angle (the -P snow sequences draw the angle too and use their
    own angles, so both keep the same random stream).
    """
    n = len(rngs)
    layer = np.empty((n, h, w), dtype=np.float32)
    angles = np.empty(n)
    for i, g in enumerate(rngs):
        g.standard_normal(out=layer[i], dtype=np.float32)
        angles[i] = g.uniform(-135, -45)
    layer *= np.float32(scale)
    layer += np.float32(loc)
    layer = _zoom_plane(layer, float(zoom))
    layer[layer < threshold] = 0
    return (np.clip(layer, 0, 1) * 255).astype(np.uint8).astype(np.float32), angles


def snow_streaks(layer8: np.ndarray, radius: float, sigma: float, angles: np.ndarray) -> np.ndarray:
    """Motion-blurred snow layers (N, H, W) float32, rounded to 8 bits as the reference's PNG round trip."""
    streaks = motion_blur_images(layer8[..., None], float(radius), float(sigma), angles)
    return np.clip(np.rint(streaks[..., 0]), 0, 255)


def snow(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Snow flakes streaked by motion blur, over a brightened, greyed image."""
    loc, scale, zoom, threshold, mb_radius, mb_sigma, blend = p.value
    n, h, w, _ = x.shape
    layer8, angles = snow_layers(rngs, h, w, loc, scale, zoom, threshold)
    streaks = snow_streaks(layer8, mb_radius, mb_sigma, angles)
    out = np.empty_like(x)
    snow_combine(np.ascontiguousarray(x), np.ascontiguousarray(streaks), float(blend), out)
    return out


def frost(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Blend with a random crop of one of the five frost textures: ``c0 * x + c1 * frost``."""
    img_w, frost_w = p.value
    n, h, w, _ = x.shape
    textures = load_frost_textures(round(p.frost_scale, 6), h, w)
    layer = np.empty((n, h, w, 3), dtype=np.float32)
    for i, g in enumerate(rngs):
        t = textures[int(g.integers(5))]
        r0 = int(g.integers(0, t.shape[0] - h))
        c0 = int(g.integers(0, t.shape[1] - w))
        layer[i] = t[r0:r0 + h, c0:c0 + w]
    y = np.float32(img_w) * x.astype(np.float32) + np.float32(frost_w) * layer
    return np.clip(y, 0, 255).astype(np.uint8)


def _plasma_raw(n: int, mapsize: int, wibbledecay: float, rngs: list[np.random.Generator]) -> np.ndarray:
    """Unnormalised diamond-square maps (N, mapsize, mapsize) float64 (see ``plasma_fractal_batch``)."""
    m = mapsize
    counts = []
    step = m
    while step >= 2:
        k = (m // step) ** 2
        counts += [k, k, k]
        step //= 2
    u = np.empty((n, sum(counts)))
    for i, g in enumerate(rngs):
        g.random(out=u[i])
    u *= 2.0
    u -= 1.0
    grid = np.zeros((n, m, m))
    plasma_fill(u, m, float(wibbledecay), grid)
    return grid


def plasma_fractal_batch(n: int, mapsize: int, wibbledecay: float, rngs: list[np.random.Generator]) -> np.ndarray:
    """Diamond-square height maps in [0, 1], one per image (N, mapsize, mapsize), float64.

    As in the reference, the random term at each fill is ``wibble * U(-wibble, wibble)`` with ``wibble`` starting at
    100 and divided by ``wibbledecay`` per level. The fill runs in compiled code (``kernels.plasma_fill``).
    """
    grid = _plasma_raw(n, mapsize, wibbledecay, rngs)
    grid -= grid.min(axis=(1, 2), keepdims=True)
    grid /= grid.max(axis=(1, 2), keepdims=True)
    return grid


def fog(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Add ``c0 *`` a plasma fractal, then rescale by ``max / (max + c0)`` (one fused pass, ``fog_combine``)."""
    strength, decay = p.value
    out = np.empty_like(x)
    fog_combine(x, _plasma_raw(x.shape[0], p.fog_mapsize, float(decay), rngs), np.float32(strength), out)
    return out


def brightness(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """HSV value + c (clipped to 1) with hue and saturation kept, i.e. RGB scaled by ``min(V + c, 1) / V``."""
    out = np.empty_like(x)
    brightness_kernel(x.reshape(-1, 3), float(p.value), out.reshape(-1, 3))
    return out
