"""Digital corruptions: contrast, elastic_transform, pixelate, jpeg_compression, saturate.

Pixelate and JPEG run through Pillow exactly as the reference does (BOX down/up-sampling; JPEG encode/decode at the
given quality). Elastic is the reference's two-step warp: a random affine of three points (bilinear, mirrored border
like ``cv2.warpAffine``) followed by a Gaussian-smoothed random displacement field sampled with order-1 interpolation
and a half-sample-symmetric border (``scipy.ndimage.map_coordinates(mode='reflect')``); at 48 x 48 px and above
both samplings run in ``cv2.warpAffine`` / ``cv2.remap`` when OpenCV is installed (same maps and borders).
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from . import opencv
from .filters import gaussian_filter, to_uint8
from .kernels import affine_sample, contrast_kernel, displaced_sample
from .params import SizeParams

__all__ = ["contrast", "elastic_transform", "pixelate", "jpeg_compression", "saturate", "affine_from_points"]


def contrast(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Scale each channel's deviation from its image mean by c."""
    n, h, w, c = x.shape
    out = np.empty_like(x)
    contrast_kernel(x.reshape(n, h * w, c), float(p.value), out.reshape(n, h * w, c))
    return out


def saturate(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """HSV saturation ``S * mul + add`` (clipped to [0, 1]) with hue and value kept.

    Grey pixels have hue 0 in skimage's convention, so a positive ``add`` tints them red exactly as the reference.
    """
    mul, add = (np.float32(v) for v in p.value)
    y = x.astype(np.float32) * np.float32(1 / 255)
    v = y.max(axis=-1, keepdims=True)
    delta = v - y.min(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(v > 0, delta / v, np.float32(0))
        s_new = np.clip(s * mul + add, 0, 1)
        colour = v - (v - y) * np.where(delta > 0, s_new * v / delta, np.float32(0))
    grey = np.concatenate([v, v * (1 - s_new), v * (1 - s_new)], axis=-1)
    return to_uint8(np.where(delta > 0, colour, grey))


def pixelate(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Pillow BOX downscale to ``int(size * c)`` then BOX upscale back."""
    n, h, w, _ = x.shape
    c = float(p.value)
    small = (max(1, int(w * c)), max(1, int(h * c)))
    out = np.empty_like(x)
    for i in range(n):
        im = Image.fromarray(x[i]).resize(small, Image.Resampling.BOX).resize((w, h), Image.Resampling.BOX)
        out[i] = np.asarray(im)
    return out


def jpeg_compression(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Pillow JPEG round trip at the given quality."""
    q = int(p.value)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        buf = io.BytesIO()
        Image.fromarray(x[i]).save(buf, format="JPEG", quality=q)
        buf.seek(0)
        with Image.open(buf) as im:
            im.load()
            out[i] = np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
    return out


def affine_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2 x 3 affine matrix mapping three ``src`` points onto ``dst`` (``cv2.getAffineTransform``)."""
    a = np.concatenate([src, np.ones((3, 1))], axis=1)
    return np.linalg.solve(a, dst).T


def elastic_transform(x: np.ndarray, p: SizeParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Random affine jitter, then a smoothed random displacement field (alpha, sigma, affine jitter)."""
    alpha, sigma, jitter = (float(v) for v in p.value)
    n, h, w, _ = x.shape
    y = x.astype(np.float32) * np.float32(1 / 255)
    centre = np.array([h // 2, w // 2], dtype=np.float64)
    sq = min(h, w) // 3
    pts1 = np.array([centre + sq, [centre[0] + sq, centre[1] - sq], centre - sq], dtype=np.float32).astype(np.float64)
    mats = np.empty((n, 2, 3), dtype=np.float64)
    noise = np.empty((2 * n, h, w), dtype=np.float32)
    for i, g in enumerate(rngs):
        pts2 = pts1 + g.uniform(-jitter, jitter, size=pts1.shape).astype(np.float32)
        m = np.concatenate([affine_from_points(pts1, pts2), [[0.0, 0.0, 1.0]]])
        mats[i] = np.linalg.inv(m)[:2]  # warpAffine samples the source at M^-1 (x, y)
        g.random(out=noise[i], dtype=np.float32)
        g.random(out=noise[n + i], dtype=np.float32)
    noise *= np.float32(2)
    noise -= np.float32(1)  # U(-1, 1)
    field = gaussian_filter(noise, sigma, mode="reflect", truncate=3.0)
    field *= np.float32(alpha)
    out = np.empty_like(y)
    cv2 = opencv.opencv(h * w)
    if cv2 is None:
        warped = np.empty_like(y)
        affine_sample(y, mats, 1, warped)
        displaced_sample(warped, np.ascontiguousarray(field[n:]), np.ascontiguousarray(field[:n]), 0, out)
        return to_uint8(out)
    # the same two bilinear samplings with OpenCV (float32 interpolation weights; same borders)
    cols = np.arange(w, dtype=np.float32)[None, :]
    rows = np.arange(h, dtype=np.float32)[:, None]
    warped = np.empty((h, w, 3), dtype=np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for i in range(n):
        cv2.warpAffine(y[i], mats[i], (w, h), dst=warped, flags=flags, borderMode=cv2.BORDER_REFLECT_101)
        cv2.remap(warped, field[i] + cols, field[n + i] + rows, cv2.INTER_LINEAR, dst=out[i],
                  borderMode=cv2.BORDER_REFLECT)
    return to_uint8(out)
