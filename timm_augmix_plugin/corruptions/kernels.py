"""Compiled inner loops (numba) for the corruptions that do not vectorise well in numpy (the -P sequences reuse
the brightness and snow kernels).

Each kernel works on a whole batch so the Python overhead is paid once per call. ``cache=True`` keeps the compiled
code between processes (numba falls back to a user cache directory when the package directory is read-only).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sample_from_cdf", "sample_from_thresholds", "plasma_fill", "fog_combine", "disk_sum", "glass_shuffle",
           "glass_shuffle_bytes", "motion_blur_batch", "zoom_accumulate", "zoom_accumulate_flat",
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
def sample_from_thresholds(values: np.ndarray, words: np.ndarray, thresholds: np.ndarray, guide: np.ndarray,
                           out: np.ndarray) -> None:  # pragma: no cover
    """``sample_from_cdf`` on integers: the same draws from raw 32-bit random words, with smaller tables.

    ``words`` are the generator's 32-bit outputs; ``k = word >> 8`` is the 24-bit integer behind numpy's float32
    uniform ``u = k / 2**24``, so ``u >= cdf[v, o]`` is exactly ``k >= thresholds[v, o]`` with
    ``thresholds = ceil(cdf * 2**24)`` (uint32). ``guide`` (256, B) uint8, B a power of two <= 2**24: smallest ``o``
    with ``cdf[v, o] > b / B``.
    """
    shift = 24
    nb = guide.shape[1]
    while nb > 1:
        nb >>= 1
        shift -= 1
    for i in range(values.size):
        v = values[i]
        k = words[i] >> 8
        o = np.int64(guide[v, k >> shift])
        while k >= thresholds[v, o]:
            o += 1
        out[i] = o


@njit(cache=True, nogil=True)
def plasma_fill(u: np.ndarray, mapsize: int, wibbledecay: float, grid: np.ndarray) -> None:  # pragma: no cover
    """Diamond-square fill of ``grid`` (N, m, m) float64 (zeros on entry) from uniforms ``u`` (N, K) in [-1, 1).

    Same arithmetic, in the same order, as the vectorised numpy version (``weather.plasma_fractal_batch``): per level
    the squares, then the two diamond sets, consuming ``u`` in row-major order per set, with wrap-around neighbours.
    """
    n = grid.shape[0]
    m = mapsize
    for b in range(n):
        g = grid[b]
        ub = u[b]
        pos = 0
        step = m
        wibble = 100.0
        while step >= 2:
            half = step // 2
            k = m // step
            amp = wibble * wibble
            for a in range(k):
                a1 = (a + 1) % k
                for c in range(k):
                    c1 = (c + 1) % k
                    sq = (g[a * step, c * step] + g[a1 * step, c * step]) + (
                        g[a * step, c1 * step] + g[a1 * step, c1 * step])
                    g[a * step + half, c * step + half] = sq / 4 + ub[pos + a * k + c] * amp
            pos += k * k
            for a in range(k):  # diamonds on the corner rows: (a * step, c * step + half)
                am = (a - 1) % k
                for c in range(k):
                    c1 = (c + 1) % k
                    t = g[a * step + half, c * step + half] + g[am * step + half, c * step + half]
                    t = t + g[a * step, c * step]
                    t = t + g[a * step, c1 * step]
                    g[a * step, c * step + half] = t / 4 + ub[pos + a * k + c] * amp
            pos += k * k
            for a in range(k):  # diamonds on the corner columns: (a * step + half, c * step)
                a1 = (a + 1) % k
                for c in range(k):
                    cm = (c - 1) % k
                    t = g[a * step + half, c * step + half] + g[a * step + half, cm * step + half]
                    t = t + g[a * step, c * step]
                    t = t + g[a1 * step, c * step]
                    g[a * step + half, c * step] = t / 4 + ub[pos + a * k + c] * amp
            pos += k * k
            step //= 2
            wibble /= wibbledecay


@njit(cache=True, nogil=True)
def fog_combine(x: np.ndarray, grid: np.ndarray, strength: np.float32, out: np.ndarray) -> None:  # pragma: no cover
    """Fog's final step, fused: the arithmetic of ``weather.fog`` on numpy arrays, value for value.

    ``x``/``out`` (N, H, W, C) uint8, ``grid`` (N, m, m) float64 raw plasma (normalised here to [0, 1] in float64,
    then cast to float32), ``strength`` float32. Per image: ``y = x * (1 / 255) + strength * plasma`` and
    ``y * (max / (max + strength))`` with ``max`` the image's largest ``x * (1 / 255)``, all in float32, truncated.
    """
    n, hh, ww, cc = x.shape
    m = grid.shape[1]
    inv = np.float32(1.0 / 255.0)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    full = np.float32(255.0)
    for b in range(n):
        g = grid[b]
        lo = g[0, 0]
        for i in range(m):
            for j in range(m):
                lo = min(lo, g[i, j])
        hi = g[0, 0] - lo
        for i in range(m):
            for j in range(m):
                hi = max(hi, g[i, j] - lo)
        xmax = x[b, 0, 0, 0]
        for i in range(hh):
            for j in range(ww):
                for c in range(cc):
                    xmax = max(xmax, x[b, i, j, c])
        mv = np.float32(xmax) * inv
        factor = mv / (mv + strength)
        for i in range(hh):
            for j in range(ww):
                pl = np.float32((g[i, j] - lo) / hi)
                add = strength * pl
                for c in range(cc):
                    y = (np.float32(x[b, i, j, c]) * inv + add) * factor
                    out[b, i, j, c] = np.uint8(min(max(y, zero), one) * full)


@njit(cache=True, nogil=True)
def disk_sum(xp: np.ndarray, widths: np.ndarray, pad: int, out: np.ndarray) -> None:  # pragma: no cover
    """Unnormalised disk sums: ``out[b, y, x] = sum_dx sum_{|dy| <= widths[dx + r]} xp[b, y + pad + dy, x + pad + dx]``.

    ``xp`` (N, H + 2 pad, W + 2 pad, C) float32 is the border-padded batch, ``out`` (N, H, W, C) float32, ``widths``
    (2 r + 1,) int the half-height of each disk column (-1 for an empty column), ``pad >= r``. Each column span is the
    difference of two running sums down the columns, so the cost does not grow with the disk area and every loop runs
    over contiguous rows.
    """
    n, hp, wp, cc = xp.shape
    hh, ww = out.shape[1], out.shape[2]
    r = (widths.size - 1) // 2
    rl = wp * cc
    ol = ww * cc
    prefix = np.empty((hp + 1, rl), dtype=np.float32)
    for b in range(n):
        xb = xp[b].reshape(hp, rl)
        for i in range(rl):
            prefix[0, i] = 0.0
        for yy in range(hp):
            src = xb[yy]
            p0 = prefix[yy]
            p1 = prefix[yy + 1]
            for i in range(rl):
                p1[i] = p0[i] + src[i]
        for y in range(hh):
            o = out[b, y].reshape(ol)
            for i in range(ol):
                o[i] = 0.0
            for dx in range(-r, r + 1):
                w = widths[dx + r]
                if w < 0:
                    continue
                shift = (pad + dx) * cc
                hi = prefix[y + pad + w + 1, shift:shift + ol]
                lo = prefix[y + pad - w, shift:shift + ol]
                for i in range(ol):
                    o[i] += hi[i] - lo[i]


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
def glass_shuffle_bytes(x: np.ndarray, rand: np.ndarray, delta: int, iterations: int,
                        done: np.ndarray) -> None:  # pragma: no cover
    """``glass_shuffle`` with the offsets decoded on the fly from random bytes, for a batch ``x`` (N, H, W).

    ``x`` holds one element per pixel (the caller packs RGB uint8 into uint32, so a pixel moves with one load and one
    store). Each offset component is one byte of ``rand[b]`` (N, B) uint8 mapped to ``-delta .. delta - 1`` exactly
    uniformly: ``byte % (2 * delta)`` after rejecting bytes ``>= 256 - 256 % (2 * delta)`` (no byte is rejected when
    ``2 * delta`` divides 256). Components are taken in the reference's order (dx, then dy, per visited position).
    ``done[b]`` is set to 1 for the images whose bytes sufficed; the others are left untouched so the caller can
    retry them with more bytes.
    """
    n, hh, ww = x.shape
    r = 2 * delta
    limit = 256 - 256 % r
    table = np.empty(256, dtype=np.int64)  # byte -> offset, or a value < -delta for a rejected byte
    for v in range(256):
        table[v] = v % r - delta if v < limit else -delta - 1
    nbytes = rand.shape[1]
    need = 2 * iterations * max(hh - 2 * delta, 0) * max(ww - 2 * delta, 0)
    for b in range(n):
        rb = rand[b]
        # count accepted bytes first: the image is modified only when they suffice
        got = 0
        k = 0
        if limit == 256:
            got = min(need, nbytes)
        else:
            while got < need and k < nbytes:
                if rb[k] < limit:
                    got += 1
                k += 1
        if got < need:
            done[b] = 0
            continue
        done[b] = 1
        xf = x[b].reshape(hh * ww)
        k = 0
        for _ in range(iterations):
            for h in range(hh - delta, delta, -1):
                for w in range(ww - delta, delta, -1):
                    dx = table[rb[k]]
                    dy = table[rb[k + 1]]
                    k += 2
                    if dx < -delta or dy < -delta:  # a rejected byte: re-read both components in order
                        k -= 2
                        dx = table[rb[k]]
                        k += 1
                        while dx < -delta:
                            dx = table[rb[k]]
                            k += 1
                        dy = table[rb[k]]
                        k += 1
                        while dy < -delta:
                            dy = table[rb[k]]
                            k += 1
                    dst = h * ww + w
                    xf[dst] = xf[dst + dy * ww + dx]


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
    Divisions by 255 are table look-ups of the same float64 quotients (inputs are integers).
    """
    n, hh, ww, _ = x.shape
    lut = np.arange(511) / 255.0
    for b in range(n):
        for i in range(hh):
            for j in range(ww):
                r = lut[x[b, i, j, 0]]
                g = lut[x[b, i, j, 1]]
                bl = lut[x[b, i, j, 2]]
                lift = (0.299 * r + 0.587 * g + 0.114 * bl) * 1.5 + 0.5
                add = lut[int(streaks[b, i, j] + streaks[b, hh - 1 - i, ww - 1 - j])]
                for c in range(3):
                    v = lut[x[b, i, j, c]]
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
    """HSV V + c: RGB scaled by ``clip(V + c, 0, 1) / V`` (grey ``max(c, 0)`` where V == 0), truncated to uint8."""
    n = x.shape[0]
    lut = np.arange(256) / 255.0  # the same float64 quotients as dividing each value by 255
    for p in range(n):
        r = lut[x[p, 0]]
        g = lut[x[p, 1]]
        bb = lut[x[p, 2]]
        v = max(r, max(g, bb))
        vn = min(v + c, 1.0)
        if v > 0:
            out[p, 0] = np.uint8(min(max(r / v * vn, 0.0), 1.0) * 255.0)
            out[p, 1] = np.uint8(min(max(g / v * vn, 0.0), 1.0) * 255.0)
            out[p, 2] = np.uint8(min(max(bb / v * vn, 0.0), 1.0) * 255.0)
        else:
            q = np.uint8(max(vn, 0.0) * 255.0)  # -P brightness also lowers V (c < 0)
            out[p, 0] = q
            out[p, 1] = q
            out[p, 2] = q


