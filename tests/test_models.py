"""The AugMix paper's CIFAR architectures in timm's registry: shapes, parameter counts, timm API, registration."""
from __future__ import annotations

import importlib.util
import sys
import types
import warnings

import pytest
import timm
import torch
from timm.layers import convert_splitbn_model
from timm.layers.split_batchnorm import SplitBatchNorm2d
from timm.models import _registry, save_for_hf
from timm.optim import create_optimizer_v2
from torch import nn

import timm_augmix_plugin
from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD
from timm_augmix_plugin.models import AllConvNet, CifarDenseNet, CifarResNeXt, WideResNet, augmix_cifar, registration

NAMES = ("allconvnet", "densenet40_12", "resnext29_4x32d", "wrn16_1", "wrn16_2", "wrn28_10", "wrn40_2")
#: Models cheap enough for per-model forward tests on a loaded 2-core machine (wrn28_10 has 36M parameters).
FAST = ("allconvnet", "densenet40_12", "resnext29_4x32d", "wrn16_1", "wrn16_2", "wrn40_2")
NUM_FEATURES = {
    "allconvnet": 192, "densenet40_12": 456, "resnext29_4x32d": 1024,
    "wrn16_1": 64, "wrn16_2": 128, "wrn28_10": 640, "wrn40_2": 128,
}
#: Spatial size of forward_features at 32 px (AllConvNet's 1x1 "NIN" convs with padding 1 grow 6x6 to 10x10).
FEATURE_HW = {name: 10 if name == "allconvnet" else 8 for name in NAMES}


@pytest.fixture(autouse=True)
def _plugin_installed():
    """Every test starts and ends with the plugin installed and no stray registrations."""
    timm_augmix_plugin.install()
    yield
    timm_augmix_plugin.install()
    assert set(registration.registered_models()) == set(NAMES)


