"""Batched AugMix on tensors: per-sample chains, ops, levels and weights for a whole (B, C, H, W) batch on any device.

Every sample of the batch gets its own AugMix view, drawn from exactly the paper's distributions (the same formulas
as :func:`~timm_augmix_plugin.augmix.sampling.sample_augmix_params`: both draw with
:func:`~timm_augmix_plugin.augmix.sampling.draw_view_choices`): its own Dirichlet chain weights,
Beta skip weight, per-chain depth, and per op slot its own op, level and sign. (torchvision's ``AugMix`` on a batch
applies one op to the whole batch instead.)

Application is vectorised by grouping: at depth slot ``k`` the chains that have a ``k``-th op are grouped by op, and
each group runs one tensor kernel with per-sample arguments. The five geometric ops form one group (they are all
affine maps, so one kernel with a per-sample matrix does them). Chains stay uint8 between ops, as the PIL images of
the paper's code do. The kernels follow PIL's arithmetic:

* ``posterize``, ``solarize``, ``equalize``, ``autocontrast`` and whole-pixel ``translate``: bit-exact;
* ``rotate`` / ``shear``: PIL's bilinear formula (pixel-centre sampling, edge clamping, ``fill`` outside) with
  float64 coordinates; bit-exact on the CPU (float64 interpolation); on accelerators the interpolation is float32,
  so a pixel can differ from PIL by 1 where PIL's double result lies within float32 precision of an integer;
* ``color`` / ``contrast`` / ``brightness`` / ``sharpness`` (``-all`` only): PIL's grey / mean / black / smooth
  degenerate images and its float32 blend; the smoothing filter can differ by 1.

The mixing and normalisation are one float32 buffer per view: ``(1 - m) N(x) + m sum_i w_i N(c_i)``.

Example:
    >>> augmix = BatchedAugMix('augmix_paper', mean=CIFAR_MEAN, std=CIFAR_STD).to('cuda')
    >>> clean, aug1, aug2 = augmix(images_uint8.cuda(non_blocking=True))   # each (B, 3, H, W) float32
    >>> logits = model(torch.cat([clean, aug1, aug2]))                     # split-major, as the JSD loss wants
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
from torch import nn

from ..data_config import normalization_affine
from .config import AugMixConfig, parse_policy
from .ops import GEOMETRIC_OPS, OPS, get_op
from .pil_ops import rotation_matrix
from .sampling import AugMixParams, OpParams, ViewChoices, draw_view_choices

__all__ = [
    "BatchedAugMix", "BatchedAugMixParams", "affine", "apply_batched_op", "autocontrast", "brightness", "color",
    "contrast", "equalize", "geometric_matrices", "geometric_matrices_by_index", "op_arguments", "posterize",
    "rotation_table", "sample_batched_params", "sharpness", "solarize"
]

# ITU-R 601-2 luma in PIL's fixed point (RGB -> L conversion)
_LUMA = (19595, 38470, 7471)


@dataclass(frozen=True)
class BatchedAugMixParams(ViewChoices):
    """Per-sample random choices of one AugMix view for a batch: the :class:`~.sampling.ViewChoices` of
    :func:`~.sampling.draw_view_choices` and the op arguments.

    Attributes:
        argument: (B, width, max_depth) float64, the op argument (as ``op_argument``; NaN for argument-free ops).
    """

    argument: torch.Tensor

    def sample(self, i: int) -> AugMixParams:
        """Sample ``i``'s parameters as the per-image :class:`~timm_augmix_plugin.augmix.AugMixParams`."""
        chains = []
        for c in range(self.depth.shape[1]):
            chain = []
            for k in range(int(self.depth[i, c])):
                name = self.ops[int(self.op_index[i, c, k])]
                arg = float(self.argument[i, c, k])
                if math.isnan(arg):
                    arg = None
                elif get_op(name).kind == "int":
                    arg = int(arg)
                chain.append(OpParams(name, float(self.level[i, c, k]), bool(self.negate[i, c, k]), arg))
            chains.append(tuple(chain))
        return AugMixParams(tuple(self.chain_weights[i].tolist()), float(self.skip_weight[i]), tuple(chains))

    @property
    def active(self) -> torch.Tensor:
        """(B, width, max_depth) bool: which op slots are applied."""
        slots = torch.arange(self.op_index.shape[-1], device=self.depth.device)
        return slots < self.depth.unsqueeze(-1)

    def to(self, device: torch.device | str) -> BatchedAugMixParams:
        """The same parameters on ``device`` (non-blocking copies)."""
        return BatchedAugMixParams(self.ops, **{f: getattr(self, f).to(device, non_blocking=True)
                                                for f in _TENSOR_FIELDS})

    @staticmethod
    def concat(parts: Sequence[BatchedAugMixParams]) -> BatchedAugMixParams:
        """Several batches' parameters as one batch (same op list), in order."""
        ops = parts[0].ops
        if any(p.ops != ops for p in parts):
            raise ValueError("BatchedAugMixParams.concat needs parameters drawn from the same op list.")
        return BatchedAugMixParams(ops, **{f: torch.cat([getattr(p, f) for p in parts]) for f in _TENSOR_FIELDS})