@njit(cache=True, nogil=True)
def contrast_kernel(x: np.ndarray, c: float, out: np.ndarray) -> None:  # pragma: no cover
    """Per image and channel: ``(x - mean) * c + mean`` on [0, 1] values, truncated to uint8. x: (N, P, C) uint8."""
    n, npx, cc = x.shape
    means = np.zeros(cc)
    lut = np.arange(256) / 255.0  # the same float64 quotients as dividing each value by 255
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
                v = (lut[x[b, p, ch]] - means[ch]) * c + means[ch]
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
def zoom_accumulate_flat(x: np.ndarray, y0: np.ndarray, y1: np.ndarray, wy: np.ndarray, c0: np.ndarray,
                         c1: np.ndarray, wc: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """``zoom_accumulate`` with the horizontal pass first, on flattened rows (faster at large sizes).

    ``x`` and ``out`` are (N, H, R) float32 with R = W * C; ``c0, c1, wc`` are (F, R): flat source positions and
    weight of the right neighbour for every output element of a row (``x0 * C + c``). Per factor, only the source rows
    the zoom reads are interpolated horizontally, then every output row blends two of them and is accumulated, a
    contiguous loop the compiler vectorises. Equal to ``zoom_accumulate`` up to float rounding.
    """
    n, hh, rl = x.shape
    nf = y0.shape[0]
    tmp = np.empty((hh, rl), dtype=np.float32)
    for b in range(n):
        xb = x[b]
        ob = out[b]
        for f in range(nf):
            lo = y0[f, 0]
            hi = y1[f, hh - 1]
            for r in range(lo, hi + 1):
                src = xb[r]
                dst = tmp[r - lo]
                for k in range(rl):
                    e = wc[f, k]
                    dst[k] = (1.0 - e) * src[c0[f, k]] + e * src[c1[f, k]]
            for i in range(hh):
                a = wy[f, i]
                t0 = tmp[y0[f, i] - lo]
                t1 = tmp[y1[f, i] - lo]
                o = ob[i]
                for k in range(rl):
                    o[k] += (1.0 - a) * t0[k] + a * t1[k]


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
def _fold_pair(i: int, n: int, mode: int) -> tuple[int, int]:  # pragma: no cover
    # the rows (or columns) i and i + 1, folded into 0..n-1 only where one is outside
    if i >= 0 and i + 1 < n:
        return i, i + 1
    return _fold(i, n, mode), _fold(i + 1, n, mode)


@njit(cache=True, nogil=True, inline="always")
def _bilinear_at(x: np.ndarray, b: int, yy: float, xx: float, mode: int, out: np.ndarray, i: int,
                 j: int) -> None:  # pragma: no cover
    hh, ww, cc = x.shape[1], x.shape[2], x.shape[3]
    fy = np.floor(yy)
    fx = np.floor(xx)
    a = yy - fy
    e = xx - fx
    r0, r1 = _fold_pair(int(fy), hh, mode)
    c0, c1 = _fold_pair(int(fx), ww, mode)
    for c in range(cc):
        out[b, i, j, c] = ((1.0 - a) * ((1.0 - e) * x[b, r0, c0, c] + e * x[b, r0, c1, c])
                           + a * ((1.0 - e) * x[b, r1, c0, c] + e * x[b, r1, c1, c]))


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