def _x(batch: int = 2, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------------------------------
# Parameter counts
#
# Expected numbers (10 classes unless stated) and where they come from:
# * wrn40_2: 2,243,546; with 100 classes 2,255,156, which is the count published for the paper's released CIFAR-100
#   AugMix WRN-40-2 (HF card WNJXYK/TTA-CIFAR-100-AugMix-WRN40, reference-facts section 2) and ~2.2M in the WRN paper.
# * wrn16_1: 175,066 (~0.18M, reference-facts section 7); wrn16_2: 691,674 (~0.7M, WRN paper Table 1: 0.7M);
#   wrn28_10: 36,479,194 (WRN paper: 36.5M).
# * densenet40_12: 1,059,298 (DenseNet paper Table 2: DenseNet L=40, k=12, 1.0M).
# * resnext29_4x32d: 6,807,882; allconvnet: 1,409,674.
# All seven were also checked equal to ``sum(p.numel())`` of the paper's own modules (google-research/augmix @ 9b9824c:
# WideResNet(d, 10, k, 0.0), densenet(num_classes=10), resnext29(num_classes=10), AllConvNet(10)) when this was
# written, with identical state_dict keys and logits. The analytic counts below re-derive them from the layer lists.
# ---------------------------------------------------------------------------------------------------------------------
EXPECTED_PARAMS = {
    ("wrn40_2", 10): 2_243_546,
    ("wrn40_2", 100): 2_255_156,
    ("wrn16_1", 10): 175_066,
    ("wrn16_2", 10): 691_674,
    ("wrn28_10", 10): 36_479_194,
    ("densenet40_12", 10): 1_059_298,
    ("resnext29_4x32d", 10): 6_807_882,
    ("allconvnet", 10): 1_409_674,
}


def _bn(c: int) -> int:
    return 2 * c


def _wrn_params(depth: int, k: int, num_classes: int) -> int:
    n = (depth - 4) // 6
    widths = (16, 16 * k, 32 * k, 64 * k)
    total = 3 * 16 * 9
    for c_in, c in zip(widths[:-1], widths[1:], strict=True):
        for i in range(n):
            cin = c_in if i == 0 else c
            total += _bn(cin) + cin * c * 9 + _bn(c) + c * c * 9 + (cin * c if cin != c else 0)
    return total + _bn(widths[-1]) + widths[-1] * num_classes + num_classes


def _densenet_params(growth: int, depth: int, num_classes: int) -> int:
    n = (depth - 4) // 3
    c = 2 * growth
    total = 3 * c * 9
    for block in range(3):
        for _ in range(n):
            total += _bn(c) + c * growth * 9
            c += growth
        if block < 2:
            total += _bn(c) + c * c  # transition, reduction 1.0
    return total + _bn(c) + c * num_classes + num_classes


def _resnext_params(depth: int, cardinality: int, base_width: int, num_classes: int) -> int:
    n = (depth - 2) // 9
    total = 3 * 64 * 9 + _bn(64)
    c_in = 64
    for planes in (64, 128, 256):
        width = planes * base_width // 64 * cardinality
        out = 4 * planes
        for i in range(n):
            grouped_3x3 = width * (width // cardinality) * 9
            total += c_in * width + _bn(width) + grouped_3x3 + _bn(width) + width * out + _bn(out)
            if i == 0:
                total += c_in * out + _bn(out)  # projection shortcut
            c_in = out
    return total + c_in * num_classes + num_classes


def _allconv_params(num_classes: int) -> int:
    convs = [(3, 96, 3), (96, 96, 3), (96, 96, 3), (96, 192, 3), (192, 192, 3), (192, 192, 3), (192, 192, 3),
             (192, 192, 1), (192, 192, 1)]
    return sum(i * o * k * k + o + _bn(o) for i, o, k in convs) + 192 * num_classes + num_classes


ANALYTIC = {
    "wrn40_2": lambda nc: _wrn_params(40, 2, nc),
    "wrn16_1": lambda nc: _wrn_params(16, 1, nc),
    "wrn16_2": lambda nc: _wrn_params(16, 2, nc),
    "wrn28_10": lambda nc: _wrn_params(28, 10, nc),
    "densenet40_12": lambda nc: _densenet_params(12, 40, nc),
    "resnext29_4x32d": lambda nc: _resnext_params(29, 4, 32, nc),
    "allconvnet": _allconv_params,
}


@pytest.mark.parametrize(("name", "num_classes"), sorted(EXPECTED_PARAMS))
def test_parameter_count_matches_paper_models(name: str, num_classes: int) -> None:
    model = timm.create_model(name, num_classes=num_classes)
    assert _num_params(model) == EXPECTED_PARAMS[name, num_classes]
    assert ANALYTIC[name](num_classes) == EXPECTED_PARAMS[name, num_classes]


def test_wrn40_2_is_about_2_24m_parameters() -> None:
    assert round(_num_params(timm.create_model("wrn40_2", num_classes=10)) / 1e6, 2) == 2.24


# ---------------------------------------------------------------------------------------------------------------------
# Registry and timm API
# ---------------------------------------------------------------------------------------------------------------------
def test_registry_lists_the_plugin_models() -> None:
    assert timm.list_models(module="augmix_cifar") == sorted(NAMES)
    assert registration.MODULE_KEY == "augmix_cifar"
    assert set(timm.list_models("wrn*")) >= {"wrn16_1", "wrn16_2", "wrn28_10", "wrn40_2"}
    assert "augmix_cifar" in timm.list_modules()
    for name in NAMES:
        assert timm.is_model(name)
        assert _registry._model_to_module[name] == "augmix_cifar"
    assert set(registration.model_names()) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_pretrained_cfg(name: str) -> None:
    cfg = timm.models.get_pretrained_cfg(name)
    assert cfg.input_size == (3, 32, 32)
    assert cfg.mean == CIFAR_MEAN and cfg.std == CIFAR_STD
    assert cfg.crop_pct == 1.0
    assert cfg.num_classes == 10
    assert cfg.architecture == name
    assert not cfg.has_weights
    model = timm.create_model(name)
    assert model.pretrained_cfg["input_size"] == (3, 32, 32)
    first_conv = model.get_submodule(cfg.first_conv)
    assert isinstance(first_conv, nn.Conv2d) and first_conv.in_channels == 3
    assert model.get_submodule(cfg.classifier) is model.get_classifier()
    assert model.num_classes == 10 and model.get_classifier().out_features == 10
    data_cfg = timm.data.resolve_model_data_config(model)
    assert data_cfg["input_size"] == (3, 32, 32) and data_cfg["crop_pct"] == 1.0
    assert data_cfg["mean"] == CIFAR_MEAN and data_cfg["std"] == CIFAR_STD


def test_entrypoint_called_directly_keeps_cifar_cfg() -> None:
    timm_augmix_plugin.uninstall()
    model = augmix_cifar.wrn16_1()
    assert model.pretrained_cfg["input_size"] == (3, 32, 32)
    assert model.pretrained_cfg["mean"] == CIFAR_MEAN


@pytest.mark.parametrize("name", FAST)
def test_forward_and_heads(name: str) -> None:
    model = timm.create_model(name, num_classes=10).eval()
    x = _x()
    nf, hw = NUM_FEATURES[name], FEATURE_HW[name]
    with torch.no_grad():
        logits = model(x)
        feats = model.forward_features(x)
        pre = model.forward_head(feats, pre_logits=True)
        head = model.forward_head(feats)
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()
    assert model.num_features == nf
    assert feats.shape == (2, nf, hw, hw)
    assert pre.shape == (2, nf)
    torch.testing.assert_close(head, logits)

    # the head alone is cheap: reuse the features (forward == forward_head(forward_features) was checked above)
    model.reset_classifier(0)
    assert isinstance(model.get_classifier(), nn.Identity) and model.num_classes == 0
    with torch.no_grad():
        torch.testing.assert_close(model.forward_head(feats), pre)
    model.reset_classifier(5)
    assert model.get_classifier().out_features == 5
    with torch.no_grad():
        assert model.forward_head(feats).shape == (2, 5)
    model.reset_classifier(0, global_pool="")
    with torch.no_grad():
        assert model.forward_head(feats).shape == (2, nf, hw, hw)


def test_wrn28_10_forward_shape() -> None:
    model = timm.create_model("wrn28_10", num_classes=10).eval()
    with torch.no_grad():
        assert model(_x(batch=1)).shape == (1, 10)


@pytest.mark.parametrize("name", ["wrn16_1", "densenet40_12", "resnext29_4x32d", "allconvnet"])
def test_features_only(name: str) -> None:
    model = timm.create_model(name, features_only=True).eval()
    with torch.no_grad():
        feats = model(_x())
    assert [f.shape[1] for f in feats] == model.feature_info.channels()
    assert model.feature_info.reduction() == [1, 2, 4]
    assert [f.shape[-1] for f in feats[:2]] == [32, 16]


def test_catavgmax_pool_doubles_classifier_input() -> None:
    model = timm.create_model("wrn16_1", global_pool="catavgmax").eval()
    assert model.get_classifier().in_features == 2 * 64
    with torch.no_grad():
        assert model(_x()).shape == (2, 10)


def test_allconv_paper_pool_is_top_left_8x8_window() -> None:
    model = timm.create_model("allconvnet").eval()
    with torch.no_grad():
        feats = model.forward_features(_x())
        pooled = model.forward_head(feats, pre_logits=True)
    torch.testing.assert_close(pooled, feats[:, :, :8, :8].mean((2, 3)))
    model.reset_classifier(10, global_pool="avg")
    with torch.no_grad():
        torch.testing.assert_close(model.forward_head(feats, pre_logits=True), feats.mean((2, 3)))


def test_allconv_paper_pool_rejects_other_sizes_with_hint() -> None:
    model = timm.create_model("allconvnet").eval()
    with pytest.raises(ValueError, match="global_pool='avg'"):
        model(_x(size=64))
    model = timm.create_model("allconvnet", global_pool="avg").eval()
    with torch.no_grad():
        assert model(_x(size=64)).shape == (2, 10)


def test_allconv_layer_list() -> None:
    """96/192 channels, BN + sigmoid-GELU after every conv, dropout 0.5 after both max-pools, 3x3 nopad + two NINs."""
    model = timm.create_model("allconvnet")
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.padding[0]) for c in convs] == (
        [(96, 3, 1)] * 3 + [(192, 3, 1)] * 3 + [(192, 3, 0), (192, 1, 1), (192, 1, 1)])
    kinds = [type(m).__name__ for m in model.features]
    assert kinds.count("BatchNorm2d") == 9 and kinds.count("SigmoidGELU") == 9
    pools = [i for i, k in enumerate(kinds) if k == "MaxPool2d"]
    assert len(pools) == 2 and all(isinstance(model.features[i + 1], nn.Dropout) for i in pools)
    assert all(model.features[i + 1].p == 0.5 for i in pools)
    x = torch.linspace(-4, 4, 81)
    torch.testing.assert_close(model.features[2](x), torch.sigmoid(1.702 * x) * x)


