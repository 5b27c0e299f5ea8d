"""The JSD consistency loss through timm's loss factory: any base loss, timm equivalence, Mixup/CutMix, split BN."""
from __future__ import annotations

import pytest
import timm
import torch
import torch.nn.functional as F
from timm.data import Mixup
from timm.layers import convert_splitbn_model
from timm.loss import BinaryCrossEntropy, JsdCrossEntropy, LabelSmoothingCrossEntropy, SoftTargetCrossEntropy

from timm_augmix_plugin.loss import JsdLoss, SplitMixup, create_jsd_loss

B, C = 8, 10


def _batch(seed=0, splits=3):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(splits * B, C, generator=gen, requires_grad=True)
    target = torch.randint(0, C, (B,), generator=gen)
    return logits, target


def _reference_jsd(logits, target, base, alpha=12.0, splits=3):
    """The paper's train() written out (reference-facts 1.4)."""
    parts = torch.split(logits, logits.shape[0] // splits)
    loss = base(parts[0], target)
    p = [F.softmax(x, dim=1) for x in parts]
    m = torch.clamp(sum(p) / splits, 1e-7, 1).log()
    return loss + alpha * sum(F.kl_div(m, q, reduction="batchmean") for q in p) / splits


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_plain_ce_equals_timms_jsd_cross_entropy_values_and_gradients(smoothing):
    logits, target = _batch()
    ours = timm.loss.create_classification_loss(loss_type="jsd_ce", jsd_splits=3, jsd_alpha=12.0, smoothing=smoothing)
    assert isinstance(ours, JsdLoss)
    theirs = JsdCrossEntropy(num_splits=3, alpha=12, smoothing=smoothing)
    a = ours(logits, target.repeat(3))
    (ga,) = torch.autograd.grad(a, logits)
    b = theirs(logits, target.repeat(3))
    (gb,) = torch.autograd.grad(b, logits)
    assert torch.allclose(a, b, atol=1e-6) and torch.allclose(ga, gb, atol=1e-7)


def test_matches_the_papers_formula_and_uses_the_clean_split_only():
    logits, target = _batch(1)
    loss = create_jsd_loss("ce", num_splits=3, alpha=12.0)
    assert torch.allclose(loss(logits, target), _reference_jsd(logits, target, torch.nn.CrossEntropyLoss()))
    same = logits[:B].detach().repeat(3, 1)
    parts = loss.loss_parts(same, target)
    assert parts["jsd"].abs() < 1e-6  # identical predictions: no divergence
    assert torch.allclose(parts["base"], F.cross_entropy(same[:B], target))


def test_mixture_is_clamped_before_the_log():
    logits = torch.tensor([[100.0, -100.0]] * 2 + [[-100.0, 100.0]] * 2 + [[0.0, 0.0]] * 2)
    loss = create_jsd_loss("ce", num_splits=3)(logits, torch.tensor([0, 0]))
    assert torch.isfinite(loss)


def test_label_smoothing_base():
    logits, target = _batch(2)
    loss = timm.loss.create_classification_loss(loss_type="jsd_ce", smoothing=0.1, jsd_splits=3)
    assert isinstance(loss.base_loss, LabelSmoothingCrossEntropy)
    assert torch.allclose(loss(logits, target), _reference_jsd(logits, target, LabelSmoothingCrossEntropy(0.1)))


def test_alpha_scales_only_the_js_term():
    logits, target = _batch(3)
    l6 = create_jsd_loss("ce", alpha=6.0).loss_parts(logits, target)
    l12 = create_jsd_loss("ce", alpha=12.0)
    assert torch.allclose(l12(logits, target), l6["base"] + 12.0 * l6["jsd"])


def test_bce_wraps_with_per_class_bernoulli_consistency():
    logits, target = _batch(4)
    loss = timm.loss.create_classification_loss(loss_type="jsd_bce", jsd_splits=3)
    assert isinstance(loss.base_loss, BinaryCrossEntropy) and loss.distribution == "sigmoid"
    value = loss(logits, target)
    assert torch.isfinite(value)
    parts = loss.loss_parts(logits[:B].detach().repeat(3, 1), target)
    assert parts["jsd"].abs() < 1e-6
    assert loss.loss_parts(logits, target)["jsd"] > 0


def test_soft_targets_with_split_mixup_apply_the_same_mix_to_every_split():
    torch.manual_seed(0)
    mixup = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, prob=1.0, switch_prob=0.5, num_classes=C, label_smoothing=0.1)
    split_mixup = SplitMixup(mixup, num_splits=3)
    base = torch.randn(B, 3, 16, 16)
    for _ in range(6):  # both mixup and cutmix draws
        x = base.repeat(3, 1, 1, 1)
        target = torch.randint(0, C, (B,))
        x, soft = split_mixup(x, target.repeat(3))
        clean, aug1, aug2 = torch.split(x, B)
        assert torch.equal(clean, aug1) and torch.equal(clean, aug2)  # same images in -> same mix out
        assert not torch.equal(clean, base)
        assert soft.shape == (B, C) and torch.allclose(soft.sum(1), torch.ones(B))
    loss = timm.loss.create_classification_loss(loss_type="jsd_ce", soft_targets=True, jsd_splits=3)
    assert isinstance(loss.base_loss, SoftTargetCrossEntropy)
    logits, _ = _batch(5)
    assert torch.allclose(loss(logits, soft), _reference_jsd(logits, soft, SoftTargetCrossEntropy()))


