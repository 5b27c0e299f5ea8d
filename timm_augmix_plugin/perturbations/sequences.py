"""Batched -P sequence generators: each maps context images (N, S, S, 3) uint8 to frames (N, T, S, S, 3) uint8.

Every step reuses the -C building blocks: the exact noise samplers (:func:`~timm_augmix_plugin.corruptions.noise.
sample_noise`, one uniform per sub-pixel and frame), the ImageMagick-style motion blur kernel, the snow layer and its
final blend, the HSV brightness kernel, the Gaussian filter and the spatter water mask. The geometric sequences use
torchvision-2018 affine matrices through PIL's bilinear kernel (:mod:`.geometry`).

Per image, all random draws of a sequence come from that image's generator, frame after frame, so a sequence does not
depend on the batch it was made in.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..corruptions.blur import motion_blur_images
from ..corruptions.filters import gaussian_filter, to_uint8
from ..corruptions.kernels import brightness_kernel, snow_combine
from ..corruptions.noise import sample_noise
from ..corruptions.spatter import WATER_COLOUR, liquid_layers, water_mask
from ..corruptions.weather import snow_layers, snow_streaks
from .geometry import affine_frames, legacy_affine_coeffs, tilt_matrix, translate_frames, warp_perspective
from .params import PerturbationParams

__all__ = ["SEQUENCE_FUNCTIONS", "SequenceFn"]

SequenceFn = Callable[[np.ndarray, PerturbationParams, list], np.ndarray]


def _frames_like(x: np.ndarray, frames: int) -> np.ndarray:
    return np.empty((x.shape[0], frames, *x.shape[1:]), dtype=np.uint8)


def _noise(kind: str) -> SequenceFn:
    def sequence(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
        n, t = x.shape[0], p.frames - 1
        out = _frames_like(x, p.frames)
        out[:, 0] = x  # frame 0: the clean image
        repeated = np.repeat(x, t, axis=0)  # image-major: each image's generator draws its frames in order
        out[:, 1:] = sample_noise(repeated, kind, float(p.value), [g for g in rngs for _ in range(t)]).reshape(
            n, t, *x.shape[1:])
        return out

    sequence.__doc__ = f"Frame 0 clean, then independent {kind} noise frames of the clean image."
    return sequence


def motion_blur(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Motion blur at angle ``(i + offset) * step`` for frame i (frame 0 is blurred too)."""
    radius, sigma, step, offset = p.value
    n = x.shape[0]
    angles = np.tile((np.arange(p.frames) + offset) * step, n).astype(np.float64)
    y = motion_blur_images(np.repeat(x, p.frames, axis=0).astype(np.float32), radius, sigma, angles)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8).reshape(n, p.frames, *x.shape[1:])


