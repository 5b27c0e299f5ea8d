"""The seed derivations (``utils/seeds.py``): pinned values, so that no refactor changes a generated image or
figure, and their users draw from them."""
from __future__ import annotations

from types import SimpleNamespace

import torch

from timm_augmix_plugin.augmix import rng
from timm_augmix_plugin.evaluation.datasets import GeneratedSplit
from timm_augmix_plugin.train.device_augmix import DeviceAugMix
from timm_augmix_plugin.utils.seeds import (
    fresh_seed,
    image_generators,
    indexed_generators,
    mix_seed,
    name_key,
    process_seed,
    sample_seed,
)


def test_mix_seed_values_are_pinned():
    assert mix_seed(0, 0, 0) == 0
    assert mix_seed(7, 3, 12345) == 15032437068619873
    assert mix_seed(2**40, 99, 2**31) == 8123857325548257948
    assert 0 <= mix_seed(2**62, 2**62, 2**62) < 2**63 - 1
    assert len({mix_seed(1, e, i) for e in range(20) for i in range(500)}) == 20 * 500


def test_process_seed_values_are_pinned_and_distinct_per_process():
    assert process_seed(0, 0) == 0 and process_seed(42, 0) == 42 * 1009 and process_seed(42, 3) == 42 * 1009 + 3
    assert len({process_seed(5, p) for p in range(64)}) == 64


def test_image_generators_are_keyed_by_name_severity_and_index():
    first = [g.bit_generator.random_raw(2).tolist() for g in image_generators(9, "fog", 3, 5, 2)]
    assert first == [[14384176946564167424, 9037350578121017799], [5312888042968212722, 13090804873581901580]]
    # the generator of image 6 does not depend on where the slice starts
    alone = image_generators(9, "fog", 3, 6, 1)[0].bit_generator.random_raw(2).tolist()
    assert alone == first[1]
    assert name_key("fog") != name_key("frost")
    other = image_generators(9, "frost", 3, 5, 1)[0].bit_generator.random_raw(2).tolist()
    assert other != first[0]
    assert image_generators(9, "fog", 3, 5, 1)[0].bit_generator.random_raw(2).tolist() == first[0]
    # any order of indices: the generator belongs to the index
    spread = [g.bit_generator.random_raw(2).tolist() for g in indexed_generators(9, "fog", 3, [6, 5])]
    assert spread == first[::-1]


def test_fresh_seed_is_a_63_bit_int():
    seeds = {fresh_seed() for _ in range(8)}
    assert all(isinstance(s, int) and 0 <= s < 2**63 for s in seeds) and len(seeds) > 1


def test_existing_import_paths_are_the_same_functions():
    assert rng.mix_seed is mix_seed


def test_device_augmix_generator_is_seeded_by_process_seed():
    recipe = SimpleNamespace(augmix=SimpleNamespace(num_splits=3, policy="augmix_paper"),
                             train=SimpleNamespace(seed=11))
    augmix = DeviceAugMix(recipe, (0.5,) * 3, (0.5,) * 3, torch.device("cpu"), process_index=2)
    expected = torch.Generator().manual_seed(11 * 1009 + 2)
    assert torch.equal(augmix.generator.get_state(), expected.get_state())


def test_sample_seed_values_are_pinned():
    assert sample_seed(0, "fog", 1, 0) == 1685839837
    assert sample_seed(3, "gaussian_noise", 5, 7) == 3898412951
    assert sample_seed(2**40 + 5, "snow", 2, 123456) == 240732522  # the run seed counts modulo 2**32
    assert sample_seed(-1, "x", 3, 1) == 3575776114
    assert GeneratedSplit.__init__.__globals__["sample_seed"] is sample_seed  # eval-c --generate draws from it
