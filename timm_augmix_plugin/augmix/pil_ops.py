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

* ``rotate``, ``shear_x`` / ``shear_y`` (and fractional translates): :func:`affine_bilinear`, a compiled (numba)
  re-statement of PIL's bilinear affine engine with the same float64 operations in the same order, so the bytes are
  PIL's. It is about 4x faster than PIL's per-pixel engine because, along an output row, source pixels come in runs
  that share their integer source position offset and row, and each run is interpolated as one contiguous,
  vectorised loop. Rotation by a multiple of 360 degrees and translation by 0 return the image itself (PIL returns
  an equal copy). :func:`apply_op_any` lets kernel outputs stay (H, W, 3) arrays for the next op and the mixing.

The four enhance ops go through PIL unchanged. ``tests/test_augmix_batched.py`` and ``tests/test_augmix_fastpath.py``
check every fast kernel for bit equality against PIL.
"""
from __future__ import annotations

import array
import math
from functools import cache, lru_cache

import numpy as np
from numba import njit, uint64
from PIL import Image, ImageEnhance

from .ops import AugMixOp, get_op
from .sampling import OpParams

__all__ = [
    "ENHANCERS", "affine_bilinear", "affine_bilinear_array", "apply_op", "apply_op_any", "apply_table",
    "autocontrast", "autocontrast_tables", "equalize", "is_identity", "kernel_affine_coeffs", "pil_affine", "rotate",
    "rotation_matrix", "translate"
]

#: The PIL enhancer class of each enhance op (the op records mark which ops are enhance ops).
ENHANCERS = {
    "color": ImageEnhance.Color,
    "contrast": ImageEnhance.Contrast,
    "brightness": ImageEnhance.Brightness,
    "sharpness": ImageEnhance.Sharpness,
}
_IDENTITY = np.arange(256, dtype=np.int64)
_LEVELS = np.arange(256, dtype=np.float64)
_IDENTITY_LIST = list(range(256))


def pil_affine(img: Image.Image, coeffs: tuple[float, ...], fill: int) -> Image.Image:
    """PIL's own bilinear affine transform (same size, ``fill`` outside): what :func:`affine_bilinear` reproduces."""
    return img.transform(img.size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR,
                         fillcolor=(fill,) * len(img.getbands()))


@njit(cache=True, nogil=True, boundscheck=False)
def _affine_bilinear_rgb(src: np.ndarray, a0: float, a1: float, a2: float, a3: float, a4: float, a5: float,
                         fill: int, out: np.ndarray) -> None:  # pragma: no cover (compiled)
    """``out`` = PIL's ``ImagingGenericTransform`` with ``affine_transform`` and ``bilinear_filter32RGB``.

    Per output pixel ``(x, y)``: ``u = a0 (x + .5) + a1 (y + .5) + a2``, ``v = a3 (x + .5) + a4 (y + .5) + a5``
    (float64, left to right); ``fill`` unless ``0 <= u < w`` and ``0 <= v < h``; else with ``i = floor(u - .5)``,
    ``j = floor(v - .5)``, ``dx = u - .5 - i``, ``dy = v - .5 - j``, per band ``r = p + (q - p) dx`` on rows
    ``clip(j)`` and ``min(j + 1, h - 1)`` (PIL re-uses row ``j`` below the last row: the same value), columns
    ``clip(i)``, ``clip(i + 1)``, and the value ``trunc(r0 + (r1 - r0) dy)``. Pixel values enter as exact float64
    integers, as PIL's int differences do; numba does not fuse multiply-adds without fastmath, and neither does PIL's
    x86-64 build.

    Row by row: the coordinates of the whole row first, then runs of pixels with the same ``i - x`` and ``j`` that
    need no clipping, each interpolated as one loop over contiguous bytes (unsigned indices, so numba emits no
    negative-index wrap-around and the loop vectorises); clipped border pixels one by one.
    """
    h, w, _ = src.shape
    s = src.reshape(-1)
    o = out.reshape(-1)
    wf = float(w)
    hf = float(h)
    stride = 3 * w
    inside = np.empty(w, np.bool_)
    xi = np.empty(w, np.int64)
    yi = np.empty(w, np.int64)
    dx3 = np.empty(3 * w, np.float64)
    dy3 = np.empty(3 * w, np.float64)
    three = uint64(3)
    for y in range(h):
        yc = y + 0.5
        row_u = a1 * yc
        row_v = a4 * yc
        for x in range(w):
            xc = x + 0.5
            u = a0 * xc + row_u + a2
            v = a3 * xc + row_v + a5
            inside[x] = (u >= 0.0) & (u < wf) & (v >= 0.0) & (v < hf)
            us = u - 0.5
            vs = v - 0.5
            fu = math.floor(us)
            fv = math.floor(vs)
            du = us - fu
            dv = vs - fv
            dx3[3 * x] = du
            dx3[3 * x + 1] = du
            dx3[3 * x + 2] = du
            dy3[3 * x] = dv
            dy3[3 * x + 1] = dv
            dy3[3 * x + 2] = dv
            xi[x] = int(min(max(fu, -2.0), wf + 1.0))  # clamped only so outside pixels convert safely
            yi[x] = int(min(max(fv, -2.0), hf + 1.0))
        orow = y * stride
        x = 0
        while x < w:
            if not inside[x]:
                o[orow + 3 * x] = fill
                o[orow + 3 * x + 1] = fill
                o[orow + 3 * x + 2] = fill
                x += 1
                continue
            kx = xi[x] - x
            ky = yi[x]
            r0 = max(ky, 0) * stride
            r1 = min(ky + 1, h - 1) * stride  # below the last row PIL re-uses the first one (v2 = v1): same value
            if xi[x] < 0 or xi[x] + 1 > w - 1:
                c0 = min(max(xi[x], 0), w - 1) * 3
                c1 = min(max(xi[x] + 1, 0), w - 1) * 3
                for b in range(3):
                    d = dx3[3 * x + b]
                    p = np.float64(s[r0 + c0 + b])
                    q = np.float64(s[r0 + c1 + b])
                    p2 = np.float64(s[r1 + c0 + b])
                    q2 = np.float64(s[r1 + c1 + b])
                    v1 = p + (q - p) * d
                    v2 = p2 + (q2 - p2) * d
                    o[orow + 3 * x + b] = np.uint8(v1 + (v2 - v1) * dy3[3 * x + b])
                x += 1
                continue
            e = x + 1
            while e < w and inside[e] and xi[e] - e == kx and yi[e] == ky and xi[e] + 1 <= w - 1:
                e += 1
            top = uint64(r0 + 3 * (x + kx))
            bottom = uint64(r1 + 3 * (x + kx))
            dst = uint64(orow + 3 * x)
            j0 = uint64(3 * x)
            for jj in range(3 * (e - x)):
                j = uint64(jj)
                d = dx3[j0 + j]
                p = np.float64(s[top + j])
                q = np.float64(s[top + j + three])
                p2 = np.float64(s[bottom + j])
                q2 = np.float64(s[bottom + j + three])
                v1 = p + (q - p) * d
                v2 = p2 + (q2 - p2) * d
                o[dst + j] = np.uint8(v1 + (v2 - v1) * dy3[j0 + j])
            x = e


