"""The geometric warps of the -P generators: torchvision-2018 affine matrices and the tilt perspective.

The reference called ``torchvision.transforms.functional.affine`` of 2018 (torchvision 0.2), which hands PIL the
inverse of ``T * C * RSS * C^-1`` with the centre ``C`` at ``(w / 2 + 0.5, h / 2 + 0.5)`` and the rotation-shear
``RSS = [[cos a, -sin(a + s)], [sin a, cos(a + s)]] * scale`` (today's torchvision uses ``(w / 2, h / 2)``; the half
pixel moves frames by a few grey levels). The warps themselves are PIL's bilinear affine transform
(:func:`timm_augmix_plugin.augmix.pil_ops.affine_bilinear_array`, byte-exact) and an integer shift for the
nearest-neighbour translation. Tilt is ``cv2.warpPerspective`` of ``P2 T RX RY P1`` (a rotation of the image plane
about both axes seen through a pinhole at focal length ``sqrt(w^2 + h^2)``), with a numpy fallback.
"""
from __future__ import annotations

import math

import numpy as np

from ..augmix.pil_ops import affine_bilinear_array
from ..corruptions import opencv

__all__ = ["legacy_affine_coeffs", "affine_frames", "translate_frames", "tilt_matrix", "warp_perspective"]


def legacy_affine_coeffs(width: int, height: int, *, angle: float = 0.0, translate: tuple[float, float] = (0, 0),
                         scale: float = 1.0, shear: float = 0.0) -> tuple[float, ...]:
    """PIL ``AFFINE`` coefficients (output pixel -> input position) of torchvision 0.2's ``affine``.

    Args:
        width, height: image size.
        angle: clockwise rotation in degrees.
        translate: (dx, dy) in pixels.
        scale: zoom factor (> 1 enlarges).
        shear: shear angle in degrees.
    """
    cx, cy = width * 0.5 + 0.5, height * 0.5 + 0.5
    a, s = math.radians(angle), math.radians(shear)
    det = math.cos(a + s) * math.cos(a) + math.sin(a + s) * math.sin(a)
    k = 1.0 / scale / det
    m0, m1, m3, m4 = k * math.cos(a + s), k * math.sin(a + s), -k * math.sin(a), k * math.cos(a)
    ox, oy = -cx - translate[0], -cy - translate[1]
    return (m0, m1, m0 * ox + m1 * oy + cx, m3, m4, m3 * ox + m4 * oy + cy)


def affine_frames(x: np.ndarray, coeffs: list[tuple[float, ...]]) -> np.ndarray:
    """Every image of ``x`` (N, H, W, 3) uint8 warped by every coefficient set: (N, len(coeffs), H, W, 3)."""
    n = x.shape[0]
    out = np.empty((n, len(coeffs), *x.shape[1:]), dtype=np.uint8)
    for i in range(n):
        src = np.ascontiguousarray(x[i])
        for t, c in enumerate(coeffs):
            out[i, t] = affine_bilinear_array(src, c, 0)
    return out


def translate_frames(x: np.ndarray, shifts: list[int]) -> np.ndarray:
    """Horizontal shifts by whole pixels (content moves right for positive shifts, black fills): (N, T, H, W, 3)."""
    n, h, w, c = x.shape
    out = np.zeros((n, len(shifts), h, w, c), dtype=np.uint8)
    for t, dx in enumerate(shifts):
        if dx >= 0:
            out[:, t, :, dx:] = x[:, :, :w - dx]
        else:
            out[:, t, :, :w + dx] = x[:, :, -dx:]
    return out


def tilt_matrix(width: int, height: int, degrees: float) -> np.ndarray:
    """The reference's tilt homography for ``phi = theta = degrees`` (maps input pixels to output pixels)."""
    w, h = float(width), float(height)
    phi = theta = math.radians(degrees)
    f = math.sqrt(w * w + h * h)
    p1 = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1], [0, 0, 1]], dtype=np.float64)
    rx = np.array([[1, 0, 0, 0], [0, math.cos(theta), -math.sin(theta), 0],
                   [0, math.sin(theta), math.cos(theta), 0], [0, 0, 0, 1]])
    ry = np.array([[math.cos(phi), 0, -math.sin(phi), 0], [0, 1, 0, 0],
                   [math.sin(phi), 0, math.cos(phi), 0], [0, 0, 0, 1]])
    tz = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, f], [0, 0, 0, 1]], dtype=np.float64)
    p2 = np.array([[f, 0, w / 2, 0], [0, f, h / 2, 0], [0, 0, 1, 0]], dtype=np.float64)
    return p2 @ tz @ rx @ ry @ p1


def _warp_numpy(img: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Bilinear inverse mapping with a black border (what warpPerspective computes, in float64)."""
    h, w, _ = img.shape
    inv = np.linalg.inv(matrix)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    den = inv[2, 0] * xx + inv[2, 1] * yy + inv[2, 2]
    sx = (inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]) / den
    sy = (inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]) / den
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    padded = np.zeros((h + 2, w + 2, 3), dtype=np.float64)
    padded[1:-1, 1:-1] = img

    def at(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
        return padded[np.clip(yi + 1, 0, h + 1), np.clip(xi + 1, 0, w + 1)]

    v = ((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
         + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)))
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def warp_perspective(img: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``cv2.warpPerspective(img, matrix, (w, h))`` (bilinear, black border); numpy when OpenCV is unavailable."""
    h, w, _ = img.shape
    cv2 = opencv.opencv()
    if cv2 is None:
        return _warp_numpy(img, matrix)
    return cv2.warpPerspective(np.ascontiguousarray(img), matrix, (w, h))
