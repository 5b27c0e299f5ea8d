"""Batched linear filters shared by the corruption families and the -P sequences.

Arrays are (N, H, W, C) or (N, H, W) float32. Border modes use scipy's names: ``'nearest'`` (edge replicate,
``skimage.filters.gaussian`` default), ``'reflect'`` (half-sample symmetric), ``'mirror'`` (cv2 ``BORDER_REFLECT_101``).
Images of at least :data:`~.opencv.MIN_OPENCV_PIXELS` pixels are filtered with OpenCV when it is installed
(``cv2.sepFilter2D`` / ``cv2.filter2D`` with the same taps and border); smaller ones, or all without OpenCV, use the
batched numba / numpy paths below.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

from . import opencv
from .kernels import correlate_cols, correlate_rows

__all__ = ["gaussian_weights", "correlate_separable", "gaussian_filter", "correlate2d", "to_uint8", "uint8_lut"]

_NP_PAD_MODE = {"nearest": "edge", "reflect": "symmetric", "mirror": "reflect"}


def gaussian_weights(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """scipy.ndimage's Gaussian taps: radius ``int(truncate * sigma + 0.5)``, normalised to sum 1."""
    radius = int(truncate * float(sigma) + 0.5)
    if sigma <= 0 or radius == 0:
        return np.ones(1, dtype=np.float64)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


def _fold_index(i: np.ndarray, n: int, mode: str) -> np.ndarray:
    if n == 1:
        return np.zeros_like(i)
    if mode == "nearest":
        return np.clip(i, 0, n - 1)
    if mode == "reflect":
        i = np.mod(i, 2 * n)
        return np.where(i < n, i, 2 * n - 1 - i)
    i = np.mod(i, 2 * n - 2)
    return np.where(i < n, i, 2 * n - 2 - i)


def _filter_matrix(n: int, weights: np.ndarray, mode: str) -> np.ndarray:
    """Dense (n, n) matrix of a centred 1-D correlation with border folding (used for very wide kernels)."""
    r = (weights.size - 1) // 2
    m = np.zeros((n, n), dtype=np.float64)
    rows = np.arange(n)
    for k, w in enumerate(weights):
        np.add.at(m, (rows, _fold_index(rows + k - r, n, mode)), w)
    return m


def _correlate_axis(x: np.ndarray, weights: np.ndarray, axis: int, mode: str) -> np.ndarray:
    r = (weights.size - 1) // 2
    if r == 0:
        return x * x.dtype.type(weights[0]) if weights[0] != 1 else x
    n = x.shape[axis]
    if r > 16 or r >= n:
        m = _filter_matrix(n, weights, mode).astype(x.dtype)
        moved = np.moveaxis(x, axis, -1)
        return np.moveaxis(moved @ m.T, -1, axis)
    idx = _fold_index(np.arange(n)[:, None] + np.arange(-r, r + 1)[None, :], n, mode).astype(np.int64)
    w = weights.astype(np.float32)
    xc = np.ascontiguousarray(x, dtype=np.float32)
    x4 = xc if xc.ndim == 4 else xc[..., None]
    out = np.empty_like(x4)
    if axis == 1:
        nb, hh = x4.shape[:2]
        correlate_rows(x4.reshape(nb, hh, -1), idx, w, out.reshape(nb, hh, -1))
    else:
        correlate_cols(x4, idx, w, out)
    return out if xc.ndim == 4 else out[..., 0]


def _per_image_cv2(x: np.ndarray, fn) -> np.ndarray:
    """Run ``fn(src, dst)`` (an OpenCV filter writing into ``dst``) on each (H, W[, C]) float32 image of a batch."""
    xc = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(xc)
    for i in range(xc.shape[0]):
        fn(xc[i], out[i])
    return out


def correlate_separable(x: np.ndarray, weights: np.ndarray, mode: str) -> np.ndarray:
    """Apply the same centred 1-D kernel along H (axis 1) then W (axis 2)."""
    r = (weights.size - 1) // 2
    h, w = x.shape[1], x.shape[2]
    cv2 = opencv.opencv(h * w) if 0 < r < min(h, w) else None
    if cv2 is not None:
        k = weights.astype(np.float32)
        border = opencv.BORDER[mode]
        return _per_image_cv2(x, lambda src, dst: cv2.sepFilter2D(src, -1, k, k, dst=dst, borderType=border))
    return _correlate_axis(_correlate_axis(x, weights, 1, mode), weights, 2, mode)