def test_wrn_structure_is_pre_activation_with_projection_shortcuts() -> None:
    model = timm.create_model("wrn40_2")
    assert [len(s.layer) for s in (model.block1, model.block2, model.block3)] == [6, 6, 6]
    first = model.block1.layer[0]
    assert first.conv_shortcut is not None and first.conv_shortcut.kernel_size == (1, 1)
    assert model.block1.layer[1].conv_shortcut is None
    assert model.block2.layer[0].conv_shortcut.stride == (2, 2)
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, nn.Dropout))
    assert timm.create_model("wrn16_1").block1.layer[0].conv_shortcut is None  # 16 -> 16 channels: identity


def test_paper_initialisation() -> None:
    torch.manual_seed(0)
    model = timm.create_model("wrn40_2")
    conv = model.block3.layer[1].conv2  # 128 -> 128, 3x3: He std = sqrt(2 / (9 * 128))
    assert abs(conv.weight.std().item() - (2 / (9 * 128)) ** 0.5) < 0.002
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.all(b.weight == 1) and torch.all(b.bias == 0) for b in bns)
    assert torch.all(model.fc.bias == 0)


def test_checkpoint_keys_follow_the_paper_code() -> None:
    """State-dict names of google-research/augmix (third_party/... and models/cifar/allconv.py)."""
    expected = {
        "wrn40_2": ["conv1.weight", "block1.layer.0.bn1.weight", "block1.layer.0.conv_shortcut.weight",
                    "block3.layer.5.conv2.weight", "bn1.running_var", "fc.weight"],
        "densenet40_12": ["conv1.weight", "dense1.0.bn1.weight", "dense3.11.conv1.weight", "trans2.conv1.weight",
                          "bn1.weight", "fc.bias"],
        "resnext29_4x32d": ["conv_1_3x3.weight", "bn_1.weight", "stage_1.0.downsample.0.weight",
                            "stage_3.2.conv_conv.weight", "stage_2.1.bn_expand.weight", "classifier.weight"],
        "allconvnet": ["features.0.weight", "features.1.running_mean", "features.11.weight", "features.28.weight",
                       "features.29.bias", "classifier.weight"],
    }
    for name, keys in expected.items():
        sd = timm.create_model(name).state_dict()
        missing = [k for k in keys if k not in sd]
        assert not missing, f"{name}: {missing}"


