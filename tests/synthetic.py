"""Synthetic images for the tests (no downloads, no shared data)."""
from __future__ import annotations

import numpy as np
from PIL import Image


def make_image(size: int = 32, seed: int = 0) -> Image.Image:
    """A structured RGB test image (gradients plus a square), so geometric ops visibly move content."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    arr = np.stack([xx * 255 // max(size - 1, 1), yy * 255 // max(size - 1, 1), (xx + yy) * 127 // max(size - 1, 1)],
                   axis=-1).astype(np.uint8)
    q = size // 4
    arr[q:2 * q, q:2 * q] = rng.integers(0, 256, 3, dtype=np.uint8)
    return Image.fromarray(arr, "RGB")