#: The per-sample tensor fields of :class:`BatchedAugMixParams` (all but ``ops``).
_TENSOR_FIELDS = tuple(f.name for f in fields(BatchedAugMixParams) if f.name != "ops")


def op_arguments(ops: Sequence[str], op_index: torch.Tensor, level: torch.Tensor, negate: torch.Tensor,
                 image_size: tuple[int, int]) -> torch.Tensor:
    """Vectorised :func:`~timm_augmix_plugin.augmix.ops.op_argument`: the op records' formulas on float64 tensors.

    NaN for argument-free ops.
    """
    level = level.to(torch.float64)
    sign = torch.where(negate, -1.0, 1.0).to(torch.float64)
    out = torch.full(level.shape, math.nan, dtype=torch.float64, device=level.device)
    for i, name in enumerate(ops):
        op = get_op(name)
        if op.takes_argument:
            out = torch.where(op_index == i, op.argument(level, sign, image_size, trunc=torch.trunc), out)
    return out


def sample_batched_params(
        config: AugMixConfig,
        batch_size: int,
        image_size: tuple[int, int],
        generator: torch.Generator | None = None,
) -> BatchedAugMixParams:
    """Draw one AugMix view's parameters for every sample of a batch, independently per sample.

    The choices come from :func:`~timm_augmix_plugin.augmix.sampling.draw_view_choices` (the per-image sampler's
    drawing code); this adds the op arguments.

    Args:
        config: the AugMix hyper-parameters.
        batch_size: number of samples.
        image_size: ``(width, height)`` (translate ranges depend on it).
        generator: torch generator; the parameters are drawn on its device (a CUDA generator keeps the sampling
            on the GPU, with no host synchronisation for alpha = 1; other alphas' Gamma rejection loop checks on the
            host). None uses torch's global CPU RNG.
    """
    draws = draw_view_choices(config, batch_size, generator)
    argument = op_arguments(draws.ops, draws.op_index, draws.level, draws.negate, image_size)
    return BatchedAugMixParams(**vars(draws), argument=argument)


# ---------------------------------------------------------------------------------------------------------------
# Kernels: (N, C, H, W) uint8 in, uint8 out, one argument per sample.

