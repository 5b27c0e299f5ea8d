"""Parameter sampling for AugMix, separated from application (as torchvision v2's ``make_params``).

One :class:`AugMixParams` holds every random choice of one AugMix view: chain weights ~ Dirichlet(alpha),
skip weight m ~ Beta(alpha, alpha), and per chain a depth (fixed or uniform 1..3, drawn per chain) and that many ops
picked uniformly with replacement, each with its own level ~ U[0.1, severity) and sign (reference-facts 1.1-1.2).

One drawing code, :func:`draw_view_choices`, makes these choices for a batch of views; the per-image sampler
:func:`sample_augmix_params` is its batch of one, and the batched sampler
(:func:`~timm_augmix_plugin.augmix.batched.sample_batched_params`) adds the op arguments to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .config import AugMixConfig
from .ops import SIGNED_OPS, op_argument, op_set
from .rng import _device_of, sample_gamma

__all__ = [
    "MAX_RANDOM_DEPTH", "MIN_LEVEL", "AugMixParams", "OpParams", "ViewChoices", "draw_view_choices",
    "sample_augmix_params", "sample_augmix_views",
]

MIN_LEVEL = 0.1
MAX_RANDOM_DEPTH = 3


@dataclass(frozen=True)
class OpParams:
    """One op application: its name, the sampled level and sign, and the resulting argument."""

    name: str
    level: float
    negate: bool
    argument: float | int | None


@dataclass(frozen=True)
class AugMixParams:
    """All random choices of one AugMix view."""

    chain_weights: tuple[float, ...]
    skip_weight: float
    chains: tuple[tuple[OpParams, ...], ...]


@dataclass(frozen=True)
class ViewChoices:
    """The random choices of a batch of AugMix views, as tensors on the generator's device.

    Attributes:
        ops: the op names that ``op_index`` points into.
        chain_weights: (B, width) float32, Dirichlet(alpha) per view.
        skip_weight: (B,) float64, Beta(alpha, alpha) per view.
        depth: (B, width) int64, ops per chain (fixed, or uniform 1..3 per chain).
        op_index: (B, width, max_depth) int64 op per slot (slots at or beyond ``depth`` are unused).
        level: (B, width, max_depth) float64, uniform on [0.1, severity).
        negate: (B, width, max_depth) bool, the random sign (False for unsigned ops).
    """

    ops: tuple[str, ...]
    chain_weights: torch.Tensor
    skip_weight: torch.Tensor
    depth: torch.Tensor
    op_index: torch.Tensor
    level: torch.Tensor
    negate: torch.Tensor


_SIGNED: dict[tuple[str, ...], np.ndarray] = {}
_SIGNED_ON_DEVICE: dict[tuple[tuple[str, ...], str], torch.Tensor] = {}


def _signed_table(ops: tuple[str, ...]) -> np.ndarray:
    """(len(ops),) bool: which ops take the random sign; built once per op list."""
    if ops not in _SIGNED:
        _SIGNED[ops] = np.array([name in SIGNED_OPS for name in ops])
    return _SIGNED[ops]


def _signed_table_on(ops: tuple[str, ...], device: torch.device) -> torch.Tensor:
    """:func:`_signed_table` as a tensor on ``device``, copied there once (a copy per draw from pageable host memory
    would wait for the device's queue: a host synchronisation in every batched draw)."""
    key = (ops, str(device))
    if key not in _SIGNED_ON_DEVICE:
        _SIGNED_ON_DEVICE[key] = torch.from_numpy(_signed_table(ops)).to(device)
    return _SIGNED_ON_DEVICE[key]


def _as_index(x: Any) -> Any:
    """Whole-number float64 values as int64 indices (NumPy array or torch tensor)."""
    return x.astype(np.int64) if isinstance(x, np.ndarray) else x.long()


def _map_uniforms(u: Any, gammas: Any, config: AugMixConfig, n_ops: int, signed: Any, xp: Any) -> tuple:
    """The one mapping from uniforms to choices, written once for NumPy arrays and torch tensors (``xp`` is the
    ``numpy`` or ``torch`` module; both give the same float64 arithmetic). Returns ``(weights, skip, depth, op_index,
    level, negate)``, the integer columns still as float64 whole numbers."""
    batch_size, width = u.shape[0], config.width
    n_max = MAX_RANDOM_DEPTH if config.depth == -1 else config.depth
    slots = width * n_max
    if gammas is None:  # alpha = 1: Gamma(1) = Exp(1) = -log(1 - U)
        gammas = -xp.log1p(-u[:, 3 * slots:3 * slots + width + 2])
    weights = gammas[:, :width] / gammas[:, :width].sum(1)[:, None]
    skip = gammas[:, width] / (gammas[:, width] + gammas[:, width + 1])
    if config.depth == -1:
        depth = xp.floor(u[:, -width:] * MAX_RANDOM_DEPTH).clip(max=MAX_RANDOM_DEPTH - 1) + 1
    else:
        depth = xp.ones_like(u[:, :width]) * config.depth
    shape = (batch_size, width, n_max)
    op_index = xp.floor(u[:, :slots] * n_ops).clip(max=n_ops - 1).reshape(shape)
    level = (u[:, slots:2 * slots] * (config.severity - MIN_LEVEL) + MIN_LEVEL).reshape(shape)
    negate = (u[:, 2 * slots:3 * slots] < 0.5).reshape(shape) & signed[_as_index(op_index)]
    return weights, skip, depth, op_index, level, negate


def _draw(config: AugMixConfig, batch_size: int, generator: torch.Generator | None) -> tuple:
    """Draw the uniforms (one ``torch.rand`` row per view) and map them: with NumPy on the CPU (small batches cost
    microseconds, not a torch op each), with torch on an accelerator (no host synchronisation for the paper's
    alpha = 1; other alphas draw Gammas by rejection, which checks for pending draws on the host)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    ops = op_set(config.all_ops)
    device = _device_of(generator)
    width = config.width
    random_depth = config.depth == -1
    slots = width * (MAX_RANDOM_DEPTH if random_depth else config.depth)
    unit_gammas = config.alpha == 1
    u = torch.rand((batch_size, 3 * slots + (width + 2 if unit_gammas else 0) + (width if random_depth else 0)),
                   generator=generator, dtype=torch.float64, device=device)
    gammas = None if unit_gammas else sample_gamma(torch.full((batch_size, width + 2), float(config.alpha)), generator)
    if device.type == "cpu":
        mapped = _map_uniforms(u.numpy(), None if gammas is None else gammas.numpy(), config, len(ops),
                               _signed_table(ops), np)
    else:
        mapped = _map_uniforms(u, gammas, config, len(ops), _signed_table_on(ops, device), torch)
    return ops, mapped


def draw_view_choices(
        config: AugMixConfig,
        batch_size: int,
        generator: torch.Generator | None = None,
) -> ViewChoices:
    """Draw the choices of ``batch_size`` independent AugMix views: the one drawing code of both samplers.

    Each view's uniforms are one row of a single ``torch.rand`` call: per op slot an op ``floor(n_ops U)``, a level
    ``0.1 + (severity - 0.1) U`` and a sign ``U < 0.5``; for the paper's alpha = 1 the width + 2 Gamma(1) draws as
    exponentials ``-log(1 - U)``; per chain a depth ``1 + floor(3 U)`` (random depth). The chain weights
    ``g_i / sum(g)`` and the skip weight ``g_a / (g_a + g_b)`` are ratios of Gamma(alpha) draws, i.e. Dirichlet(alpha)
    and Beta(alpha, alpha); for other alphas the Gammas come from :func:`~.rng.sample_gamma` after the uniforms.

    Args:
        config: the AugMix hyper-parameters.
        batch_size: number of views.
        generator: torch generator; the choices are drawn on its device (a CUDA generator keeps them on the GPU,
            with no host synchronisation for alpha = 1; other alphas' Gamma rejection loop checks on the host). None
            uses torch's global CPU RNG.
    """
    ops, (weights, skip, depth, op_index, level, negate) = _draw(config, batch_size, generator)
    as_tensor = torch.from_numpy if isinstance(weights, np.ndarray) else (lambda x: x)
    return ViewChoices(ops, as_tensor(weights).to(torch.float32), as_tensor(skip), as_tensor(depth).to(torch.int64),
                       as_tensor(op_index).to(torch.int64), as_tensor(level), as_tensor(negate))


def sample_augmix_views(
        config: AugMixConfig,
        image_size: tuple[int, int],
        num_views: int,
        generator: torch.Generator | None = None,
) -> tuple[AugMixParams, ...]:
    """Draw the parameters of ``num_views`` independent AugMix views of one image in one :func:`draw_view_choices`
    call (the views of :class:`~timm_augmix_plugin.augmix.AugMixJSD`), with their op arguments.

    Args:
        config: the AugMix hyper-parameters.
        image_size: ``(width, height)`` of the image the views are made from (translate ranges depend on it).
        num_views: number of views.
        generator: CPU torch generator; None uses torch's global RNG (seeded per DataLoader worker by torch).
    """
    ops, (weights, skip, depth, op_index, level, negate) = _draw(config, num_views, generator)
    views = []
    weights = weights.astype(np.float32) if isinstance(weights, np.ndarray) else weights.to(torch.float32)
    columns = (weights, skip, depth, op_index, level, negate)
    for weights_, skip_, depths, op_index_, level_, negate_ in zip(*(t.tolist() for t in columns), strict=True):
        chains = []
        for c, depth_ in enumerate(depths):
            chain = []
            for k in range(int(depth_)):
                name = ops[int(op_index_[c][k])]
                chain.append(OpParams(name, level_[c][k], negate_[c][k],
                                      op_argument(name, level_[c][k], negate_[c][k], image_size)))
            chains.append(tuple(chain))
        views.append(AugMixParams(tuple(weights_), skip_, tuple(chains)))
    return tuple(views)


def sample_augmix_params(
        config: AugMixConfig,
        image_size: tuple[int, int],
        generator: torch.Generator | None = None,
) -> AugMixParams:
    """Draw the parameters of one AugMix view: :func:`draw_view_choices` for a batch of one, with the op arguments.

    Args:
        config: the AugMix hyper-parameters.
        image_size: ``(width, height)`` of the image the view is made from (translate ranges depend on it).
        generator: CPU torch generator; None uses torch's global RNG (seeded per DataLoader worker by torch).
    """
    return sample_augmix_views(config, image_size, 1, generator)[0]
