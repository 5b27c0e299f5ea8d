"""Parameter sampling for AugMix, separated from application (as torchvision v2's ``make_params``).

One :class:`AugMixParams` holds every random choice of one AugMix view: chain weights ~ Dirichlet(alpha),
skip weight m ~ Beta(alpha, alpha), and per chain a depth (fixed or uniform 1..3, drawn per chain) and that many ops
picked uniformly with replacement, each with its own level ~ U[0.1, severity) and sign (reference-facts 1.1-1.2).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import AugMixConfig
from .ops import SIGNED_OPS, op_argument, op_set
from .rng import sample_beta, sample_dirichlet

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

    Args:
        config: the AugMix hyper-parameters.
        image_size: ``(width, height)`` of the image the view is made from (translate ranges depend on it).
        generator: torch generator; None uses torch's global RNG (seeded per DataLoader worker by torch).
    """
    ops = op_set(config.all_ops)
    weights = sample_dirichlet(config.alpha, config.width, generator)
    m = sample_beta(config.alpha, config.alpha, generator)
    n_max = MAX_RANDOM_DEPTH if config.depth == -1 else config.depth
    if config.depth == -1:
        depths = torch.randint(1, MAX_RANDOM_DEPTH + 1, (config.width,), generator=generator).tolist()
    else:
        depths = [config.depth] * config.width
    # one batch of draws for all chains; unused slots are simply ignored
    op_idx = torch.randint(0, len(ops), (config.width, n_max), generator=generator).tolist()
    levels = (MIN_LEVEL + (config.severity - MIN_LEVEL) * torch.rand((config.width, n_max), generator=generator,
                                                                     dtype=torch.float64)).tolist()
    negate = (torch.rand((config.width, n_max), generator=generator) < 0.5).tolist()
    chains = []
    for c in range(config.width):
        chain = []
        for k in range(depths[c]):
            name = ops[op_idx[c][k]]
            neg = negate[c][k] and name in SIGNED_OPS
            chain.append(OpParams(name, levels[c][k], neg, op_argument(name, levels[c][k], neg, image_size)))
        chains.append(tuple(chain))
    return AugMixParams(tuple(float(w) for w in weights), m, tuple(chains))