def test_paper_code_checkpoint_loads_through_pretrained_cfg_overlay(tmp_path) -> None:
    """cifar.py saves {'epoch', 'state_dict' of a DataParallel model, ...}; timm unwraps and strips 'module.'."""
    source = timm.create_model("wrn16_1", num_classes=100).eval()
    with torch.no_grad():
        for m in source.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    checkpoint = {"epoch": 100, "state_dict": {f"module.{k}": v for k, v in source.state_dict().items()},
                  "best_acc": 0.76}
    path = tmp_path / "checkpoint.pth.tar"
    torch.save(checkpoint, path)
    loaded = timm.create_model("wrn16_1", pretrained=True,
                               pretrained_cfg_overlay=dict(file=str(path), num_classes=100)).eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(_x()), source(_x()), rtol=0, atol=0)


def test_pretrained_without_weights_raises_with_fix() -> None:
    with pytest.raises(ValueError, match="local-dir"):
        timm.create_model("wrn40_2", pretrained=True)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(depth=41), "depth"),
    (dict(widen_factor=0), "widen_factor"),
    (dict(global_pool="bogus"), "global_pool"),
    (dict(drop_rate=1.5), "drop_rate"),
    (dict(block_drop_rate=-0.1), "block_drop_rate"),
    (dict(num_classes=-1), "num_classes"),
])
def test_wrn_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        WideResNet(**kwargs)


def test_other_models_bad_arguments() -> None:
    with pytest.raises(ValueError, match="depth"):
        CifarDenseNet(depth=41)
    with pytest.raises(ValueError, match="reduction"):
        CifarDenseNet(reduction=0.0)
    with pytest.raises(ValueError, match="depth"):
        CifarResNeXt(depth=30)
    with pytest.raises(ValueError, match="pool_drop_rate"):
        AllConvNet(pool_drop_rate=1.0)
    with pytest.raises(ValueError, match="paper"):
        timm.create_model("wrn16_1", global_pool="paper")  # the AllConvNet window pool only
    with pytest.raises(ValueError, match="cardinality"):
        CifarResNeXt(cardinality=0)  # checked by the bottleneck blocks
    with pytest.raises(ValueError, match="in_chans"):
        AllConvNet(in_chans=0)


