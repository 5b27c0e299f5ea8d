"""A straightforward per-image implementation of the reference generators, for benchmarks and fidelity checks.

It follows ``make_cifar_c.py`` / ``make_tinyimagenet_c.py`` / ``make_imagenet_c.py`` step by step with the libraries
they use (OpenCV, scikit-image, scipy, Pillow), one image at a time, with the reference's parameter tables. The two
Wand/ImageMagick steps (motion blur, the snow streaks) use a plain numpy shifted-copy motion blur instead. It is not
used by :func:`~timm_augmix_plugin.corruptions.corrupt`; ``benchmarks/corruption_speed.py`` times it against the
batched path and ``tests/test_corruptions.py`` compares their statistics.

Requires ``opencv-python(-headless)`` and ``scikit-image`` (both installed with ``imagecorruptions-imaug``).
"""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image
from scipy.ndimage import map_coordinates
from scipy.ndimage import zoom as nd_zoom

from ..corruptions.frost_assets import FROST_FILES, frost_directory
from ..corruptions.params import resolve_params

__all__ = ["reference_corrupt"]


def _imports():
    import cv2
    import skimage.color
    import skimage.filters
    import skimage.util
    return cv2, skimage


def _clipped_zoom(img: np.ndarray, factor: float) -> np.ndarray:
    h = img.shape[0]
    ch = int(np.ceil(h / factor))
    top = (h - ch) // 2
    z = nd_zoom(img[top:top + ch, top:top + ch], (factor, factor, 1), order=1)
    trim = (z.shape[0] - h) // 2
    return z[trim:trim + h, trim:trim + h]


def _plasma(mapsize: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    grid = np.zeros((mapsize, mapsize))
    step, wibble = mapsize, 100.0
    while step >= 2:
        half = step // 2
        corner = grid[0:mapsize:step, 0:mapsize:step]
        sq = corner + np.roll(corner, -1, axis=0)
        sq = sq + np.roll(sq, -1, axis=1)
        grid[half:mapsize:step, half:mapsize:step] = sq / 4 + wibble * rng.uniform(-wibble, wibble, sq.shape)
        dr = grid[half:mapsize:step, half:mapsize:step]
        ul = grid[0:mapsize:step, 0:mapsize:step]
        t = dr + np.roll(dr, 1, axis=0) + ul + np.roll(ul, -1, axis=1)
        grid[0:mapsize:step, half:mapsize:step] = t / 4 + wibble * rng.uniform(-wibble, wibble, t.shape)
        t = dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=0)
        grid[half:mapsize:step, 0:mapsize:step] = t / 4 + wibble * rng.uniform(-wibble, wibble, t.shape)
        step //= 2
        wibble /= decay
    grid -= grid.min()
    return grid / grid.max()


def _motion_blur(img: np.ndarray, radius: float, sigma: float, angle: float) -> np.ndarray:
    """ImageMagick MotionBlurImage semantics with shifted copies (edge replicated), float output."""
    width = int(2 * math.ceil(radius) + 1)
    k = np.exp(-(np.arange(width) ** 2) / (2 * sigma * sigma))
    k /= k.sum()
    a = math.radians(angle)
    h, w = img.shape[:2]
    rows, cols = np.arange(h), np.arange(w)
    out = np.zeros(img.shape, dtype=np.float64)
    for i in range(width):
        dx = math.ceil(i * math.cos(a) - 0.5)
        dy = math.ceil(i * math.sin(a) - 0.5)
        out += k[i] * img[np.clip(rows + dy, 0, h - 1)][:, np.clip(cols + dx, 0, w - 1)]
    return out


