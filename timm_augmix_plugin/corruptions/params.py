"""Per-severity corruption parameters of the reference -C generators, one table per image size.

The three tables follow hendrycks/robustness ``make_cifar_c.py`` (32 px), ``make_tinyimagenet_c.py`` (64 px) and
``make_imagenet_c.py`` (224 px). Values are the reference's, including its quirks (elastic constants are multiples of
the image size, and of 244 rather than 224 at ImageNet scale).

Other image sizes use the table whose size is nearest on a log scale (<= 45 px: 32, <= 119 px: 64, otherwise 224).
Parameters measured in pixels (blur sigmas and radii, glass-blur displacement, motion-blur radius and sigma, spatter
blur, elastic constants, frost texture scale) are multiplied by ``min(H, W) / table_size``; ratios (noise levels,
zoom factors, pixelate fraction, JPEG quality, colour changes) are used unchanged. The fog plasma map is the next
power of two at or above ``max(H, W)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BENCHMARK_CORRUPTIONS", "EXTRA_CORRUPTIONS", "ALL_CORRUPTIONS", "TABLE_SIZES", "SizeParams",
           "select_table", "resolve_params"]

BENCHMARK_CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness",
    "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)
EXTRA_CORRUPTIONS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
ALL_CORRUPTIONS: tuple[str, ...] = BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS
TABLE_SIZES: tuple[int, ...] = (32, 64, 224)


def _elastic(size: float, rows: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    return [(size * a, size * b, size * c) for a, b, c in rows]


# Zoom-blur rows are (start, stop, step) for np.arange, evaluated exactly as the reference does (float rounding
# decides whether the stop value is included).
_TABLES: dict[int, dict[str, list[Any]]] = {
    32: {
        "gaussian_noise": [0.04, 0.06, 0.08, 0.09, 0.10],
        "shot_noise": [500, 250, 100, 75, 50],
        "impulse_noise": [0.01, 0.02, 0.03, 0.05, 0.07],
        "speckle_noise": [0.06, 0.1, 0.12, 0.16, 0.2],
        "gaussian_blur": [0.4, 0.6, 0.7, 0.8, 1.0],
        "glass_blur": [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)],
        "defocus_blur": [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)],
        "motion_blur": [(6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)],
        "zoom_blur": [(1, 1.06, 0.01), (1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.01), (1, 1.26, 0.01)],
        "snow": [(0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9), (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
                 (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85), (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)],
        "frost": [(1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)],
        "fog": [(0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)],
        "spatter": [(0.62, 0.1, 0.7, 0.7, 0.5, 0), (0.65, 0.1, 0.8, 0.7, 0.5, 0), (0.65, 0.3, 1, 0.69, 0.5, 0),
                    (0.65, 0.1, 0.7, 0.69, 0.6, 1), (0.65, 0.1, 0.5, 0.68, 0.6, 1)],
        "contrast": [0.75, 0.5, 0.4, 0.3, 0.15],
        "brightness": [0.05, 0.1, 0.15, 0.2, 0.3],
        "saturate": [(0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)],
        "jpeg_compression": [80, 65, 58, 50, 40],
        "pixelate": [0.95, 0.9, 0.85, 0.75, 0.65],
        "elastic_transform": _elastic(32, [(0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05),
                                           (0.1, 0.03, 0.03)]),
    },
    64: {
        "gaussian_noise": [0.04, 0.08, 0.12, 0.15, 0.18],
        "shot_noise": [250, 100, 50, 30, 15],
        "impulse_noise": [0.01, 0.02, 0.05, 0.08, 0.14],
        "speckle_noise": [0.15, 0.2, 0.25, 0.3, 0.35],
        "gaussian_blur": [0.5, 0.75, 1, 1.25, 1.5],
        "glass_blur": [(0.1, 1, 1), (0.5, 1, 1), (0.6, 1, 2), (0.7, 2, 1), (0.9, 2, 2)],
        "defocus_blur": [(0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)],
        "motion_blur": [(10, 1), (10, 1.5), (10, 2), (10, 2.5), (12, 3)],
        "zoom_blur": [(1, 1.06, 0.01), (1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.01), (1, 1.26, 0.01)],
        "snow": [(0.1, 0.2, 1, 0.6, 8, 3, 0.8), (0.1, 0.2, 1, 0.5, 10, 4, 0.8), (0.15, 0.3, 1.75, 0.55, 10, 4, 0.7),
                 (0.25, 0.3, 2.25, 0.6, 12, 6, 0.65), (0.3, 0.3, 1.25, 0.65, 14, 12, 0.6)],
        "frost": [(1, 0.3), (0.9, 0.4), (0.8, 0.45), (0.75, 0.5), (0.7, 0.55)],
        "fog": [(0.4, 3), (0.7, 3), (1, 2.5), (1.5, 2), (2, 1.75)],
        "spatter": [(0.62, 0.1, 0.7, 0.7, 0.6, 0), (0.65, 0.1, 0.8, 0.7, 0.6, 0), (0.65, 0.3, 1, 0.69, 0.6, 0),
                    (0.65, 0.1, 0.7, 0.68, 0.6, 1), (0.65, 0.1, 0.5, 0.67, 0.6, 1)],
        "contrast": [0.4, 0.3, 0.2, 0.1, 0.05],
        "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],
        "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (30, 0.2)],
        "jpeg_compression": [65, 58, 50, 40, 25],
        "pixelate": [0.9, 0.8, 0.7, 0.6, 0.5],
        "elastic_transform": _elastic(64, [(0, 0, 0.08), (0.05, 0.3, 0.06), (0.1, 0.08, 0.06), (0.1, 0.03, 0.03),
                                           (0.16, 0.03, 0.02)]),
    },
    224: {
        "gaussian_noise": [0.08, 0.12, 0.18, 0.26, 0.38],
        "shot_noise": [60, 25, 12, 5, 3],
        "impulse_noise": [0.03, 0.06, 0.09, 0.17, 0.27],
        "speckle_noise": [0.15, 0.2, 0.35, 0.45, 0.6],
        "gaussian_blur": [1, 2, 3, 4, 6],
        "glass_blur": [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
        "defocus_blur": [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)],
        "motion_blur": [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
        "zoom_blur": [(1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.02), (1, 1.26, 0.02), (1, 1.31, 0.03)],
        "snow": [(0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7), (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
                 (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65), (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55)],
        "frost": [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)],
        "fog": [(1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5), (3, 1.4)],
        "spatter": [(0.65, 0.3, 4, 0.69, 0.6, 0), (0.65, 0.3, 3, 0.68, 0.6, 0), (0.65, 0.3, 2, 0.68, 0.5, 0),
                    (0.65, 0.3, 1, 0.65, 1.5, 1), (0.67, 0.4, 1, 0.65, 1.5, 1)],
        "contrast": [0.4, 0.3, 0.2, 0.1, 0.05],
        "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],
        "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)],
        "jpeg_compression": [25, 18, 15, 10, 7],
        "pixelate": [0.6, 0.5, 0.4, 0.3, 0.25],
        # "244 should have been 224" in the reference; kept as released.
        "elastic_transform": _elastic(244, [(2, 0.7, 0.1), (2, 0.08, 0.2), (0.05, 0.01, 0.02), (0.07, 0.01, 0.02),
                                            (0.12, 0.01, 0.02)]),
    },
}

# Frost textures are rescaled by this factor before the random crop (cv2.resize fx=fy in the reference).
_FROST_SCALE: dict[int, float] = {32: 0.2, 64: 0.3, 224: 1.0}
# Fog plasma map side per table (the reference crops its top-left H x W).
_FOG_MAPSIZE: dict[int, int] = {32: 32, 64: 64, 224: 256}


@dataclass(frozen=True)
class SizeParams:
    """Parameters for one corruption at one severity, resolved for an image size.

    Attributes:
        name: corruption name.
        severity: 1..5.
        table: which reference table (32, 64 or 224) the values come from.
        scale: pixel-size factor ``min(H, W) / table`` applied to spatial parameters (1.0 at table sizes).
        value: the resolved parameter (float, int or tuple, meaning per reference-facts section 3.2).
        frost_scale: texture rescale factor (frost only).
        fog_mapsize: plasma map side (fog only).
    """

    name: str
    severity: int
    table: int
    scale: float
    value: Any
    frost_scale: float = 1.0
    fog_mapsize: int = 32


def select_table(height: int, width: int) -> int:
    """The reference table used for an image of ``height x width`` (nearest size on a log scale)."""
    side = min(height, width)
    if side in TABLE_SIZES:
        return side
    return min(TABLE_SIZES, key=lambda t: abs(math.log(side / t)))


def _scaled(name: str, value: Any, s: float) -> Any:
    """Scale the pixel-measured entries of one table row by ``s``."""
    if s == 1.0:
        return value
    if name == "gaussian_blur":
        return value * s
    if name == "glass_blur":
        sigma, delta, iters = value
        return (sigma * s, max(1, int(round(delta * s))), iters)
    if name == "defocus_blur":
        return (value[0] * s, value[1] * s)
    if name == "motion_blur":
        return (max(1.0, round(value[0] * s)), value[1] * s)
    if name == "snow":
        v = list(value)
        v[4], v[5] = max(1.0, round(v[4] * s)), v[5] * s
        return tuple(v)
    if name == "spatter":
        v = list(value)
        v[2] = v[2] * s
        if v[5] == 1:
            v[4] = v[4] * s
        return tuple(v)
    if name == "elastic_transform":
        return tuple(float(t) * s for t in value)
    return value


def resolve_params(name: str, severity: int, height: int, width: int, table: int | None = None) -> SizeParams:
    """Resolve the parameters of ``name`` at ``severity`` for an image of ``height x width``.

    Args:
        name: corruption name (one of ``ALL_CORRUPTIONS``).
        severity: 1..5.
        height: image height in pixels.
        width: image width in pixels.
        table: force a reference table (32, 64 or 224); by default the nearest one to ``min(height, width)``.
            Spatial parameters are still scaled to the actual image size.
    """
    if table is None:
        table = select_table(height, width)
    elif table not in TABLE_SIZES:
        raise ValueError(f"size_table must be one of {TABLE_SIZES} or None, got {table!r}")
    s = min(height, width) / table
    value = _TABLES[table][name][severity - 1]
    if name == "zoom_blur":
        value = np.arange(*value)
    value = _scaled(name, value, s)
    fitting = 1 << max(1, math.ceil(math.log2(max(height, width))))  # smallest power of two covering the image
    mapsize = max(_FOG_MAPSIZE[table], fitting) if s == 1.0 else fitting
    return SizeParams(name=name, severity=severity, table=table, scale=s, value=value,
                      frost_scale=_FROST_SCALE[table] * s, fog_mapsize=mapsize)