@pytest.mark.parametrize(("depth", "step", "offset", "units"), [(40, 6, 4, 6), (29, 9, 2, 3), (10, 6, 4, 1)])
def test_check_depth_returns_the_units(depth: int, step: int, offset: int, units: int) -> None:
    from timm_augmix_plugin.models._base import check_depth

    assert check_depth(depth, step, offset, "Net", "e.g. 10") == units


@pytest.mark.parametrize("depth", [4, 41, 0, 2.0, True])
def test_check_depth_rejects_other_depths(depth) -> None:
    from timm_augmix_plugin.models._base import check_depth

    with pytest.raises(ValueError, match="depth"):
        check_depth(depth, 6, 4, "Net", "e.g. 10")
    model = timm.create_model("wrn16_1")
    with pytest.raises(ValueError, match="num_classes"):
        model.reset_classifier(-3)


def test_dtype_and_in_chans_kwargs() -> None:
    model = timm.create_model("wrn16_1", in_chans=1, dtype=torch.float64).eval()
    assert model.conv1.in_channels == 1 and model.conv1.weight.dtype == torch.float64
    with torch.no_grad():
        assert model(torch.zeros(2, 1, 32, 32, dtype=torch.float64)).shape == (2, 10)


def test_grad_checkpointing_keeps_outputs() -> None:
    model = timm.create_model("wrn16_1").eval()
    x = _x()
    with torch.no_grad():
        ref = model(x)
    model.set_grad_checkpointing(True)
    x.requires_grad_(True)
    out = model(x)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert x.grad is not None and model.conv1.weight.grad is not None


def test_layer_decay_optimizer_uses_group_matcher() -> None:
    model = timm.create_model("wrn16_1")
    opt = create_optimizer_v2(model, "sgd", lr=0.1, weight_decay=5e-4, layer_decay=0.7)
    scales = sorted({g["lr_scale"] for g in opt.param_groups})
    assert len(scales) > 3  # stem, blocks, final norm and head get different LR scales


# ---------------------------------------------------------------------------------------------------------------------
# Split BN, save_for_hf / local-dir round trip
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["wrn16_1", "allconvnet"])
def test_convert_splitbn_model_runs_on_3b_batch(name: str) -> None:
    model = timm.create_model(name)
    num_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    model = convert_splitbn_model(model, 3).train()
    split = [m for m in model.modules() if isinstance(m, SplitBatchNorm2d)]
    assert len(split) == num_bn and all(len(m.aux_bn) == 2 for m in split)
    out = model(_x(batch=6))
    assert out.shape == (6, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["wrn16_1", "allconvnet"])