def reference_corrupt(img: np.ndarray, name: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Corrupt one uint8 (S, S, 3) image with the reference algorithm; S must be a table size (32, 64 or 224)."""
    cv2, sk = _imports()
    s = img.shape[0]
    p = resolve_params(name, severity, s, s)
    c = p.value
    x = img.astype(np.float64) / 255.0
    if name == "gaussian_noise":
        y = x + rng.normal(size=x.shape, scale=c)
    elif name == "shot_noise":
        y = rng.poisson(x * c) / c
    elif name == "impulse_noise":
        y = sk.util.random_noise(x, mode="s&p", amount=c, rng=int(rng.integers(2 ** 31)))
    elif name == "speckle_noise":
        y = x + x * rng.normal(size=x.shape, scale=c)
    elif name == "gaussian_blur":
        y = sk.filters.gaussian(x, sigma=c, channel_axis=-1)
    elif name == "defocus_blur":
        radius, alias = c
        t = np.arange(-8, 9) if radius <= 8 else np.arange(-math.ceil(radius), math.ceil(radius) + 1)
        xx, yy = np.meshgrid(t, t)
        disk = ((xx ** 2 + yy ** 2) <= radius ** 2).astype(np.float32)
        disk /= disk.sum()
        kernel = cv2.GaussianBlur(disk, (3, 3) if radius <= 8 else (5, 5), alias)
        y = np.stack([cv2.filter2D(x[..., ch], -1, kernel) for ch in range(3)], axis=-1)
    elif name == "glass_blur":
        sigma, delta, iters = c
        z = np.uint8(sk.filters.gaussian(x, sigma=sigma, channel_axis=-1) * 255)
        for _ in range(iters):
            for h in range(s - delta, delta, -1):
                for w in range(s - delta, delta, -1):
                    dx, dy = rng.integers(-delta, delta, size=(2,))
                    z[h, w] = z[h + dy, w + dx]  # the reference's "swap" only copies
        y = sk.filters.gaussian(z / 255.0, sigma=sigma, channel_axis=-1)
    elif name == "motion_blur":
        out = _motion_blur(img.astype(np.float64), c[0], c[1], rng.uniform(-45, 45))
        return np.uint8(np.clip(np.rint(out), 0, 255))
    elif name == "zoom_blur":
        xf = x.astype(np.float32)
        acc = np.zeros_like(xf)
        for f in c:
            acc += _clipped_zoom(xf, f)
        y = (xf + acc) / (len(c) + 1)
    elif name == "snow":
        loc, scale, zf, thr, mb_r, mb_s, blend = c
        xf = x.astype(np.float32)
        layer = rng.normal(size=x.shape[:2], loc=loc, scale=scale)
        layer = _clipped_zoom(layer[..., None], zf)
        layer[layer < thr] = 0
        layer = np.uint8(np.clip(layer[..., 0], 0, 1) * 255)
        layer = np.clip(np.rint(_motion_blur(layer.astype(np.float64), mb_r, mb_s, rng.uniform(-135, -45))), 0, 255)
        layer = (layer / 255.0)[..., None]
        gray = cv2.cvtColor(xf, cv2.COLOR_RGB2GRAY)[..., None]
        xf = blend * xf + (1 - blend) * np.maximum(xf, gray * 1.5 + 0.5)
        y = xf + layer + np.rot90(layer, k=2)
    elif name == "frost":
        f = cv2.imread(str(frost_directory() / FROST_FILES[int(rng.integers(5))]))
        if p.frost_scale != 1.0:
            f = cv2.resize(f, (0, 0), fx=p.frost_scale, fy=p.frost_scale)
        r0, c0 = rng.integers(0, f.shape[0] - s), rng.integers(0, f.shape[1] - s)
        f = f[r0:r0 + s, c0:c0 + s][..., [2, 1, 0]]
        return np.uint8(np.clip(c[0] * img.astype(np.float64) + c[1] * f, 0, 255))
    elif name == "fog":
        mx = x.max()
        y = x + c[0] * _plasma(p.fog_mapsize, c[1], rng)[:s, :s][..., None]
        y = y * mx / (mx + c[0])
    elif name == "brightness":
        hsv = sk.color.rgb2hsv(x)
        hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
        y = sk.color.hsv2rgb(hsv)
    elif name == "saturate":
        hsv = sk.color.rgb2hsv(x)
        hsv[..., 1] = np.clip(hsv[..., 1] * c[0] + c[1], 0, 1)
        y = sk.color.hsv2rgb(hsv)
    elif name == "contrast":
        m = x.mean(axis=(0, 1), keepdims=True)
        y = (x - m) * c + m
    elif name == "elastic_transform":
        alpha, sigma, jitter = c
        xf = x.astype(np.float32)
        centre = np.float32((s, s)) // 2
        sq = s // 3
        pts1 = np.float32([centre + sq, [centre[0] + sq, centre[1] - sq], centre - sq])
        pts2 = pts1 + rng.uniform(-jitter, jitter, size=pts1.shape).astype(np.float32)
        warped = cv2.warpAffine(xf, cv2.getAffineTransform(pts1, pts2), (s, s), borderMode=cv2.BORDER_REFLECT_101)
        dx = sk.filters.gaussian(rng.uniform(-1, 1, size=(s, s)), sigma, mode="reflect", truncate=3) * alpha
        dy = sk.filters.gaussian(rng.uniform(-1, 1, size=(s, s)), sigma, mode="reflect", truncate=3) * alpha
        gx, gy, gz = np.meshgrid(np.arange(s), np.arange(s), np.arange(3))
        coords = (gy + dy[..., None]).reshape(-1), (gx + dx[..., None]).reshape(-1), gz.reshape(-1)
        y = map_coordinates(warped, coords, order=1, mode="reflect").reshape(xf.shape)
    elif name == "pixelate":
        small = int(s * c)
        im = Image.fromarray(img).resize((small, small), Image.Resampling.BOX).resize((s, s), Image.Resampling.BOX)
        return np.asarray(im)
    elif name == "jpeg_compression":
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=int(c))
        return np.asarray(Image.open(buf))
    elif name == "spatter":
        raise NotImplementedError("spatter has no per-image reference path here")
    else:
        raise ValueError(f"unknown corruption {name!r}")
    return np.uint8(np.clip(y, 0, 1) * 255)
