"""Statistical tests (fixed seeds): both samplers draw the paper's distributions (reference-facts 1.1-1.2).

The per-image sampler (:func:`sample_augmix_params`, used by the PIL path) and the batched sampler
(:func:`sample_batched_params`) are each compared with the exact distributions (KS / chi-square tests) and, for the
per-op arguments, with a re-statement of the paper's own numpy draws (two-sample tests).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from timm_augmix_plugin.augmix import PAPER_OPS, AugMixConfig, parse_policy
from timm_augmix_plugin.augmix.batched import sample_batched_params
from timm_augmix_plugin.augmix.ops import SIGNED_OPS, op_argument
from timm_augmix_plugin.augmix.rng import sample_gamma
from timm_augmix_plugin.augmix.sampling import draw_view_choices, sample_augmix_params

P_MIN = 1e-3  # deterministic under the fixed seeds; a real mismatch gives p far below this at these sample sizes
SIZE = (32, 32)


def _flat_draws(config: AugMixConfig, n: int, sampler: str, seed: int) -> dict[str, np.ndarray]:
    """Draws of ``n`` views as flat arrays: weights (n, w), m (n,), depths (n, w), and one row per applied op."""
    gen = torch.Generator().manual_seed(seed)
    if sampler == "batched":
        p = sample_batched_params(config, n, SIZE, gen)
        active = p.active.numpy()
        return {
            "weights": p.chain_weights.numpy().astype(np.float64), "m": p.skip_weight.numpy(),
            "depth": p.depth.numpy(),
            "op": np.array(p.ops)[p.op_index.numpy()[active]], "level": p.level.numpy()[active],
            "negate": p.negate.numpy()[active], "argument": p.argument.numpy()[active],
        }
    views = [sample_augmix_params(config, SIZE, gen) for _ in range(n)]
    ops = [op for v in views for chain in v.chains for op in chain]
    return {
        "weights": np.array([v.chain_weights for v in views], dtype=np.float64),
        "m": np.array([v.skip_weight for v in views]),
        "depth": np.array([[len(c) for c in v.chains] for v in views]),
        "op": np.array([op.name for op in ops]), "level": np.array([op.level for op in ops]),
        "negate": np.array([op.negate for op in ops]),
        "argument": np.array([np.nan if op.argument is None else op.argument for op in ops], dtype=np.float64),
    }


def _paper_arguments(name: str, n: int, severity: float, seed: int) -> np.ndarray:
    """The paper's own draws for one op: ``np.random.uniform(0.1, severity)`` levels and a sign flip ``> 0.5``."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(0.1, severity, n)
    flips = rng.uniform(size=n) > 0.5
    return np.array([op_argument(name, lvl, bool(f), SIZE) for lvl, f in zip(levels, flips)], dtype=np.float64)


SAMPLERS = ["per_image", "batched"]


@pytest.fixture(scope="module", params=SAMPLERS)
def paper_draws(request):
    return request.param, _flat_draws(parse_policy("augmix_paper"), 4000, request.param, seed=11)


def test_ops_are_uniform_over_the_nine_paper_ops(paper_draws):
    _, d = paper_draws
    counts = np.array([(d["op"] == name).sum() for name in PAPER_OPS])
    assert counts.sum() == len(d["op"])
    assert stats.chisquare(counts).pvalue > P_MIN


def test_depth_is_uniform_1_to_3_and_drawn_per_chain(paper_draws):
    _, d = paper_draws
    depth = d["depth"]
    assert stats.chisquare(np.bincount(depth.ravel(), minlength=4)[1:]).pvalue > P_MIN
    table = np.array([[((depth[:, 0] == a) & (depth[:, 1] == b)).sum() for b in (1, 2, 3)] for a in (1, 2, 3)])
    assert stats.chi2_contingency(table).pvalue > P_MIN  # chains independent: not one depth per image


def test_levels_are_uniform_on_0p1_to_severity(paper_draws):
    _, d = paper_draws
    assert d["level"].min() >= 0.1 and d["level"].max() < 3
    assert stats.kstest(d["level"], stats.uniform(loc=0.1, scale=2.9).cdf).pvalue > P_MIN


def test_signs_are_fair_coins_on_the_geometric_ops_only(paper_draws):
    _, d = paper_draws
    signed = np.isin(d["op"], list(SIGNED_OPS))
    assert not d["negate"][~signed].any()
    flips = d["negate"][signed]
    assert stats.binomtest(int(flips.sum()), len(flips), 0.5).pvalue > P_MIN


@pytest.mark.parametrize("name", ["posterize", "solarize", "rotate", "translate_x", "translate_y",
                                  "shear_x", "shear_y"])
