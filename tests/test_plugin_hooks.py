"""install()/uninstall() are idempotent and reversible, and timm's own names behave exactly as without the plugin."""
from __future__ import annotations

import random

import numpy as np
import pytest
import timm
import timm.data.transforms_factory as tf
import timm.loss
import torch
from synthetic import make_image

import timm_augmix_plugin
from timm_augmix_plugin.augmix import AugMixPaper


@pytest.fixture(autouse=True)
def _reinstall():
    yield
    timm_augmix_plugin.install()


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def test_import_installs_and_install_twice_is_harmless():
    assert timm_augmix_plugin.is_installed()
    wrapped = tf.augment_and_mix_transform
    loss_fn = timm.loss.create_classification_loss
    timm_augmix_plugin.install()
    assert tf.augment_and_mix_transform is wrapped
    assert timm.loss.create_classification_loss is loss_fn


def test_uninstall_restores_timm_functions():
    timm_augmix_plugin.uninstall()
    timm_augmix_plugin.uninstall()  # twice is harmless
    assert not timm_augmix_plugin.is_installed()
    assert tf.augment_and_mix_transform is timm.data.auto_augment.augment_and_mix_transform
    assert timm.loss.create_classification_loss is timm.loss._loss_factory.create_classification_loss
    assert not hasattr(timm.loss.create_classification_loss, "__wrapped__")
    with pytest.raises(Exception):
        timm.data.create_transform(32, is_training=True, auto_augment="augmix_paper")
    timm_augmix_plugin.install()
    assert isinstance(timm.data.create_transform(32, is_training=True, auto_augment="augmix_paper",
                                                 separate=True)[1].transforms[0], AugMixPaper)


@pytest.mark.parametrize("policy", ["augmix-m3-w3", "augmix-m5-w4-d2-mstd0.5", "rand-m9-mstd0.5", "original",
                                    "v0r"])
@pytest.mark.parametrize("use_prefetcher", [False, True])
def test_timm_policies_unchanged_under_fixed_seed(policy, use_prefetcher):
    img = make_image(48, seed=3)

    def views():
        _seed_all(123)
        t = timm.data.create_transform(40, is_training=True, auto_augment=policy, use_prefetcher=use_prefetcher)
        return [t(img) for _ in range(4)]

    with_plugin = views()
    timm_augmix_plugin.uninstall()
    without_plugin = views()
    for a, b in zip(with_plugin, without_plugin):
        assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [
    dict(), dict(loss_type="ce", smoothing=0.1), dict(loss_type="ce", soft_targets=True), dict(loss_type="bce"),
    dict(loss_type="jsd", jsd_splits=3), dict(loss_type="jsd", jsd_splits=2, smoothing=0.2),
    dict(loss_type="poly"), dict(loss_type="bce", multi_label=True), dict(loss_type="ce", jsd_splits=1),
    dict(loss_type="ce", jsd_splits=3), dict(loss_type="bce", jsd_splits=3, smoothing=0.1),
])
def test_timm_losses_unchanged(kwargs):
    with_plugin = timm.loss.create_classification_loss(**kwargs)
    timm_augmix_plugin.uninstall()
    without_plugin = timm.loss.create_classification_loss(**kwargs)
    assert type(with_plugin) is type(without_plugin)
    assert repr(with_plugin) == repr(without_plugin)
    logits, target = torch.randn(6, 5), torch.randint(0, 5, (6,))
    if kwargs.get("soft_targets") or kwargs.get("multi_label"):
        target = torch.softmax(torch.randn(6, 5), 1)
    assert torch.allclose(with_plugin(logits, target), without_plugin(logits, target))
