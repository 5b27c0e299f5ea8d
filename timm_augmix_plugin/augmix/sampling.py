"""Parameter sampling for AugMix, separated from application (as torchvision v2's ``make_params``).

One :class:`AugMixParams` holds every random choice of one AugMix view: chain weights ~ Dirichlet(alpha),
skip weight m ~ Beta(alpha, alpha), and per chain a depth (fixed or uniform 1..3, drawn per chain) and that many ops
picked uniformly with replacement, each with its own level ~ U[0.1, severity) and sign (reference-facts 1.1-1.2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import AugMixConfig
from .ops import SIGNED_OPS, op_argument, op_set
from .rng import sample_gamma

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


def sample_augmix_params(
        config: AugMixConfig,
        image_size: tuple[int, int],
        generator: torch.Generator | None = None,
) -> AugMixParams:
    """Draw the parameters of one AugMix view.

    All uniforms of a view come from one ``torch.rand`` call (a few microseconds instead of a dozen small torch
    calls): per chain a depth ``1 + floor(3 U)`` (random depth), and per op slot an op ``floor(n_ops U)``, a level
    ``0.1 + (severity - 0.1) U`` and a sign ``U < 0.5``. The chain weights ``g_i / sum(g)`` and the skip weight
    ``g_a / (g_a + g_b)`` are ratios of Gamma(alpha) draws, i.e. Dirichlet(alpha) and Beta(alpha, alpha); for the
    paper's alpha = 1 those Gammas are exponentials ``-log(1 - U)`` taken from the same uniforms.

    Args:
        config: the AugMix hyper-parameters.
        image_size: ``(width, height)`` of the image the view is made from (translate ranges depend on it).
        generator: torch generator; None uses torch's global RNG (seeded per DataLoader worker by torch).
    """
    ops = op_set(config.all_ops)
    n_ops, width = len(ops), config.width
    random_depth = config.depth == -1
    n_max = MAX_RANDOM_DEPTH if random_depth else config.depth
    slots = width * n_max
    unit_gammas = config.alpha == 1
    n_uniform = 3 * slots + (width if random_depth else 0) + (width + 2 if unit_gammas else 0)
    u = torch.rand(n_uniform, generator=generator, dtype=torch.float64)
    if unit_gammas:
        gammas = (-torch.log1p(-u[3 * slots:3 * slots + width + 2])).tolist()
    else:
        gammas = sample_gamma(torch.full((width + 2,), float(config.alpha)), generator).tolist()
    u = u.tolist()
    total = sum(gammas[:width])
    weights = tuple(np.asarray([g / total for g in gammas[:width]], dtype=np.float32).tolist())
    skip_weight = gammas[width] / (gammas[width] + gammas[width + 1])
    if random_depth:
        offset = 3 * slots + (width + 2 if unit_gammas else 0)
        depths = [1 + min(int(x * MAX_RANDOM_DEPTH), MAX_RANDOM_DEPTH - 1) for x in u[offset:offset + width]]
    else:
        depths = [config.depth] * width
    span = config.severity - MIN_LEVEL
    chains = []
    for c in range(width):
        chain = []
        for k in range(depths[c]):
            slot = c * n_max + k
            name = ops[min(int(u[slot] * n_ops), n_ops - 1)]
            level = MIN_LEVEL + span * u[slots + slot]
            neg = u[2 * slots + slot] < 0.5 and name in SIGNED_OPS
            chain.append(OpParams(name, level, neg, op_argument(name, level, neg, image_size)))
        chains.append(tuple(chain))
    return AugMixParams(weights, skip_weight, tuple(chains))