def test_per_op_argument_histograms_match_the_papers_draws(paper_draws, name):
    sampler, d = paper_draws
    ours = d["argument"][d["op"] == name]
    paper = _paper_arguments(name, 6000, 3.0, seed=sum(map(ord, name)))
    if name.startswith("shear"):
        assert stats.ks_2samp(ours, paper).pvalue > P_MIN, sampler
        return
    values = np.union1d(ours, paper)
    table = np.array([[(ours == v).sum() for v in values], [(paper == v).sum() for v in values]])
    assert set(ours) <= set(paper), (name, sorted(set(ours) - set(paper)))
    assert stats.chi2_contingency(table).pvalue > P_MIN, (sampler, name)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_mixing_weights_are_dirichlet_and_beta(alpha, sampler):
    config = AugMixConfig(alpha=alpha)
    d = _flat_draws(config, 2500, sampler, seed=int(alpha * 10))
    w, m = d["weights"], d["m"]
    assert np.allclose(w.sum(1), 1, atol=1e-6) and (w >= 0).all()
    for i in range(3):  # marginal of Dirichlet(alpha x 3) is Beta(alpha, 2 alpha)
        assert stats.kstest(w[:, i], stats.beta(alpha, 2 * alpha).cdf).pvalue > P_MIN
    # w_0 / (w_0 + w_1) ~ Beta(alpha, alpha), independent of the third component (Dirichlet aggregation property)
    assert stats.kstest(w[:, 0] / (w[:, 0] + w[:, 1]), stats.beta(alpha, alpha).cdf).pvalue > P_MIN
    assert stats.kstest(m, stats.beta(alpha, alpha).cdf).pvalue > P_MIN


def test_gamma_sampler_matches_the_gamma_distribution():
    gen = torch.Generator().manual_seed(0)
    for k in (0.1, 0.5, 1.0, 3.0):
        draws = sample_gamma(torch.full((4000,), k), gen).numpy()
        assert stats.kstest(draws, stats.gamma(k).cdf).pvalue > P_MIN, k


@pytest.mark.parametrize("policy", ["augmix_paper-all", "augmix_paper-in", "augmix_paper-d2-w4"])
def test_other_policies_op_set_severity_and_fixed_depth(policy):
    config = parse_policy(policy)
    for sampler in SAMPLERS:
        d = _flat_draws(config, 1500, sampler, seed=5)
        ops = sorted(set(d["op"]))
        assert stats.chisquare([(d["op"] == o).sum() for o in ops]).pvalue > P_MIN
        assert len(ops) == (13 if config.all_ops else 9)
        assert stats.kstest(d["level"], stats.uniform(loc=0.1, scale=config.severity - 0.1).cdf).pvalue > P_MIN
        if config.depth > 0:
            assert (d["depth"] == config.depth).all() and d["depth"].shape[1] == config.width


def test_batched_sampler_rejects_an_empty_batch():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        sample_batched_params(AugMixConfig(), 0, SIZE)


@pytest.mark.parametrize("policy", ["augmix_paper", "augmix_paper-all-d2-w4", "augmix_paper-a0.5", "augmix_paper-in"])
def test_both_samplers_draw_with_one_code(policy):
    """The per-image sampler is the batch of one of :func:`draw_view_choices`, as the batched sampler's rows are."""
    config = parse_policy(policy)
    for seed in range(20):
        one = sample_augmix_params(config, SIZE, torch.Generator().manual_seed(seed))
        row = sample_batched_params(config, 1, SIZE, torch.Generator().manual_seed(seed)).sample(0)
        assert one.chain_weights == row.chain_weights and one.skip_weight == row.skip_weight
        assert [[(op.name, op.level, op.negate) for op in c] for c in one.chains] == \
            [[(op.name, op.level, op.negate) for op in c] for c in row.chains]
        for a, b in zip((op for c in one.chains for op in c), (op for c in row.chains for op in c), strict=True):
            assert a.argument == pytest.approx(b.argument, abs=1e-12) if a.argument is not None else b.argument is None
    choices = draw_view_choices(config, 5, torch.Generator().manual_seed(0))
    assert choices.op_index.shape == choices.level.shape == choices.negate.shape
    assert choices.chain_weights.shape == (5, config.width) and choices.skip_weight.shape == (5,)


@pytest.mark.parametrize("policy", ["augmix_paper", "augmix_paper-all-d2-w4", "augmix_paper-a0.5"])
def test_the_mapping_gives_the_same_choices_in_numpy_and_torch(policy):
    """The one uniform -> choices mapping runs with NumPy on the CPU and with torch on accelerators: same choices."""
    import numpy as np

    from timm_augmix_plugin.augmix.ops import op_set
    from timm_augmix_plugin.augmix.sampling import _map_uniforms, _signed_table

    config = parse_policy(policy)
    ops = op_set(config.all_ops)
    columns = 3 * config.width * 3 + config.width + 2 + config.width
    u = torch.rand((64, columns), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    gammas = None if config.alpha == 1 else torch.rand((64, config.width + 2), dtype=torch.float64) + 0.1
    signed = _signed_table(ops)
    with_numpy = _map_uniforms(u.numpy(), None if gammas is None else gammas.numpy(), config, len(ops), signed, np)
    with_torch = _map_uniforms(u, gammas, config, len(ops), torch.from_numpy(signed), torch)
    for a, b in zip(with_numpy, with_torch, strict=True):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), b.numpy().astype(np.float64), rtol=1e-15, atol=0)
