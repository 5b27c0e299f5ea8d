"""Policy typos through timm's create_transform name the valid policy instead of timm's bare AssertionError, while
timm's own strings (valid or not) behave exactly as without the plugin (issue 15)."""
from __future__ import annotations

import pytest
import timm
import torch

import timm_augmix_plugin


def _build(policy: str):
    return timm.data.create_transform(32, is_training=True, auto_augment=policy)


@pytest.mark.parametrize("typo", ["augmix_papr", "AUGMIX_PAPER", "augmix_paper ", " augmix_paper", "augmixpaper",
                                  "Augmix_Paper-s3", "augmix_pape-w3"])
def test_misspelled_policies_name_the_valid_one(typo):
    with pytest.raises(ValueError, match=r"did you mean 'augmix_paper'.*e\.g\. 'augmix_paper'"):
        _build(typo)
    timm_augmix_plugin.uninstall()
    try:
        with pytest.raises(AssertionError):  # what timm alone gives: the hook's error exists only while installed
            _build(typo)
    finally:
        timm_augmix_plugin.install()


def test_a_trailing_space_after_options_is_named():
    with pytest.raises(ValueError, match=r"surrounding spaces; write 'augmix_paper-s3'"):
        _build("augmix_paper-s3 ")


@pytest.mark.parametrize("policy", ["augmix-m3-w3", "rand-m9-mstd0.5", "original", "augmentation", "trivialaugment"])
def test_timms_own_strings_behave_as_without_the_plugin(policy):
    def outcome():
        try:
            tf = _build(policy)
        except Exception as err:  # noqa: BLE001 (what timm raises is what is compared)
            return type(err), str(err)
        import random

        import numpy as np
        from PIL import Image

        torch.manual_seed(0)
        random.seed(0)
        np.random.seed(0)

        return repr(tf), tf(Image.new("RGB", (32, 32), (120, 30, 200))).sum().item()

    with_plugin = outcome()
    timm_augmix_plugin.uninstall()
    try:
        without = outcome()
    finally:
        timm_augmix_plugin.install()
    assert with_plugin == without