def _per_sample(values: torch.Tensor, like: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return values.to(device=like.device, dtype=dtype).view(-1, *([1] * (like.dim() - 1)))


def posterize(x: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """Keep the top ``bits`` (per sample) of every 8-bit value (``ImageOps.posterize``)."""
    mask = (255 - (2 ** (8 - bits.to(torch.int64)) - 1)).to(torch.uint8)
    return x & _per_sample(mask, x, torch.uint8)


def solarize(x: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Invert values ``>= threshold`` (per sample) (``ImageOps.solarize``)."""
    return torch.where(x.to(torch.int16) < _per_sample(threshold, x, torch.int16), x, 255 - x)


def _apply_tables(x: torch.Tensor, tables: torch.Tensor) -> torch.Tensor:
    n, c = x.shape[:2]
    index = x.reshape(n, c, -1).to(torch.int64)
    return tables.clamp(0, 255).to(torch.uint8).gather(2, index).view_as(x)  # PIL's point() clips its table


def _histograms(x: torch.Tensor) -> torch.Tensor:
    n, c = x.shape[:2]
    offsets = torch.arange(n * c, device=x.device).view(n, c, 1) * 256
    index = (x.reshape(n, c, -1).to(torch.int64) + offsets).flatten()
    hist = torch.zeros(n * c * 256, dtype=torch.int64, device=x.device)  # a fixed size: no wait for the data's max
    return hist.scatter_add_(0, index, torch.ones_like(index)).view(n, c, 256)


def autocontrast(x: torch.Tensor) -> torch.Tensor:
    """Stretch every channel to 0..255 with PIL's table ``clip(int(i * scale + offset))`` (float64), bit-exact."""
    flat = x.reshape(*x.shape[:2], -1)
    lo = flat.amin(-1).to(torch.float64)
    hi = flat.amax(-1).to(torch.float64)
    stretch = (hi > lo).unsqueeze(-1)
    # tensor / tensor: true IEEE division (a scalar numerator may be computed as a reciprocal times 255)
    scale = torch.full_like(lo, 255.0) / torch.where(hi > lo, hi - lo, 1.0)
    offset = -lo * scale
    levels = torch.arange(256, device=x.device, dtype=torch.float64)
    tables = torch.trunc(levels * scale.unsqueeze(-1) + offset.unsqueeze(-1)).clamp_(0, 255)
    return _apply_tables(x, torch.where(stretch, tables, levels))


def equalize(x: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation per channel with PIL's integer table (``ImageOps.equalize``), bit-exact."""
    hist = _histograms(x)
    present = hist > 0
    hi = 255 - present.flip(-1).to(torch.int8).argmax(-1)
    last = hist.gather(-1, hi.unsqueeze(-1)).squeeze(-1)
    step = (hist.sum(-1) - last) // 255
    equalized = ((present.sum(-1) > 1) & (step > 0)).unsqueeze(-1)
    safe = torch.where(equalized, step.unsqueeze(-1), torch.ones_like(step).unsqueeze(-1))
    tables = torch.div(safe // 2 + hist.cumsum(-1) - hist, safe, rounding_mode="floor")
    identity = torch.arange(256, device=x.device).expand_as(tables)
    return _apply_tables(x, torch.where(equalized, tables, identity))


def affine(x: torch.Tensor, matrices: torch.Tensor, fill: int = 0, dtype: torch.dtype | None = None) -> torch.Tensor:
    """PIL's bilinear ``Image.transform(AFFINE)`` with a per-sample inverse matrix ``(a, b, c, d, e, f)``.

    Output pixel ``(x, y)`` samples the input at ``(a X + b Y + c, d X + e Y + f)`` with ``X = x + 0.5``,
    ``Y = y + 0.5``; samples outside ``[0, W) x [0, H)`` get ``fill``; neighbours are clamped to the edge; the value
    is truncated to uint8. Coordinates in float64 as PIL; interpolation in float64 on the CPU (bit-exact with PIL)
    and float32 on accelerators (a pixel may then differ by 1); ``dtype`` overrides that choice.
    """
    n, c, h, w = x.shape
    if dtype is None:
        dtype = torch.float64 if x.device.type == "cpu" else torch.float32
    m = matrices.to(device=x.device, dtype=torch.float64).view(n, 6, 1, 1)
    xs = torch.arange(w, device=x.device, dtype=torch.float64).view(1, 1, w) + 0.5
    ys = torch.arange(h, device=x.device, dtype=torch.float64).view(1, h, 1) + 0.5
    src_x = m[:, 0] * xs + m[:, 1] * ys + m[:, 2]
    src_y = m[:, 3] * xs + m[:, 4] * ys + m[:, 5]
    inside = (src_x >= 0) & (src_x < w) & (src_y >= 0) & (src_y < h)
    src_x = src_x - 0.5
    src_y = src_y - 0.5
    fx, fy = torch.floor(src_x), torch.floor(src_y)
    dx = (src_x - fx).to(dtype).unsqueeze(1)
    dy = (src_y - fy).to(dtype).unsqueeze(1)
    ix, iy = fx.to(torch.int64), fy.to(torch.int64)
    x0, x1 = ix.clamp(0, w - 1), (ix + 1).clamp(0, w - 1)
    y0, y1 = iy.clamp(0, h - 1), (iy + 1).clamp(0, h - 1)
    below_ok = ((iy + 1 >= 0) & (iy + 1 < h)).unsqueeze(1)
    flat = x.reshape(n, c, h * w)

    def pick(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        index = (rows * w + cols).view(n, 1, h * w).expand(n, c, h * w)
        return flat.gather(2, index).view(n, c, h, w).to(dtype)

    top_l, top_r = pick(y0, x0), pick(y0, x1)
    v1 = top_l + (top_r - top_l) * dx
    bot_l, bot_r = pick(y1, x0), pick(y1, x1)
    v2 = torch.where(below_ok, bot_l + (bot_r - bot_l) * dx, v1)
    value = (v1 + (v2 - v1) * dy).to(torch.uint8)
    return torch.where(inside.unsqueeze(1), value, fill)


#: ``(op, column)`` of the geometric ops whose inverse matrix is the identity with the argument in one entry.
_AFFINE_COLUMNS = tuple((op.name, op.affine_column) for op in OPS.values() if op.affine_column is not None)


def geometric_matrices(names: Sequence[str], arguments: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
    """(N, 6) float64 inverse matrices of rotate / shear / translate ops with the given arguments (vectorised)."""
    unknown = set(names) - GEOMETRIC_OPS
    if unknown:
        raise ValueError(f"{sorted(unknown)} are not geometric AugMix ops; expected {sorted(GEOMETRIC_OPS)}.")
    args = arguments.to(torch.float64).flatten()
    out = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64).repeat(len(names), 1)
    for name, column in _AFFINE_COLUMNS:
        rows = torch.tensor([n == name for n in names], dtype=torch.bool)
        out[rows, column] = args[rows]
    rotate = torch.tensor([n == "rotate" for n in names], dtype=torch.bool)
    for angle in torch.unique(args[rotate]).tolist():  # a few distinct (integer) angles per batch
        if angle % 360 != 0:
            out[rotate & (args == angle)] = torch.tensor(rotation_matrix(angle, image_size), dtype=torch.float64)
    return out


#: The largest |rotation| an AugMix level can ask for: the rotate record's argument at level 10 (30 degrees).
_MAX_ROTATION = OPS["rotate"].argument(10.0, 1, (1, 1))


def rotation_table(image_size: tuple[int, int], device: torch.device | str = "cpu") -> torch.Tensor:
    """(61, 6) float64 inverse matrices of ``Image.rotate(angle)`` for the integer angles -30..30 (PIL's formula).

    AugMix rotations are whole degrees, so a lookup in this table gives per-sample rotation matrices on any device
    without leaving it (row ``angle + 30``).
    """
    angles = range(-_MAX_ROTATION, _MAX_ROTATION + 1)
    return torch.tensor([rotation_matrix(a, image_size) for a in angles], dtype=torch.float64, device=device)


def geometric_matrices_by_index(ops: Sequence[str], op_index: torch.Tensor, arguments: torch.Tensor,
                                table: torch.Tensor) -> torch.Tensor:
    """(N, 6) float64 inverse matrices for rows whose op is ``ops[op_index]``, computed on ``op_index``'s device.

    Rows of non-geometric ops get the identity. The same matrices as :func:`geometric_matrices`, without a host
    round trip; ``table`` is :func:`rotation_table` for the image size.
    """
    args = torch.nan_to_num(arguments.to(torch.float64))
    out = torch.zeros(op_index.shape[0], 6, dtype=torch.float64, device=op_index.device)
    out[:, 0] = 1.0
    out[:, 4] = 1.0
    for name, column in _AFFINE_COLUMNS:
        if name in ops:
            out[:, column] = torch.where(op_index == ops.index(name), args, out[:, column])
    if "rotate" in ops:
        row = (args.round().to(torch.int64) + _MAX_ROTATION).clamp_(0, 2 * _MAX_ROTATION)
        out = torch.where((op_index == ops.index("rotate")).unsqueeze(1), table[row], out)
    return out


def _blend(degenerate: torch.Tensor, x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's ``Image.blend(degenerate, x, factor)``: float32 ``d + f (x - d)``, clipped, truncated."""
    f = _per_sample(factor, x, torch.float32)
    d = degenerate.to(torch.float32)
    return (d + f * (x.to(torch.float32) - d)).clamp_(0, 255).to(torch.uint8)


def _luma(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.to(torch.int64).unbind(1)
    return ((r * _LUMA[0] + g * _LUMA[1] + b * _LUMA[2] + 0x8000) >> 16).unsqueeze(1)


def color(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Color``: blend with the grey (L) image."""
    return _blend(_luma(x).expand_as(x), x, factor)


def contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Contrast``: blend with a flat image at the rounded mean grey level."""
    mean = torch.floor(_luma(x).to(torch.float64).mean(dim=(1, 2, 3)) + 0.5)
    return _blend(_per_sample(mean, x, torch.float32).expand_as(x), x, factor)


def brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Brightness``: blend with black."""
    return _blend(torch.zeros_like(x), x, factor)


def sharpness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Sharpness``: blend with PIL's SMOOTH filter (3x3, centre 5, /13; border pixels kept)."""
    _, c, h, w = x.shape
    kernel = torch.ones(3, 3, device=x.device)
    kernel[1, 1] = 5
    kernel = (kernel / 13).expand(c, 1, 3, 3)
    smooth = torch.nn.functional.conv2d(x.to(torch.float32), kernel, groups=c)
    degenerate = x.clone()
    if h > 2 and w > 2:
        degenerate[:, :, 1:-1, 1:-1] = (smooth + 0.5).clamp_(0, 255).to(torch.uint8)
    return _blend(degenerate, x, factor)


#: The tensor kernel of every non-geometric op (the geometric ops share :func:`affine`); argument-free ops take
#: the images only. Which op needs what comes from its record in :data:`~timm_augmix_plugin.augmix.ops.OPS`.
_KERNELS = {
    "autocontrast": autocontrast, "equalize": equalize, "posterize": posterize, "solarize": solarize,
    "color": color, "contrast": contrast, "brightness": brightness, "sharpness": sharpness,
}


def apply_batched_op(x: torch.Tensor, name: str, arguments: torch.Tensor | None, fill: int = 0) -> torch.Tensor:
    """Apply one op to every sample of ``x`` (N, C, H, W) uint8, with one argument per sample.

    Args:
        x: uint8 images (3 channels).
        name: op name from :data:`~timm_augmix_plugin.augmix.ops.ALL_OPS`.
        arguments: (N,) arguments as :func:`~timm_augmix_plugin.augmix.ops.op_argument` gives them (ignored for
            autocontrast / equalize).
        fill: border value of the geometric ops.
    """
    op = get_op(name)
    if not op.takes_argument:
        return _KERNELS[name](x)
    if arguments is None:
        raise ValueError(f"AugMix op {name!r} needs one argument per sample.")
    if op.geometric:
        return affine(x, geometric_matrices([name] * x.shape[0], arguments, (x.shape[-1], x.shape[-2])), fill)
    return _KERNELS[name](x, arguments)


# ---------------------------------------------------------------------------------------------------------------
# The module

def _is_one_of(op_index: torch.Tensor, ops: Sequence[str], names: frozenset[str]) -> torch.Tensor:
    """Where ``ops[op_index]`` is in ``names``, computed on ``op_index``'s device (no host-to-device copy)."""
    out = torch.zeros_like(op_index, dtype=torch.bool)
    for i, name in enumerate(ops):
        if name in names:
            out |= op_index == i
    return out


def _as_uint8_batch(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(uint8 images, float32 images in pixel units 0..255)`` from a uint8 or [0, 1] float batch."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"BatchedAugMix expects a (B, 3, H, W) batch, got shape {tuple(x.shape)}; add a batch "
                         "dimension with x.unsqueeze(0) or convert grayscale to 3 channels first.")
    if x.dtype == torch.uint8:
        return x, x.to(torch.float32)
    if not x.is_floating_point():
        raise TypeError(f"BatchedAugMix takes uint8 (0..255) or float (0..1) images, got {x.dtype}.")
    pixels = x.to(torch.float32) * 255
    return pixels.round().clamp_(0, 255).to(torch.uint8), pixels


class BatchedAugMix(nn.Module):
    """AugMix for a batch on its device: ``(clean, aug_1, ..., aug_k)``, each normalised (B, C, H, W) float32.

    Every sample gets its own independent view parameters (see :func:`sample_batched_params`); the ops run grouped
    per op (module docstring). Use it after the DataLoader, before the forward pass, with a loader that delivers
    plain uint8 images (no AugMix, no normalisation).

    Args:
        config: an :class:`AugMixConfig` or an ``augmix_paper...`` policy string.
        mean: normalisation mean (RGB), applied to every output.
        std: normalisation std (RGB).
        num_views: AugMix views after the clean one (2 for the JSD loss; 1 for AugMix without JSD).
        generator: CPU torch generator for the parameters (default: torch's global RNG).

    Example:
        >>> augmix = BatchedAugMix('augmix_paper', mean=CIFAR_MEAN, std=CIFAR_STD)
        >>> clean, aug1, aug2 = augmix(torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8))
    """

    def __init__(self, config: AugMixConfig | str = "augmix_paper", *, mean: Sequence[float], std: Sequence[float],
                 num_views: int = 2, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = parse_policy(config) if isinstance(config, str) else config
        if int(num_views) != num_views or num_views < 1:
            raise ValueError(f"BatchedAugMix num_views must be an integer >= 1, got {num_views} (the JSD loss uses 2).")
        self.num_views = int(num_views)
        self.generator = generator
        self._tables: dict = {}
        scale, bias = normalization_affine(mean, std)
        self.register_buffer("scale", scale, persistent=False)
        self.register_buffer("bias", bias, persistent=False)

    def make_params(self, batch_size: int, image_size: tuple[int, int]) -> BatchedAugMixParams:
        """Draw one view's per-sample parameters (on the CPU)."""
        return sample_batched_params(self.config, batch_size, image_size, self.generator)

    def chains(self, images: torch.Tensor, params: BatchedAugMixParams, dense: bool | None = None) -> torch.Tensor:
        """The augmented chains, (B, width, C, H, W) uint8.

        Two equivalent schedules (same pixels): *grouped* runs one kernel call per op present in each depth slot on
        the rows that use it (least arithmetic; the default on the CPU); *dense* runs every op of a slot on all rows
        and selects per row, with no data-dependent shapes, so nothing waits for the host (the default on
        accelerators, where launches and synchronisation, not arithmetic, cost the time).
        """
        if dense is None:
            dense = images.device.type != "cpu"
        if dense:
            return self._dense_chains(images, params.to(images.device))
        b, width = params.depth.shape
        state = images.unsqueeze(1).expand(b, width, *images.shape[1:]).reshape(b * width, *images.shape[1:])
        state = state.clone()
        active = params.active.reshape(b * width, -1)
        op_index = params.op_index.reshape(b * width, -1)
        arguments = params.argument.reshape(b * width, -1)
        size = (images.shape[-1], images.shape[-2])
        for slot in range(op_index.shape[1]):
            geometric = torch.zeros(b * width, dtype=torch.bool)
            for i, name in enumerate(params.ops):
                rows = (active[:, slot] & (op_index[:, slot] == i))
                if name in GEOMETRIC_OPS:
                    geometric |= rows
                    continue
                idx = rows.nonzero().flatten()
                if idx.numel():
                    dev_idx = idx.to(images.device, non_blocking=True)
                    state[dev_idx] = apply_batched_op(state[dev_idx], name, arguments[idx, slot], self.config.fill)
            idx = geometric.nonzero().flatten()
            if idx.numel():
                names = [params.ops[j] for j in op_index[idx, slot].tolist()]
                matrices = geometric_matrices(names, arguments[idx, slot], size)
                dev_idx = idx.to(images.device, non_blocking=True)
                state[dev_idx] = affine(state[dev_idx], matrices, self.config.fill)
        return state.view(b, width, *images.shape[1:])

    def _rotation_table(self, size: tuple[int, int], device: torch.device) -> torch.Tensor:
        key = (size, str(device))
        if key not in self._tables:  # built once per size and device: a host-to-device copy waits for the stream
            self._tables[key] = rotation_table(size, device)
        return self._tables[key]

    def _dense_chains(self, images: torch.Tensor, params: BatchedAugMixParams) -> torch.Tensor:
        b, width = params.depth.shape
        rows = images.unsqueeze(1).expand(b, width, *images.shape[1:]).reshape(b * width, *images.shape[1:])
        active = params.active.reshape(b * width, -1)
        op_index = params.op_index.reshape(b * width, -1)
        arguments = params.argument.reshape(b * width, -1)
        ops = params.ops
        table = self._rotation_table((images.shape[-1], images.shape[-2]), images.device)
        state = rows
        for slot in range(op_index.shape[1]):
            act, index, args = active[:, slot], op_index[:, slot], arguments[:, slot]
            out = state
            for i, name in enumerate(ops):
                if name in GEOMETRIC_OPS:
                    continue
                use = act & (index == i)
                neutral = get_op(name).neutral
                arg = None if neutral is None else torch.where(use, args, neutral)
                out = torch.where(use.view(-1, 1, 1, 1), apply_batched_op(state, name, arg, self.config.fill), out)
            matrices = geometric_matrices_by_index(ops, index, args, table)
            use = (act & _is_one_of(index, ops, GEOMETRIC_OPS)).view(-1, 1, 1, 1)
            state = torch.where(use, affine(state, matrices, self.config.fill), out)
        return state.view(b, width, *images.shape[1:])

    def mix(self, images: torch.Tensor, params: BatchedAugMixParams, clean: torch.Tensor) -> torch.Tensor:
        """One normalised view: ``(1 - m) clean + m bias + scale * sum_i m w_i chain_i``."""
        return self._mix_chains(self.chains(images, params), params.skip_weight, params.chain_weights, clean)

    def _mix_chains(self, chains: torch.Tensor, skip_weight: torch.Tensor, chain_weights: torch.Tensor,
                    clean: torch.Tensor) -> torch.Tensor:
        m = skip_weight.to(device=clean.device, dtype=torch.float32).view(-1, 1, 1, 1)
        coeff = (chain_weights.to(clean.device) * m.view(-1, 1))
        acc = chains[:, 0] * coeff[:, 0].view(-1, 1, 1, 1)
        for i in range(1, chains.shape[1]):
            acc.addcmul_(chains[:, i], coeff[:, i].view(-1, 1, 1, 1))
        view = torch.addcmul(self.bias * m, clean, 1 - m)
        return view.addcmul_(acc, self.scale)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``x``: (B, 3, H, W) uint8 (0..255) or float (0..1). Returns ``(clean, aug_1, ..., aug_num_views)``."""
        images, pixels = _as_uint8_batch(x)
        clean = torch.addcmul(self.bias, pixels, self.scale)
        b, size = images.shape[0], (images.shape[-1], images.shape[-2])
        # all views' chains in one pass (fewer kernel launches); each view keeps its own parameters, rows v*b..(v+1)*b,
        # and the parameters go to the device once (each pageable host-to-device copy waits for the stream)
        params = BatchedAugMixParams.concat([self.make_params(b, size) for _ in range(self.num_views)])
        params = params.to(images.device)
        chains = self.chains(images.repeat(self.num_views, 1, 1, 1), params)
        views = [self._mix_chains(chains[rows], params.skip_weight[rows], params.chain_weights[rows], clean)
                 for rows in (slice(v * b, (v + 1) * b) for v in range(self.num_views))]
        return (clean, *views)

    def extra_repr(self) -> str:
        return f"{self.config.to_policy()!r}, num_views={self.num_views}"
