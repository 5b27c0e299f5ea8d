"""Compiled inner loops (numba) for the corruptions that do not vectorise well in numpy.

Each kernel works on a whole batch so the Python overhead is paid once per call. ``cache=True`` keeps the compiled
code between processes (numba falls back to a user cache directory when the package directory is read-only).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sample_from_cdf", "glass_shuffle", "motion_blur_batch", "zoom_accumulate", "bilinear_sample",
           "correlate_rows", "correlate_cols", "brightness_kernel", "contrast_kernel", "affine_sample",
           "displaced_sample", "snow_combine", "impulse_kernel"]


@njit(cache=True, nogil=True)
def sample_from_cdf(values: np.ndarray, u: np.ndarray, cdf: np.ndarray, guide: np.ndarray,
                    out: np.ndarray) -> None:  # pragma: no cover
    """Inverse-transform sampling of a per-value discrete distribution over 0..255 (guide-table method).

    ``values`` and ``out`` are flat uint8 arrays, ``u`` flat uniforms in [0, 1), ``cdf[v, o] = P(out <= o | v)``
    with ``cdf[v, 255] == 1``; ``guide[v, b]`` is the smallest ``o`` with ``cdf[v, o] > b / B`` (B = guide width),
    so the search starts at most a step or two below the answer.
    """
    nb = guide.shape[1]
    for i in range(values.size):
        v = values[i]
        uu = u[i]
        o = guide[v, int(uu * nb)]
        while uu >= cdf[v, o]:
            o += 1
        out[i] = o


@njit(cache=True, nogil=True)
def glass_shuffle(x: np.ndarray, offsets: np.ndarray, delta: int) -> None:  # pragma: no cover
    """The reference's local pixel "swap", in place, for a batch ``x`` (N, H, W, C) uint8.

    ``offsets`` is (N, iterations, positions, 2) with (dx, dy) per visited position. Positions are visited as the
    reference does: h from H - delta down to delta + 1, and for each h, w from W - delta down to delta + 1. The
    reference's tuple assignment on numpy row views copies x[h', w'] into x[h, w] and leaves x[h', w'] unchanged.
    """
    n, hh, ww, cc = x.shape
    for b in range(n):
        for it in range(offsets.shape[1]):
            k = 0
            for h in range(hh - delta, delta, -1):
                for w in range(ww - delta, delta, -1):
                    dx = offsets[b, it, k, 0]
                    dy = offsets[b, it, k, 1]
                    k += 1
                    hp = h + dy
                    wp = w + dx
                    for c in range(cc):
                        x[b, h, w, c] = x[b, hp, wp, c]


@njit(cache=True, nogil=True)
def motion_blur_batch(x: np.ndarray, weights: np.ndarray, off_x: np.ndarray, off_y: np.ndarray,
                      out: np.ndarray) -> None:  # pragma: no cover
    """ImageMagick-style motion blur: ``out[y, x] = sum_i w_i * img[clamp(y + oy_i), clamp(x + ox_i)]``.

    ``x`` (N, H, W, C) float32; ``weights`` (W_k,) float32; ``off_x``/``off_y`` (N, W_k) int per image (the angle
    differs per image); edge pixels are replicated (ImageMagick's default virtual-pixel method). The interior of each
    row is a contiguous shifted multiply-add, which the compiler vectorises.
    """
    n, hh, ww, cc = x.shape
    rowlen = ww * cc
    nk = weights.size
    xf = x.reshape(n, hh, rowlen)
    of = out.reshape(n, hh, rowlen)
    xlo = np.empty(nk, dtype=np.int64)
    xhi = np.empty(nk, dtype=np.int64)
    for b in range(n):
        for i in range(nk):
            ox = off_x[b, i]
            xlo[i] = min(max(-ox, 0), ww)
            xhi[i] = max(min(ww - ox, ww), xlo[i])
        last = (ww - 1) * cc
        for y in range(hh):
            dst = of[b, y]
            for j in range(rowlen):
                dst[j] = 0.0
            for i in range(nk):  # all taps of one output row: the row stays in L1 cache
                wgt = weights[i]
                shift = off_x[b, i] * cc
                src = xf[b, min(max(y + off_y[b, i], 0), hh - 1)]
                # slices keep every index non-negative, so the loop has no wrap-around checks and vectorises
                dv = dst[xlo[i] * cc:xhi[i] * cc]
                sv = src[xlo[i] * cc + shift:xhi[i] * cc + shift]
                for j in range(dv.size):
                    dv[j] += wgt * sv[j]
                for xx in range(0, xlo[i]):
                    for c in range(cc):
                        dst[xx * cc + c] += wgt * src[c]
                for xx in range(xhi[i], ww):
                    for c in range(cc):
                        dst[xx * cc + c] += wgt * src[last + c]


@njit(cache=True, nogil=True)
def correlate_rows(x: np.ndarray, idx: np.ndarray, weights: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """``out[b, i] = sum_k w[k] * x[b, idx[i, k]]`` for (N, H, R) float32 arrays (a 1-D filter along H)."""
    n, hh, rl = x.shape
    for b in range(n):
        for i in range(hh):
            dst = out[b, i]
            for j in range(rl):
                dst[j] = 0.0
            for k in range(weights.size):
                wgt = weights[k]
                src = x[b, idx[i, k]]
                for j in range(rl):
                    dst[j] += wgt * src[j]


@njit(cache=True, nogil=True)
def correlate_cols(x: np.ndarray, idx: np.ndarray, weights: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """``out[b, i, j] = sum_k w[k] * x[b, i, idx[j, k]]`` for (N, H, W, C) float32 arrays (a 1-D filter along W).

    ``idx[j, k]`` must equal ``j + k - r`` away from the borders (r = half width); the interior is computed as
    contiguous shifted multiply-adds over the flattened row, the border columns through ``idx``.
    """
    n, hh, ww, cc = x.shape
    nk = weights.size
    r = (nk - 1) // 2
    rowlen = ww * cc
    xf = x.reshape(n, hh, rowlen)
    of = out.reshape(n, hh, rowlen)
    lo = min(r, ww)
    hi = max(ww - r, lo)
    for b in range(n):
        for i in range(hh):
            src = xf[b, i]
            dst = of[b, i]
            dv = dst[lo * cc:hi * cc]
            for j in range(dv.size):
                dv[j] = 0.0
            for k in range(nk):
                wgt = weights[k]
                sv = src[(lo + k - r) * cc:(hi + k - r) * cc]
                for j in range(dv.size):
                    dv[j] += wgt * sv[j]
            for j in range(ww):
                if j >= lo and j < hi:
                    continue
                for c in range(cc):
                    acc = 0.0
                    for k in range(nk):
                        acc += weights[k] * src[idx[j, k] * cc + c]
                    dst[j * cc + c] = acc


@njit(cache=True, nogil=True)
def snow_combine(x: np.ndarray, streaks: np.ndarray, blend: float, out: np.ndarray) -> None:  # pragma: no cover
    """Snow's final step on uint8 ``x`` (N, H, W, 3) with 8-bit streak layer ``streaks`` (N, H, W) float32 0..255.

    ``y = blend * x + (1 - blend) * max(x, 1.5 * grey + 0.5)``, then ``y + s + rot180(s)``, truncated to uint8.
    """
    n, hh, ww, _ = x.shape
    for b in range(n):
        for i in range(hh):
            for j in range(ww):
                r = x[b, i, j, 0] / 255.0
                g = x[b, i, j, 1] / 255.0
                bl = x[b, i, j, 2] / 255.0
                lift = (0.299 * r + 0.587 * g + 0.114 * bl) * 1.5 + 0.5
                add = (streaks[b, i, j] + streaks[b, hh - 1 - i, ww - 1 - j]) / 255.0
                for c in range(3):
                    v = x[b, i, j, c] / 255.0
                    y = blend * v + (1.0 - blend) * max(v, lift) + add
                    out[b, i, j, c] = np.uint8(min(max(y, 0.0), 1.0) * 255.0)


@njit(cache=True, nogil=True)
def impulse_kernel(x: np.ndarray, u: np.ndarray, c: float, out: np.ndarray) -> None:  # pragma: no cover
    """Salt and pepper: ``u < c / 2`` -> 0, ``u < c`` -> 255, else unchanged (flat arrays)."""
    half = c / 2
    for i in range(x.size):
        uu = u[i]
        out[i] = 0 if uu < half else (255 if uu < c else x[i])


@njit(cache=True, nogil=True)
def brightness_kernel(x: np.ndarray, c: float, out: np.ndarray) -> None:  # pragma: no cover
    """HSV V + c: RGB scaled by ``min(V + c, 1) / V`` (grey ``c`` where V == 0), truncated to uint8."""
    n = x.shape[0]
    for p in range(n):
        r = x[p, 0] / 255.0
        g = x[p, 1] / 255.0
        bb = x[p, 2] / 255.0
        v = max(r, max(g, bb))
        vn = min(v + c, 1.0)
        if v > 0:
            out[p, 0] = np.uint8(min(max(r / v * vn, 0.0), 1.0) * 255.0)
            out[p, 1] = np.uint8(min(max(g / v * vn, 0.0), 1.0) * 255.0)
            out[p, 2] = np.uint8(min(max(bb / v * vn, 0.0), 1.0) * 255.0)
        else:
            q = np.uint8(vn * 255.0)
            out[p, 0] = q
            out[p, 1] = q
            out[p, 2] = q


@njit(cache=True, nogil=True)
def contrast_kernel(x: np.ndarray, c: float, out: np.ndarray) -> None:  # pragma: no cover
    """Per image and channel: ``(x - mean) * c + mean`` on [0, 1] values, truncated to uint8. x: (N, P, C) uint8."""
    n, npx, cc = x.shape
    means = np.zeros(cc)
    for b in range(n):
        for ch in range(cc):
            means[ch] = 0.0
        for p in range(npx):
            for ch in range(cc):
                means[ch] += x[b, p, ch]
        for ch in range(cc):
            means[ch] = means[ch] / npx / 255.0
        for p in range(npx):
            for ch in range(cc):
                v = (x[b, p, ch] / 255.0 - means[ch]) * c + means[ch]
                out[b, p, ch] = np.uint8(min(max(v, 0.0), 1.0) * 255.0)


@njit(cache=True, nogil=True)
def zoom_accumulate(x: np.ndarray, y0: np.ndarray, y1: np.ndarray, wy: np.ndarray, x0: np.ndarray, x1: np.ndarray,
                    wx: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """Add bilinear zooms of ``x`` (N, H, W, C) float32 into ``out``; one (rows, cols) index/weight set per factor.

    ``y0, y1, wy`` are (F, H) and ``x0, x1, wx`` (F, W): output row i of factor f interpolates source rows
    y0[f, i] and y1[f, i] with weight wy[f, i] on y1 (likewise for columns).
    """
    n, hh, ww, cc = x.shape
    nf = y0.shape[0]
    rowlen = ww * cc
    xf = x.reshape(n, hh, rowlen)
    tmp = np.empty(rowlen, dtype=np.float32)
    for b in range(n):
        for f in range(nf):
            for i in range(hh):
                a = wy[f, i]
                s0 = xf[b, y0[f, i]]
                s1 = xf[b, y1[f, i]]
                for j in range(rowlen):  # vertical interpolation of one row (contiguous)
                    tmp[j] = (1.0 - a) * s0[j] + a * s1[j]
                for j in range(ww):  # horizontal interpolation, accumulated into the output
                    e = wx[f, j]
                    p0 = x0[f, j] * cc
                    p1 = x1[f, j] * cc
                    for c in range(cc):
                        out[b, i, j, c] += (1.0 - e) * tmp[p0 + c] + e * tmp[p1 + c]


@njit(cache=True, nogil=True)
def _fold(i: int, n: int, mode: int) -> int:  # pragma: no cover
    # mode 0: scipy 'reflect' (d c b a | a b c d); mode 1: cv2 REFLECT_101 / scipy 'mirror' (d c b | a b c d)
    if n == 1:
        return 0
    if mode == 0:
        period = 2 * n
        i = i % period
        if i < 0:
            i += period
        return i if i < n else period - 1 - i
    period = 2 * n - 2
    i = i % period
    if i < 0:
        i += period
    return i if i < n else period - i


@njit(cache=True, nogil=True, inline="always")
def _bilinear_at(x: np.ndarray, b: int, yy: float, xx: float, mode: int, out: np.ndarray, i: int,
                 j: int) -> None:  # pragma: no cover
    hh, ww, cc = x.shape[1], x.shape[2], x.shape[3]
    fy = np.floor(yy)
    fx = np.floor(xx)
    a = yy - fy
    e = xx - fx
    iy = int(fy)
    ix = int(fx)
    if iy >= 0 and iy + 1 < hh:
        r0 = iy
        r1 = iy + 1
    else:
        r0 = _fold(iy, hh, mode)
        r1 = _fold(iy + 1, hh, mode)
    if ix >= 0 and ix + 1 < ww:
        c0 = ix
        c1 = ix + 1
    else:
        c0 = _fold(ix, ww, mode)
        c1 = _fold(ix + 1, ww, mode)
    for c in range(cc):
        out[b, i, j, c] = ((1.0 - a) * ((1.0 - e) * x[b, r0, c0, c] + e * x[b, r0, c1, c])
                           + a * ((1.0 - e) * x[b, r1, c0, c] + e * x[b, r1, c1, c]))


@njit(cache=True, nogil=True)
def bilinear_sample(x: np.ndarray, ys: np.ndarray, xs: np.ndarray, mode: int,
                    out: np.ndarray) -> None:  # pragma: no cover
    """Bilinear sampling of ``x`` (N, H, W, C) float32 at float coordinates ``ys``/``xs`` (N, H, W).

    Neighbour indices outside the image are folded back with ``mode`` (0: half-sample symmetric like scipy's
    ``map_coordinates(mode='reflect')``; 1: whole-sample symmetric like cv2 ``BORDER_REFLECT_101``).
    """
    n, hh, ww = ys.shape
    for b in range(n):
        for i in range(hh):
            for j in range(ww):
                _bilinear_at(x, b, ys[b, i, j], xs[b, i, j], mode, out, i, j)


@njit(cache=True, nogil=True)
def affine_sample(x: np.ndarray, mats: np.ndarray, mode: int, out: np.ndarray) -> None:  # pragma: no cover
    """Bilinear sampling at ``(x_src, y_src) = mats[b] @ (j, i, 1)`` for every output pixel (i, j) of image b."""
    n, hh, ww, _ = x.shape
    for b in range(n):
        m = mats[b]
        for i in range(hh):
            for j in range(ww):
                _bilinear_at(x, b, m[1, 0] * j + m[1, 1] * i + m[1, 2], m[0, 0] * j + m[0, 1] * i + m[0, 2],
                             mode, out, i, j)


@njit(cache=True, nogil=True)
def displaced_sample(x: np.ndarray, dy: np.ndarray, dx: np.ndarray, mode: int,
                     out: np.ndarray) -> None:  # pragma: no cover
    """Bilinear sampling at ``(i + dy[b, i, j], j + dx[b, i, j])``."""
    n, hh, ww, _ = x.shape
    for b in range(n):
        for i in range(hh):
            for j in range(ww):
                _bilinear_at(x, b, i + dy[b, i, j], j + dx[b, i, j], mode, out, i, j)
