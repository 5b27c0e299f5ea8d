"""AugMix op kernels on PIL images: pure functions of (image, op parameters), no randomness.

Every kernel gives exactly the image of the paper's ``augmentations.py`` call (PIL's ``ImageOps`` / ``transform``), but
several are computed faster with the same arithmetic:

* ``autocontrast``: PIL builds its table in a Python loop from each band's extrema; here the table of an extrema
  pair ``(lo, hi)`` is built once with the same float64 formula (numpy) and cached;
* ``equalize``: the table is built with numpy from PIL's histogram with the same integer formula;
* ``posterize`` / ``solarize``: their 768-entry tables depend only on the argument and are cached;
* tables of ints are applied without ``Image.point``'s per-entry ``round()`` loop (see :func:`apply_table`);
* ``translate_x`` / ``translate_y`` by a whole number of pixels: PIL's bilinear resampling then samples exactly at
  pixel centres (the fractional offset is 0), so the result is a pure shift with ``fill`` borders, done by crop/paste.

``rotate``, ``shear_x`` / ``shear_y`` and the four enhance ops go through PIL unchanged (bit-exact re-statements of
PIL's bilinear engine in numpy and numba were measured no faster). ``tests/test_augmix_batched.py`` checks every
fast kernel for bit equality against PIL.
"""
from __future__ import annotations

import array
import math
from functools import cache, lru_cache

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from .sampling import OpParams

_ENHANCERS = {
    "color": ImageEnhance.Color,
    "contrast": ImageEnhance.Contrast,
    "brightness": ImageEnhance.Brightness,
    "sharpness": ImageEnhance.Sharpness,
}
_IDENTITY = np.arange(256, dtype=np.int64)
_LEVELS = np.arange(256, dtype=np.float64)
_IDENTITY_LIST = list(range(256))


def _affine(img: Image.Image, coeffs: tuple[float, ...], fill: int) -> Image.Image:
    return img.transform(img.size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR,
                         fillcolor=(fill,) * len(img.getbands()))


def rotation_matrix(angle: float, image_size: tuple[int, int]) -> tuple[float, ...]:
    """The inverse affine matrix ``Image.rotate(angle)`` (centre, no expand) samples with, computed as PIL does."""
    w, h = image_size
    a = -math.radians(angle % 360.0)
    m = [round(math.cos(a), 15), round(math.sin(a), 15), 0.0, round(-math.sin(a), 15), round(math.cos(a), 15), 0.0]
    cx, cy = w / 2.0, h / 2.0
    m[2], m[5] = m[0] * -cx + m[1] * -cy + m[2], m[3] * -cx + m[4] * -cy + m[5]
    m[2] += cx
    m[5] += cy
    return tuple(m)


def _band_histograms(img: Image.Image) -> np.ndarray:
    return np.frombuffer(array.array("q", img.histogram()), dtype=np.int64).reshape(-1, 256)


def apply_table(img: Image.Image, table: list[int]) -> Image.Image:
    """``img.point(table)`` for an integer table with one 256-entry block per band.

    ``Image.point`` first rounds every entry in a Python loop (about 80 us for 768 entries), which is pointless for a
    table of ints; the core ``point`` it then calls is used directly. Falls back to ``Image.point`` if a Pillow version
    lacks that core method, so the result is the same either way.
    """
    img.load()
    try:
        return img._new(img.im.point(table, None))
    except (AttributeError, TypeError):
        return img.point(table)


def autocontrast_tables(hist: np.ndarray) -> np.ndarray:
    """``ImageOps.autocontrast``'s tables (cutoff 0), one row per band of a ``(bands, 256)`` histogram.

    For a band with lowest / highest present values ``lo < hi``: ``clip(int(i * scale + offset), 0, 255)`` with
    ``scale = 255.0 / (hi - lo)`` and ``offset = -lo * scale`` (float64, as PIL); the identity otherwise.
    """
    present = hist > 0
    lo = np.argmax(present, axis=1)
    hi = 255 - np.argmax(present[:, ::-1], axis=1)
    stretch = hi > lo
    scale = 255.0 / np.where(stretch, hi - lo, 1)
    offset = -lo * scale
    tables = np.clip(np.trunc(_LEVELS * scale[:, None] + offset[:, None]), 0, 255).astype(np.int64)
    return np.where(stretch[:, None], tables, _IDENTITY)


@lru_cache(maxsize=8192)
def _autocontrast_band(lo: int, hi: int) -> tuple[int, ...]:
    """One band's autocontrast table for extrema ``(lo, hi)`` (``autocontrast_tables`` of a 2-value histogram)."""
    hist = np.zeros((1, 256), dtype=np.int64)
    hist[0, lo] = hist[0, hi] = 1
    return tuple(autocontrast_tables(hist)[0].tolist())


