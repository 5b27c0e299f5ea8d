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

import torch

from .config import AugMixConfig
from .ops import SIGNED_OPS, op_argument, op_set
from .rng import sample_gamma

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


_SIGNED_TABLES: dict[tuple[tuple[str, ...], str], torch.Tensor] = {}


def _signed_table(ops: tuple[str, ...], device: torch.device) -> torch.Tensor:
    """(len(ops),) bool: which ops take the random sign; built once per op list and device (no copy per draw)."""
    key = (ops, str(device))
    if key not in _SIGNED_TABLES:
        _SIGNED_TABLES[key] = torch.tensor([name in SIGNED_OPS for name in ops], device=device)
    return _SIGNED_TABLES[key]


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
            with no host synchronisation). None uses torch's global CPU RNG.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    ops = op_set(config.all_ops)
    device = generator.device if generator is not None else torch.device("cpu")
    n_ops, width = len(ops), config.width
    random_depth = config.depth == -1
    n_max = MAX_RANDOM_DEPTH if random_depth else config.depth
    slots = width * n_max
    unit_gammas = config.alpha == 1
    n_gamma = width + 2 if unit_gammas else 0
    u = torch.rand((batch_size, 3 * slots + n_gamma + (width if random_depth else 0)), generator=generator,
                   dtype=torch.float64, device=device)
    if unit_gammas:
        gammas = torch.log1p(-u[:, 3 * slots:3 * slots + n_gamma]).neg_()
    else:
        gammas = sample_gamma(torch.full((batch_size, width + 2), float(config.alpha)), generator)
    weights = (gammas[:, :width] / gammas[:, :width].sum(1, keepdim=True)).to(torch.float32)
    skip = gammas[:, width] / (gammas[:, width] + gammas[:, width + 1])
    if random_depth:
        depth = (u[:, 3 * slots + n_gamma:] * MAX_RANDOM_DEPTH).long().clamp_(max=MAX_RANDOM_DEPTH - 1).add_(1)
    else:
        depth = torch.full((batch_size, width), config.depth, dtype=torch.int64, device=device)
    shape = (batch_size, width, n_max)
    op_index = (u[:, :slots] * n_ops).long().clamp_(max=n_ops - 1).view(shape)
    level = (u[:, slots:2 * slots] * (config.severity - MIN_LEVEL) + MIN_LEVEL).view(shape)
    negate = (u[:, 2 * slots:3 * slots] < 0.5).view(shape) & _signed_table(ops, device)[op_index]
    return ViewChoices(ops, weights, skip, depth, op_index, level, negate)


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
    d = draw_view_choices(config, num_views, generator)
    ops = d.ops
    views = []
    columns = (d.chain_weights, d.skip_weight, d.depth, d.op_index, d.level, d.negate)
    for weights, skip, depths, op_index, level, negate in zip(*(t.tolist() for t in columns), strict=True):
        chains = []
        for c, depth in enumerate(depths):
            chain = []
            for k in range(depth):
                name = ops[op_index[c][k]]
                chain.append(OpParams(name, level[c][k], negate[c][k],
                                      op_argument(name, level[c][k], negate[c][k], image_size)))
            chains.append(tuple(chain))
        views.append(AugMixParams(tuple(weights), skip, tuple(chains)))
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
