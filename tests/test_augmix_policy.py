"""The augmix_paper policy grammar: defaults, every option, and clear errors."""
from __future__ import annotations

import pytest

from timm_augmix_plugin.augmix import AugMixConfig, parse_policy
from timm_augmix_plugin.augmix.config import is_plugin_policy


def test_defaults_are_the_papers_cifar_settings():
    assert parse_policy("augmix_paper") == AugMixConfig(severity=3, width=3, depth=-1, alpha=1.0, all_ops=False, fill=0)


@pytest.mark.parametrize("policy, expected", [
    ("augmix_paper-s5", dict(severity=5)),
    ("augmix_paper-s2.5-w4", dict(severity=2.5, width=4)),
    ("augmix_paper-d-1", dict(depth=-1)),
    ("augmix_paper-drand", dict(depth=-1)),
    ("augmix_paper-d0", dict(depth=-1)),
    ("augmix_paper-d2", dict(depth=2)),
    ("augmix_paper-a0.5", dict(alpha=0.5)),
    ("augmix_paper-all", dict(all_ops=True)),
    ("augmix_paper-in", dict(severity=1)),
    ("augmix_paper-in-s2", dict(severity=2)),
    ("augmix_paper-fill128", dict(fill=128)),
    ("augmix_paper-w3-d-1-s3-a1-all", dict(all_ops=True)),
])
def test_options(policy, expected):
    assert parse_policy(policy) == AugMixConfig(**expected)


@pytest.mark.parametrize("policy", ["augmix_paper-s4-w2-d2-a0.3-all-fill7", "augmix_paper", "augmix_paper-in"])
def test_round_trip(policy):
    config = parse_policy(policy)
    assert parse_policy(config.to_policy()) == config


def test_plugin_names_are_disjoint_from_timms():
    assert is_plugin_policy("augmix_paper-s3")
    for timm_name in ("augmix", "augmix-m3-w3", "augmixpaper", "rand-m9", None, 3):
        assert not is_plugin_policy(timm_name)


@pytest.mark.parametrize("policy, message", [
    ("augmix_paper-m3", "Unknown option 'm3'"),
    ("augmix_paper-x", "Unknown option 'x'"),
    ("augmix_paper-s0", "severity must be in 1..10"),
    ("augmix_paper-s11", "severity must be in 1..10"),
    ("augmix_paper-w0", "width must be an integer >= 1"),
    ("augmix_paper-w1.5", "width must be an integer"),
    ("augmix_paper-d-2", "depth must be -1"),
    ("augmix_paper-a0", "alpha must be > 0"),
    ("augmix_paper-fill300", "fill must be an integer in 0..255"),
    ("augmix_paper-s3-s4", "given twice"),
    ("augmix_paper-all-all", "given twice"),
    ("augmix-m3", "must start with 'augmix_paper'"),
])
def test_bad_policies_name_the_problem(policy, message):
    with pytest.raises(ValueError, match=message):
        parse_policy(policy)


def test_bad_policy_error_suggests_a_valid_string():
    with pytest.raises(ValueError, match=r"e\.g\. 'augmix_paper-s3-w3-d-1-a1'"):
        parse_policy("augmix_paper-q1")