def zoom_blur(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Frame i: the mean of the image zoomed by ``1 + step * j`` for j = 0..i (float32, truncated as ToPILImage)."""
    n, h, w, _ = x.shape
    zooms = affine_frames(x, [legacy_affine_coeffs(w, h, scale=1.0 + p.value * i) for i in range(1, p.frames)])
    out = _frames_like(x, p.frames)
    out[:, 0] = x
    inv = np.float32(255)
    avg = x.astype(np.float32) / inv
    for i in range(1, p.frames):
        avg += zooms[:, i - 1].astype(np.float32) / inv
        out[:, i] = (avg / np.float32(i + 1) * inv).astype(np.uint8)
    return out


def snow(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """One snow layer per image, streaked at angle ``4 i - 150`` in frame i, over the brightened image."""
    loc, scale, zoom, threshold, radius, sigma, blend = p.value
    n, h, w, _ = x.shape
    layer8, _ = snow_layers(rngs, h, w, loc, scale, zoom, threshold)
    angles = np.tile(np.arange(p.frames) * 4.0 - 150.0, n)
    streaks = snow_streaks(np.repeat(layer8, p.frames, axis=0), radius, sigma, angles)
    out = np.empty((n * p.frames, h, w, 3), dtype=np.uint8)
    snow_combine(np.repeat(x, p.frames, axis=0), np.ascontiguousarray(streaks, dtype=np.float32), float(blend), out)
    return out.reshape(n, p.frames, h, w, 3)


def brightness(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """HSV value + ``(i - 15) * step`` in frame i (darker, then brighter)."""
    out = _frames_like(x, p.frames)
    flat = np.ascontiguousarray(x).reshape(-1, 3)
    tmp = np.empty_like(flat)
    for i in range(p.frames):
        brightness_kernel(flat, (i - 15) * float(p.value), tmp)
        out[:, i] = tmp.reshape(x.shape)
    return out


def translate(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Horizontal shift by ``i - offset`` pixels in frame i, black fill (nearest neighbour: whole pixels)."""
    return translate_frames(x, [i - int(p.value) for i in range(p.frames)])


def rotate(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Rotation by ``step * (i - 15)`` degrees (bilinear, black corners)."""
    h, w = x.shape[1:3]
    return affine_frames(x, [legacy_affine_coeffs(w, h, angle=p.value * (i - 15)) for i in range(p.frames)])


def shear(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Shear by ``step * (i - 15)`` degrees (bilinear)."""
    h, w = x.shape[1:3]
    return affine_frames(x, [legacy_affine_coeffs(w, h, shear=p.value * (i - 15)) for i in range(p.frames)])


def scale(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Zoom by ``(step * i + start) / 100`` (bilinear; below 1 the image shrinks into a black frame)."""
    step, start = p.value
    h, w = x.shape[1:3]
    return affine_frames(x, [legacy_affine_coeffs(w, h, scale=(step * i + start) / 100.0) for i in range(p.frames)])


def tilt(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Perspective tilt about both axes by ``step * (i - 15)`` degrees."""
    n, h, w, _ = x.shape
    mats = [tilt_matrix(w, h, p.value * (i - 15)) for i in range(p.frames)]
    out = _frames_like(x, p.frames)
    for k in range(n):
        for i, m in enumerate(mats):
            out[k, i] = warp_perspective(x[k], m)
    return out


def gaussian_blur(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Gaussian blur with sigma ``start + step * i`` (edge-replicated border, the reference's truncate)."""
    start, step, truncate = p.value
    out = _frames_like(x, p.frames)
    y = x.astype(np.float32) * np.float32(1 / 255)
    for i in range(p.frames):
        out[:, i] = to_uint8(gaussian_filter(y, start + step * i, mode="nearest", truncate=truncate))
    return out


def _smear_rows(a: np.ndarray, kernel: tuple[float, ...]) -> np.ndarray:
    """``np.convolve(column, kernel, mode='same')`` down every column of ``a`` (H, W): the drops run down."""
    h = a.shape[0]
    off = (len(kernel) - 1) // 2
    out = np.zeros_like(a)
    for j, k in enumerate(kernel):
        shift = j - off  # out[r] += k * a[r - shift]
        if shift >= 0:
            out[shift:] += k * a[:h - shift]
        else:
            out[:h + shift] += k * a[-shift:]
    return out


def spatter(x: np.ndarray, p: PerturbationParams, rngs: list[np.random.Generator]) -> np.ndarray:
    """Water drops (the -C spatter's water mask, intensity 0.6) that run down the image frame after frame.

    Where a frame has no drop edge left the reference divides 0 by 0 and writes a black frame; here that frame
    shows the image without drops.
    """
    loc, scale_, sigma, threshold, kernel = p.value
    n, h, w, _ = x.shape
    liquid = liquid_layers(rngs, h, w, loc, scale_, sigma, threshold)
    y = x.astype(np.float32) * np.float32(1 / 255)
    out = _frames_like(x, p.frames)
    for k in range(n):
        layer = liquid[k].astype(np.float64)
        for i in range(p.frames):
            m = (water_mask(layer.astype(np.float32)) * np.float32(0.6)).astype(np.float32)
            out[k, i] = to_uint8(y[k] + m[..., None] * WATER_COLOUR)
            layer = _smear_rows(layer, kernel)
    return out


SEQUENCE_FUNCTIONS: dict[str, SequenceFn] = {
    "gaussian_noise": _noise("gaussian"),
    "shot_noise": _noise("shot"),
    "motion_blur": motion_blur,
    "zoom_blur": zoom_blur,
    "snow": snow,
    "brightness": brightness,
    "translate": translate,
    "rotate": rotate,
    "tilt": tilt,
    "scale": scale,
    "speckle_noise": _noise("speckle"),
    "gaussian_blur": gaussian_blur,
    "spatter": spatter,
    "shear": shear,
}
