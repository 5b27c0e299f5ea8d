"""Frost textures, read from the package data of the ``imagecorruptions-imaug`` (or ``imagecorruptions``) wheel.

Both PyPI packages ship ``imagecorruptions/frost/frost1.png .. frost6.jpg``. The reference generators pick among the
first five only (``np.random.randint(5)``), so frost6 is never used. The package is located without importing it
(its module imports OpenCV and scikit-image at import time, which we do not need), and textures are decoded with Pillow
and cached per scale.
"""
from __future__ import annotations

import importlib.util
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["FROST_FILES", "frost_directory", "load_frost_textures", "resize_bilinear_cv2"]

FROST_FILES: tuple[str, ...] = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")
_INSTALL_HINT = "pip install imagecorruptions-imaug  (or: pip install imagecorruptions)"


def frost_directory() -> Path:
    """The installed ``imagecorruptions/frost`` folder.

    Raises:
        FileNotFoundError: when neither PyPI package is installed, naming the pip command to fix it.
    """
    spec = importlib.util.find_spec("imagecorruptions")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        d = Path(loc) / "frost"
        if all((d / f).is_file() for f in FROST_FILES):
            return d
    raise FileNotFoundError(
        "The frost corruption needs the frost textures shipped by the 'imagecorruptions-imaug' package "
        f"(imagecorruptions/frost/frost1.png ...), which was not found. Install it with: {_INSTALL_HINT}")


def resize_bilinear_cv2(img: np.ndarray, fx: float) -> np.ndarray:
    """``cv2.resize(img, (0, 0), fx=fx, fy=fx)`` with INTER_LINEAR: half-pixel centres, no antialiasing, uint8."""
    h, w = img.shape[:2]
    oh, ow = int(round(h * fx)), int(round(w * fx))

    def axis(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = (np.arange(n_out) + 0.5) / fx - 0.5
        src = np.maximum(src, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (src - i0)

    r0, r1, wr = axis(oh, h)
    c0, c1, wc = axis(ow, w)
    x = img.astype(np.float64)
    rows = x[r0] * (1 - wr)[:, None, None] + x[r1] * wr[:, None, None]
    out = rows[:, c0] * (1 - wc)[None, :, None] + rows[:, c1] * wc[None, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@lru_cache(maxsize=16)
def load_frost_textures(scale: float, min_height: int = 1, min_width: int = 1) -> tuple[np.ndarray, ...]:
    """The five RGB frost textures resized by ``scale`` (and enlarged further if needed so a crop of
    ``min_height x min_width`` leaves at least one offset, as ``randint(0, size - crop)`` requires)."""
    d = frost_directory()
    out = []
    for name in FROST_FILES:
        with Image.open(d / name) as im:
            arr = np.asarray(im.convert("RGB"))
        h, w = arr.shape[:2]
        s = max(scale, (min_height + 1) / h, (min_width + 1) / w)
        if s > scale:
            s = math.ceil(s * 1000) / 1000
        out.append(arr if s == 1.0 else resize_bilinear_cv2(arr, s))
    return tuple(out)
