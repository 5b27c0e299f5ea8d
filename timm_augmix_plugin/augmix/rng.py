"""Random draws on torch generators (Gamma, Dirichlet, Beta), so seeds and DataLoader workers behave as torch's do.

``torch.distributions`` cannot take a ``torch.Generator``; these helpers can. Seeds are derived by
:mod:`timm_augmix_plugin.utils.seeds` (``mix_seed`` is re-exported here for existing imports).
"""
from __future__ import annotations

import torch

from ..utils.seeds import mix_seed

__all__ = ["mix_seed", "sample_beta", "sample_dirichlet", "sample_exponential", "sample_gamma"]


def sample_gamma(concentration: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Gamma(concentration, 1) samples, one per element (Marsaglia & Tsang, with the alpha < 1 boost).

    Where every concentration is 1 (the paper's default) Gamma(1, 1) is the exponential distribution, drawn exactly as
    ``-log(1 - U)`` from one uniform per element. The draws are made on the generator's device (the CPU without
    one); keep ``concentration`` on the CPU so that the all-ones check needs no device synchronisation.
    """
    device = _device_of(generator)
    alpha = concentration.to(torch.float64)
    if bool((alpha == 1).all()):
        return sample_exponential(alpha.shape, generator)
    alpha = alpha.to(device)
    boost = alpha < 1
    a = torch.where(boost, alpha + 1, alpha)
    d = a - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.empty_like(a)
    todo = torch.ones_like(a, dtype=torch.bool)
    while bool(todo.any()):
        idx = todo.nonzero(as_tuple=True)
        x = torch.randn(idx[0].shape, generator=generator, dtype=torch.float64, device=device)
        v = (1 + c[idx] * x) ** 3
        u = torch.rand(idx[0].shape, generator=generator, dtype=torch.float64, device=device)
        ok = (v > 0) & (torch.log(u) < 0.5 * x * x + d[idx] - d[idx] * v + d[idx] * torch.log(v.clamp_min(1e-300)))
        accepted = tuple(i[ok] for i in idx)
        out[accepted] = (d[idx] * v)[ok]
        todo[accepted] = False
    if bool(boost.any()):
        u = torch.rand(out.shape, generator=generator, dtype=torch.float64, device=device)
        out = torch.where(boost, out * u ** (1.0 / alpha.clamp_min(1e-12)), out)
    return out


def sample_exponential(shape: tuple[int, ...] | torch.Size, generator: torch.Generator | None = None) -> torch.Tensor:
    """Exponential(1) samples (float64) as ``-log(1 - U)``, ``U ~ U[0, 1)``, so every sample is finite.

    Drawn on the generator's device (the CPU without one).
    """
    return -torch.log1p(-torch.rand(shape, generator=generator, dtype=torch.float64, device=_device_of(generator)))


def _device_of(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def sample_dirichlet(alpha: float, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw from Dirichlet([alpha] * k) as float32 (the paper casts its weights to float32)."""
    g = sample_gamma(torch.full((k,), float(alpha)), generator)
    return (g / g.sum()).to(torch.float32)


def sample_beta(alpha: float, beta: float, generator: torch.Generator | None = None) -> float:
    """One draw from Beta(alpha, beta)."""
    g = sample_gamma(torch.tensor([float(alpha), float(beta)]), generator)
    return float(g[0] / g.sum())