def test_save_for_hf_local_dir_round_trip(name: str, tmp_path) -> None:
    model = timm.create_model(name, num_classes=7).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
    save_for_hf(model, tmp_path, safe_serialization=True)
    assert (tmp_path / "config.json").is_file() and (tmp_path / "model.safetensors").is_file()
    loaded = timm.create_model(f"local-dir:{tmp_path}", pretrained=True).eval()
    assert type(loaded) is type(model) and loaded.num_classes == 7
    assert tuple(loaded.pretrained_cfg["input_size"]) == (3, 32, 32)  # JSON gives a list
    with torch.no_grad():
        torch.testing.assert_close(loaded(_x()), model(_x()), rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------------------------------
# Explicit, idempotent, reversible registration
# ---------------------------------------------------------------------------------------------------------------------
def _registry_snapshot() -> dict:
    return dict(
        entrypoints=dict(_registry._model_entrypoints),
        to_module=dict(_registry._model_to_module),
        modules={k: set(v) for k, v in _registry._module_to_models.items()},
        pretrained_cfgs=dict(_registry._model_pretrained_cfgs),
        default_cfgs=dict(_registry._model_default_cfgs),
        with_tags={k: list(v) for k, v in _registry._model_with_tags.items()},
        has_pretrained=set(_registry._model_has_pretrained),
    )


def test_executing_the_model_module_does_not_register() -> None:
    """Registration happens only in register_models(), never as a side effect of importing the model module."""
    timm_augmix_plugin.uninstall()
    before = _registry_snapshot()
    spec = importlib.util.spec_from_file_location(
        "timm_augmix_plugin.models._augmix_cifar_fresh_copy", augmix_cifar.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a fresh execution of augmix_cifar.py
    assert callable(module.wrn40_2) and not hasattr(module.wrn40_2, "__wrapped__")
    assert _registry_snapshot() == before
    assert not any(timm.is_model(n) for n in NAMES)


def test_uninstall_reinstall_round_trip() -> None:
    with_plugin = _registry_snapshot()
    timm_augmix_plugin.uninstall()
    without = _registry_snapshot()
    assert not any(timm.is_model(n) for n in NAMES)
    assert "augmix_cifar" not in timm.list_modules() and timm.list_models(module="augmix_cifar") == []
    for table in ("entrypoints", "to_module", "pretrained_cfgs", "default_cfgs", "with_tags"):
        assert not set(without[table]) & set(NAMES), table
    # exactly our names were removed, nothing of timm's changed
    assert set(with_plugin["entrypoints"]) - set(without["entrypoints"]) == set(NAMES)
    assert all(without["entrypoints"][k] is v for k, v in with_plugin["entrypoints"].items() if k not in NAMES)
    with pytest.raises(RuntimeError, match="Unknown model"):
        timm.create_model("wrn40_2")
    timm_augmix_plugin.uninstall()  # second uninstall is harmless
    assert _registry_snapshot() == without

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reinstalling (twice) warns about nothing
        timm_augmix_plugin.install()
        timm_augmix_plugin.install()
    assert _registry_snapshot() == with_plugin
    assert timm.create_model("wrn40_2").num_classes == 10


def test_never_overwrites_a_timm_model(monkeypatch) -> None:
    """A plugin entrypoint whose name timm already has (resnet18) is skipped with a warning, and never removed."""
    timm_ep = _registry._model_entrypoints["resnet18"]
    timm_cfg = _registry._model_pretrained_cfgs["resnet18"]
    before = _registry_snapshot()

    def resnet18(pretrained: bool = False, **kwargs):  # the plugin's hypothetical model of the same name
        raise AssertionError("must never be called")

    resnet18.__module__ = augmix_cifar.__name__
    monkeypatch.setattr(registration, "ENTRYPOINTS", augmix_cifar.ENTRYPOINTS + (resnet18,))
    with pytest.warns(UserWarning, match="already has a model named 'resnet18'"):
        registered = timm_augmix_plugin.models.register_models()
    assert "resnet18" not in registered
    assert _registry._model_entrypoints["resnet18"] is timm_ep
    assert _registry._model_to_module["resnet18"] == "resnet"
    assert _registry._model_pretrained_cfgs["resnet18"] is timm_cfg
    assert _registry_snapshot() == before
    timm_augmix_plugin.uninstall()
    assert _registry._model_entrypoints["resnet18"] is timm_ep and timm.is_model("resnet18")


def test_name_owned_by_another_package_is_left_alone(monkeypatch) -> None:
    timm_augmix_plugin.uninstall()
    other = types.ModuleType("other_pkg.cifar_models")
    other.default_cfgs = {}
    monkeypatch.setitem(sys.modules, other.__name__, other)

    def wrn16_1(pretrained: bool = False, **kwargs):
        return nn.Linear(1, 1)

    wrn16_1.__module__ = other.__name__
    _registry.register_model(wrn16_1)
    try:
        with pytest.warns(UserWarning, match="'wrn16_1'"):
            timm_augmix_plugin.install()
        assert _registry._model_entrypoints["wrn16_1"] is wrn16_1
        assert isinstance(timm.create_model("wrn16_1"), nn.Linear)
        assert "wrn16_1" not in registration.registered_models()
        assert timm.is_model("wrn40_2")
        timm_augmix_plugin.uninstall()
        assert _registry._model_entrypoints["wrn16_1"] is wrn16_1  # not ours: untouched by uninstall
        assert not timm.is_model("wrn40_2")
    finally:
        _registry._clear_model_entries("wrn16_1")
        _registry._model_entrypoints.pop("wrn16_1", None)
    timm_augmix_plugin.install()
    assert _registry._model_entrypoints["wrn16_1"] is augmix_cifar.wrn16_1


def test_uninstall_relies_on_timms_clear_helper() -> None:
    """timm >= 1.0.31 (the pin) has ``_clear_model_entries``; uninstall uses it (no hand-written fallback)."""
    assert callable(_registry._clear_model_entries)
    timm_augmix_plugin.uninstall()
    without = _registry_snapshot()
    timm_augmix_plugin.install()
    timm_augmix_plugin.uninstall()
    assert _registry_snapshot() == without
    timm_augmix_plugin.install()