def affine_bilinear(img: Image.Image, coeffs: tuple[float, ...], fill: int = 0) -> Image.Image:
    """Exactly ``img.transform(img.size, AFFINE, coeffs, BILINEAR, fillcolor=(fill,) * bands)``, about 4x faster.

    Args:
        img: the image; RGB uses the compiled kernel, other modes PIL itself.
        coeffs: ``(a, b, c, d, e, f)``: output pixel ``(x, y)`` samples the input at
            ``(a x + b y + c, d x + e y + f)`` (pixel centres at half-integers), as in ``Image.transform``.
        fill: value of every band outside the input.
    """
    if img.mode != "RGB" or len(coeffs) < 6:
        return pil_affine(img, coeffs, fill)
    return Image.fromarray(affine_bilinear_array(np.asarray(img), coeffs, fill), "RGB")


def affine_bilinear_array(src: np.ndarray, coeffs: tuple[float, ...], fill: int = 0) -> np.ndarray:
    """:func:`affine_bilinear` of an (H, W, 3) uint8 RGB array, returning a new (writable) array of the same shape."""
    if src.dtype != np.uint8 or src.ndim != 3 or src.shape[2] != 3:
        raise ValueError(f"affine_bilinear_array expects an (H, W, 3) uint8 RGB array, got {src.dtype} {src.shape}; "
                         "convert with np.asarray(img.convert('RGB')).")
    src = np.ascontiguousarray(src)
    out = np.empty_like(src)
    a0, a1, a2, a3, a4, a5 = (float(c) for c in coeffs[:6])
    _affine_bilinear_rgb(src, a0, a1, a2, a3, a4, a5, int(fill), out)
    return out


def kernel_affine_coeffs(op: OpParams, image_size: tuple[int, int]) -> tuple[float, ...] | None:
    """The affine matrix :func:`apply_op` hands to the compiled kernel for ``op``, or None where it does not.

    None for non-geometric ops, whole-pixel translates (crop/paste) and rotations by multiples of 90 degrees
    (identity or PIL's transpose shortcuts).
    """
    record, arg = get_op(op.name), op.argument
    if not record.geometric:
        return None
    if record.affine_column is None:  # rotate
        return None if float(arg) % 90.0 == 0 else rotation_matrix(arg, image_size)
    if _is_shift(record, arg):
        return None
    return record.affine_coeffs(arg)