def gaussian_filter(x: np.ndarray, sigma: float, mode: str = "nearest", truncate: float = 4.0) -> np.ndarray:
    """Per-channel 2-D Gaussian blur, equivalent to ``scipy.ndimage.gaussian_filter(sigma=(s, s, 0))`` per image."""
    return correlate_separable(x, gaussian_weights(sigma, truncate), mode)


def correlate2d(x: np.ndarray, kernel: np.ndarray, mode: str = "mirror") -> np.ndarray:
    """Per-channel 2-D correlation with a centred odd-sized kernel (cv2.filter2D semantics with ``mode='mirror'``).

    With OpenCV (images of at least ``MIN_OPENCV_PIXELS`` pixels): ``cv2.filter2D`` per image. Otherwise small kernels
    are summed tap by tap and larger ones go through an FFT on the padded batch.
    """
    kh, kw = kernel.shape
    rh, rw = kh // 2, kw // 2
    h, w = x.shape[1], x.shape[2]
    cv2 = opencv.opencv(h * w) if rh < h and rw < w else None
    if cv2 is not None:
        k = np.ascontiguousarray(kernel, dtype=np.float32)
        border = opencv.BORDER[mode]
        return _per_image_cv2(x, lambda src, dst: cv2.filter2D(src, -1, k, dst=dst, borderType=border))
    pad = [(0, 0), (rh, rh), (rw, rw)] + [(0, 0)] * (x.ndim - 3)
    xp = np.pad(x, pad, mode=_NP_PAD_MODE[mode])
    nz = np.argwhere(kernel != 0)
    if len(nz) <= 49:
        out = np.zeros_like(x)
        for i, j in nz:
            out += x.dtype.type(kernel[i, j]) * xp[:, i:i + h, j:j + w]
        return out
    planes = np.ascontiguousarray(np.moveaxis(xp, -1, 1) if x.ndim == 4 else xp)  # (N, C, Hp, Wp): FFT axes last
    ph, pw = planes.shape[-2], planes.shape[-1]
    lh, lw = _fft_len(ph), _fft_len(pw)
    spec = _kernel_spectrum(kernel.astype(np.float32).tobytes(), kernel.shape, lh, lw)
    xs = scipy.fft.rfft2(planes, s=(lh, lw), workers=1)
    xs *= spec
    out = scipy.fft.irfft2(xs, s=(lh, lw), workers=1)[..., rh:rh + h, rw:rw + w]
    # circular correlation of length >= padded size: the valid window never wraps
    out = np.moveaxis(out, 1, -1) if x.ndim == 4 else out
    return np.ascontiguousarray(out, dtype=x.dtype)


def _fft_len(n: int) -> int:
    """A fast FFT length >= n: the next power of two when it is within 8 % of scipy's next fast length."""
    fast = scipy.fft.next_fast_len(n, real=True)
    pow2 = 1 << (n - 1).bit_length()
    return pow2 if pow2 <= 1.08 * fast else fast


@lru_cache(maxsize=32)
def _kernel_spectrum(kernel_bytes: bytes, shape: tuple[int, int], lh: int, lw: int) -> np.ndarray:
    """conj(FFT) of the kernel centred at the origin of an (lh, lw) grid: multiplying by it correlates."""
    kernel = np.frombuffer(kernel_bytes, dtype=np.float32).reshape(shape)
    kh, kw = shape
    grid = np.zeros((lh, lw), dtype=np.float32)
    rows = (np.arange(kh) - kh // 2) % lh
    cols = (np.arange(kw) - kw // 2) % lw
    grid[np.ix_(rows, cols)] = kernel
    return np.conj(scipy.fft.rfft2(grid))


def to_uint8(x: np.ndarray) -> np.ndarray:
    """``np.uint8(np.clip(x, 0, 1) * 255)``: the reference's final truncating conversion of [0, 1] images."""
    y = np.clip(x, 0, 1, out=x if x.flags.writeable else None)
    y *= 255
    return y.astype(np.uint8)


def uint8_lut(values: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Apply a 256-entry lookup table to a uint8 array."""
    return np.take(lut, values)