def autocontrast(img: Image.Image) -> Image.Image:
    """Exactly ``ImageOps.autocontrast(img)``: the table depends only on each band's extrema, so it is cached."""
    extrema = img.getextrema()
    if len(img.getbands()) == 1:
        extrema = (extrema,)
    table: list[int] = []
    for lo, hi in extrema:
        table.extend(_autocontrast_band(lo, hi))
    return apply_table(img, table)


def equalize(img: Image.Image) -> Image.Image:
    """Exactly ``ImageOps.equalize(img)``, with the table built by numpy.

    Per band: ``step = (pixels - count of the highest value) // 255``; entry ``i`` is
    ``(step // 2 + pixels below i) // step``; the identity if the band has a single value or ``step`` is 0.
    """
    hist = _band_histograms(img)
    extrema = img.getextrema()
    if len(hist) == 1:
        extrema = (extrema,)
    pixels = img.size[0] * img.size[1]
    below = np.cumsum(hist, axis=1) - hist
    table: list[int] = []
    for band, (lo, hi) in enumerate(extrema):
        step = (pixels - int(hist[band, hi])) // 255
        table.extend(((step // 2 + below[band]) // step).tolist() if lo < hi and step else _IDENTITY_LIST)
    return apply_table(img, table)


@cache
def _posterize_table(bits: int, bands: int) -> list[int]:
    if not 1 <= bits <= 8:
        raise ValueError(f"posterize keeps 1..8 bits, got {bits}.")
    mask = ~(2 ** (8 - bits) - 1)
    return [i & mask for i in range(256)] * bands


@cache
def _solarize_table(threshold: int, bands: int) -> list[int]:
    return [i if i < threshold else 255 - i for i in range(256)] * bands


def translate(img: Image.Image, dx: int, dy: int, fill: int) -> Image.Image:
    """``out(x, y) = img(x + dx, y + dy)`` with ``fill`` outside: PIL's bilinear affine for whole-pixel offsets."""
    w, h = img.size
    out = Image.new(img.mode, img.size, (fill,) * len(img.getbands()))
    if abs(dx) < w and abs(dy) < h:
        box = (max(dx, 0), max(dy, 0), min(w, w + dx), min(h, h + dy))
        out.paste(img.crop(box), (max(-dx, 0), max(-dy, 0)))
    return out


def _whole(arg: float) -> bool:
    return float(arg).is_integer()


def apply_op(img: Image.Image, op: OpParams, fill: int = 0) -> Image.Image:
    """Apply one AugMix op to an RGB PIL image, exactly as the paper's ``augmentations.py`` does.

    Args:
        img: RGB image.
        op: the op and its argument (see :func:`~timm_augmix_plugin.augmix.ops.op_argument`).
        fill: border value of rotate/shear/translate (the paper's code leaves 0).
    """
    name, arg = op.name, op.argument
    if name == "autocontrast":
        return autocontrast(img)
    if name == "equalize":
        return equalize(img)
    if name == "posterize":
        return apply_table(img, _posterize_table(int(arg), len(img.getbands())))
    if name == "solarize":
        return apply_table(img, _solarize_table(int(arg), len(img.getbands())))
    if name == "rotate":
        return img.rotate(arg, resample=Image.Resampling.BILINEAR, fillcolor=(fill,) * len(img.getbands()))
    if name == "shear_x":
        return _affine(img, (1, arg, 0, 0, 1, 0), fill)
    if name == "shear_y":
        return _affine(img, (1, 0, 0, arg, 1, 0), fill)
    if name == "translate_x":
        return translate(img, int(arg), 0, fill) if _whole(arg) else _affine(img, (1, 0, arg, 0, 1, 0), fill)
    if name == "translate_y":
        return translate(img, 0, int(arg), fill) if _whole(arg) else _affine(img, (1, 0, 0, 0, 1, arg), fill)
    if name in _ENHANCERS:
        return _ENHANCERS[name](img).enhance(arg)
    raise ValueError(f"Unknown AugMix op {name!r}.")


_AFFINE_COEFFS = {
    "shear_x": lambda a: (1, a, 0, 0, 1, 0),
    "shear_y": lambda a: (1, 0, 0, a, 1, 0),
    "translate_x": lambda a: (1, 0, a, 0, 1, 0),
    "translate_y": lambda a: (1, 0, 0, 0, 1, a),
}


def apply_op_reference(img: Image.Image, op: OpParams, fill: int = 0) -> Image.Image:
    """The op through PIL's own functions only (``ImageOps`` / ``transform``): the reference the fast kernels match."""
    name, arg = op.name, op.argument
    if name == "autocontrast":
        return ImageOps.autocontrast(img)
    if name == "equalize":
        return ImageOps.equalize(img)
    if name == "posterize":
        return ImageOps.posterize(img, int(arg))
    if name == "solarize":
        return ImageOps.solarize(img, int(arg))
    if name in _AFFINE_COEFFS:
        return _affine(img, _AFFINE_COEFFS[name](arg), fill)
    return apply_op(img, op, fill)