def test_split_mixup_refuses_per_element_modes():
    with pytest.raises(ValueError, match="mode='batch'"):
        SplitMixup(Mixup(mixup_alpha=1.0, mode="elem", num_classes=C))


def test_timms_own_jsd_keeps_working_and_alpha_is_settable():
    loss = timm.loss.create_classification_loss(loss_type="jsd", jsd_splits=3)
    assert type(loss) is JsdCrossEntropy and loss.alpha == 12
    loss = timm.loss.create_classification_loss(loss_type="jsd", jsd_splits=3, jsd_alpha=4.0)
    assert type(loss) is JsdCrossEntropy and loss.alpha == 4.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(loss_type="ce", jsd_alpha=3.0), "use loss_type='jsd_ce' with jsd_splits=3"),
    (dict(loss_type="ce", jsd_splits=3, jsd_alpha=3.0), "use loss_type='jsd_ce'"),
    (dict(loss_type="jsd_ce"), "needs jsd_splits >= 2"),
    (dict(loss_type="jsd_ce", jsd_splits=1), "needs jsd_splits >= 2"),
    (dict(loss_type="jsd_nope", jsd_splits=3), "Unknown loss type 'nope'"),
    (dict(loss_type="jsd", jsd_splits=1), "jsd_splits > 1"),
    (dict(loss_type="jsd", jsd_splits=1, jsd_alpha=3.0), "num_splits >= 2"),
])
def test_factory_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timm.loss.create_classification_loss(**kwargs)


def test_every_fix_the_factory_errors_suggest_works():
    assert isinstance(timm.loss.create_classification_loss(loss_type="jsd_ce", jsd_splits=3), JsdLoss)
    assert isinstance(timm.loss.create_classification_loss(loss_type="jsd_ce", jsd_splits=3, jsd_alpha=3.0), JsdLoss)


@pytest.mark.parametrize("kwargs", [dict(loss_type="ce", jsd_splits=3), dict(loss_type="bce", jsd_splits=3),
                                    dict(loss_type="ce", jsd_splits=3, smoothing=0.1), dict(jsd_splits=2)])
def test_jsd_splits_keeps_its_timm_meaning(kwargs):
    """timm documents jsd_splits as "'jsd' only": with another loss_type it is ignored, plugin or not."""
    loss = timm.loss.create_classification_loss(**kwargs)
    assert not isinstance(loss, JsdLoss)
    plain = dict(kwargs)
    plain.pop("jsd_splits")
    assert repr(loss) == repr(timm.loss.create_classification_loss(**plain))


@pytest.mark.parametrize("base", ["ce", "bce", "poly"])
def test_plugin_loss_types_equal_the_plugin_factory(base):
    logits, target = _batch(6)
    hooked = timm.loss.create_classification_loss(loss_type=f"jsd_{base}", jsd_splits=3, jsd_alpha=5.0)
    direct = create_jsd_loss(base, num_splits=3, alpha=5.0)
    assert type(hooked.base_loss) is type(direct.base_loss) and hooked.alpha == 5.0
    assert torch.allclose(hooked(logits, target), direct(logits, target))


def test_batch_shape_errors():
    loss = create_jsd_loss("ce")
    with pytest.raises(ValueError, match="not divisible into 3 splits"):
        loss(torch.randn(10, C), torch.zeros(10, dtype=torch.long))
    with pytest.raises(ValueError, match="expected 4 .* or 12"):
        loss(torch.randn(12, C), torch.zeros(5, dtype=torch.long))


def test_split_batchnorm_with_jsd_batches():
    model = timm.create_model("resnet10t", num_classes=C)
    model = convert_splitbn_model(model, 3)
    loss_fn = timm.loss.create_classification_loss(loss_type="jsd_ce", jsd_splits=3)
    x = torch.randn(3 * 4, 3, 32, 32)
    x[4:] += 2.0  # augmented splits with other statistics than the clean one
    loss = loss_fn(model(x), torch.randint(0, C, (4,)))
    loss.backward()
    bn = model.bn1
    assert len(bn.aux_bn) == 2
    assert not torch.allclose(bn.running_mean, bn.aux_bn[0].running_mean)  # each split has its own statistics