def is_identity(op: OpParams) -> bool:
    """Whether ``op`` returns its input unchanged: rotate by a multiple of 360 degrees, translate by 0 pixels."""
    record = get_op(op.name)
    if not record.geometric:
        return False
    if record.affine_column is None:  # rotate
        return float(op.argument) % 360.0 == 0
    return record.size_axis is not None and op.argument == 0


def _is_shift(record: AugMixOp, arg: float) -> bool:
    """A translate by a whole number of pixels: a pure shift, done by crop/paste."""
    return record.size_axis is not None and float(arg).is_integer()


def apply_op_any(image: Image.Image | np.ndarray, op: OpParams, fill: int = 0) -> Image.Image | np.ndarray:
    """:func:`apply_op` on a PIL RGB image or an (H, W, 3) uint8 array; kernel outputs stay arrays.

    Chains whose ops follow each other through the compiled affine kernel (and the mixing after them) then skip the
    PIL <-> array copies in between; the values are the same as :func:`apply_op`'s.
    """
    is_array = isinstance(image, np.ndarray)
    if is_array or image.mode == "RGB":
        size = (image.shape[1], image.shape[0]) if is_array else image.size
        if is_identity(op):
            return image
        coeffs = kernel_affine_coeffs(op, size)
        if coeffs is not None:
            return affine_bilinear_array(image if is_array else np.asarray(image), coeffs, fill)
    if is_array:
        image = Image.fromarray(image, "RGB")
    return apply_op(image, op, fill)


def rotate(img: Image.Image, angle: float, fill: int = 0) -> Image.Image:
    """Exactly ``img.rotate(angle, resample=BILINEAR, fillcolor=(fill,) * bands)`` (centre, same size).

    A multiple of 360 degrees returns ``img`` itself (PIL returns an equal copy); 90/180/270 degrees, where PIL takes
    its transpose shortcuts, go through PIL; any other angle is PIL's inverse rotation matrix through
    :func:`affine_bilinear`.
    """
    turn = float(angle) % 360.0
    if turn == 0:
        return img
    if turn in (90.0, 180.0, 270.0):
        return img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=(fill,) * len(img.getbands()))
    return affine_bilinear(img, rotation_matrix(angle, img.size), fill)


def rotation_matrix(angle: float, image_size: tuple[int, int]) -> tuple[float, ...]:
    """The inverse affine matrix ``Image.rotate(angle)`` (centre, no expand) samples with, computed as PIL does."""
    w, h = image_size
    return _rotation_matrix(float(angle), int(w), int(h))


@lru_cache(maxsize=4096)
def _rotation_matrix(angle: float, w: int, h: int) -> tuple[float, ...]:
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
    """``out(x, y) = img(x + dx, y + dy)`` with ``fill`` outside: PIL's bilinear affine for whole-pixel offsets.

    A zero offset returns ``img`` itself: PIL's identity affine samples every pixel centre with zero weights on its
    neighbours, i.e. returns an equal copy.
    """
    if dx == 0 and dy == 0:
        return img
    w, h = img.size
    out = Image.new(img.mode, img.size, (fill,) * len(img.getbands()))
    if abs(dx) < w and abs(dy) < h:
        box = (max(dx, 0), max(dy, 0), min(w, w + dx), min(h, h + dy))
        out.paste(img.crop(box), (max(-dx, 0), max(-dy, 0)))
    return out


def apply_op(img: Image.Image, op: OpParams, fill: int = 0) -> Image.Image:
    """Apply one AugMix op to an RGB PIL image, exactly as the paper's ``augmentations.py`` does.

    Args:
        img: RGB image.
        op: the op and its argument (see :func:`~timm_augmix_plugin.augmix.ops.op_argument`).
        fill: border value of rotate/shear/translate (the paper's code leaves 0).
    """
    record, arg = get_op(op.name), op.argument
    if not record.takes_argument:
        return _ARGUMENT_FREE_KERNELS[record.name](img)
    if record.base is not None:  # posterize, solarize: a lookup table of the argument
        return apply_table(img, _LOOKUP_TABLES[record.name](int(arg), len(img.getbands())))
    if record.enhance:
        return ENHANCERS[record.name](img).enhance(arg)
    if record.affine_column is None:  # rotate
        return rotate(img, arg, fill)
    if _is_shift(record, arg):
        shift = [0, 0]
        shift[record.size_axis] = int(arg)
        return translate(img, *shift, fill)
    return affine_bilinear(img, record.affine_coeffs(arg), fill)


#: The kernels of the argument-free ops, and the lookup-table builders ``(argument, bands) -> table`` of the ops whose
#: argument is ``base - parameter``; which op is which comes from its record in ``ops.OPS``.
_ARGUMENT_FREE_KERNELS = {"autocontrast": autocontrast, "equalize": equalize}
_LOOKUP_TABLES = {"posterize": _posterize_table, "solarize": _solarize_table}
