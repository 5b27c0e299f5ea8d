"""timm's model contract for the plugin's CIFAR models: backward, default cfg, features_only (list and getter),
forward_intermediates / prune_intermediate_layers, TorchScript and FX (timm's notrace registry).

``wrn28_10`` is the ``WideResNet`` class of ``wrn16_1`` at another depth/width, so the cheap variants cover it.
"""
from __future__ import annotations

import warnings

import pytest
import timm
import torch
from timm.models import get_notrace_functions, get_notrace_modules
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

import timm_augmix_plugin  # noqa: F401  (registers the models)
from timm_augmix_plugin.models._base import FixedWindowAvgPool

FAST = ("allconvnet", "densenet40_12", "resnext29_4x32d", "wrn16_1", "wrn16_2", "wrn40_2")
SIZE = 32


def _x(batch: int = 1, size: int = SIZE) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))


def _fx(model: torch.nn.Module) -> torch.nn.Module:
    tracer_kwargs = dict(leaf_modules=get_notrace_modules(), autowrap_functions=get_notrace_functions())
    train_nodes, eval_nodes = get_graph_node_names(model, tracer_kwargs=tracer_kwargs)
    return create_feature_extractor(model, train_return_nodes=[train_nodes[-1]], eval_return_nodes=[eval_nodes[-1]],
                                    tracer_kwargs=tracer_kwargs)


@pytest.mark.parametrize("name", FAST)
def test_backward_reaches_every_parameter(name: str) -> None:
    model = timm.create_model(name, num_classes=7).train()
    out = model(_x(batch=2))
    assert out.shape == (2, 7)
    out.mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


@pytest.mark.parametrize("name", FAST)
def test_default_cfg_matches_the_model(name: str) -> None:
    model = timm.create_model(name).eval()
    cfg = model.default_cfg
    state = model.state_dict()
    assert f"{cfg['first_conv']}.weight" in state and f"{cfg['classifier']}.weight" in state
    with torch.no_grad():
        feats = model.forward_features(_x(size=cfg["input_size"][-1]))
        assert feats.shape[1:] == (model.num_features, *cfg["pool_size"])
        assert model.forward_head(feats, pre_logits=True).shape == (1, model.head_hidden_size)
        model = timm.create_model(name, num_classes=0, global_pool="").eval()
        assert model(_x()).shape[1:] == (model.num_features, *cfg["pool_size"])


@pytest.mark.parametrize("feature_cls", [None, "getter"])
@pytest.mark.parametrize("name", FAST)
def test_features_only_maps_have_the_declared_channels_and_reductions(name: str, feature_cls: str | None) -> None:
    kwargs = {} if feature_cls is None else dict(feature_cls=feature_cls)
    model = timm.create_model(name, features_only=True, **kwargs).eval()
    assert model.feature_info.reduction() == [1, 2, 4]
    with torch.no_grad():
        feats = model(_x())
    assert [f.shape[1] for f in feats] == model.feature_info.channels()
    assert [tuple(f.shape[-2:]) for f in feats] == [(SIZE // r, SIZE // r) for r in model.feature_info.reduction()]


@pytest.mark.parametrize("name", FAST)
def test_forward_intermediates(name: str) -> None:
    model = timm.create_model(name).eval()
    info = model.feature_info
    x = _x()
    with torch.no_grad():
        final, inters = model.forward_intermediates(x)
        torch.testing.assert_close(final, model.forward_features(x))
        assert [(t.shape[1], t.shape[-1]) for t in inters] == [(f["num_chs"], SIZE // f["reduction"]) for f in info]
        last_two = model.forward_intermediates(x, indices=2, intermediates_only=True)
        assert len(last_two) == 2 and torch.equal(last_two[-1], inters[-1])
        early, first = model.forward_intermediates(x, indices=[0], stop_early=True)
        assert torch.equal(early, inters[0]) and torch.equal(first[0], inters[0])
        model.set_grad_checkpointing()
        again, _ = model.forward_intermediates(x)
        torch.testing.assert_close(again, final)
    with pytest.raises(ValueError, match="NCHW"):
        model.forward_intermediates(x, output_fmt="NHWC")


@pytest.mark.parametrize("name", FAST)
def test_grad_checkpointing_runs_the_stages_to_the_same_features(name: str) -> None:
    """With gradient checkpointing ``forward_features`` runs the ``forward_intermediates`` stages: same map, and
    the gradient reaches the input."""
    model = timm.create_model(name).eval()
    x = _x()
    with torch.no_grad():
        ref = model.forward_features(x)
    model.set_grad_checkpointing()
    x.requires_grad_(True)
    out = model.forward_features(x)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert x.grad is not None


@pytest.mark.parametrize("name", FAST)
def test_prune_intermediate_layers_keeps_the_taken_maps(name: str) -> None:
    model = timm.create_model(name).eval()
    x = _x()
    with torch.no_grad():
        _, full = model.forward_intermediates(x)
        n_params = sum(p.numel() for p in model.parameters())
        assert model.prune_intermediate_layers([0, 1]) == [0, 1]
        pruned = model.forward_intermediates(x, intermediates_only=True)
        assert sum(p.numel() for p in model.parameters()) < n_params
        assert len(pruned) == 2 and all(torch.equal(a, b) for a, b in zip(pruned, full[:2]))
        assert model.num_classes == 0 and model(x).shape == full[1].shape  # head pruned: the last kept map


@pytest.mark.parametrize("name", FAST)
def test_torchscript(name: str) -> None:
    model = timm.create_model(name).eval()
    x = _x()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated in recent torch
        scripted = torch.jit.script(model)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), model(x))


@pytest.mark.parametrize("name", FAST)
def test_fx_feature_extraction_forward_backward_and_script(name: str) -> None:
    model = timm.create_model(name, num_classes=5).eval()
    x = _x()
    with torch.no_grad():
        fx = _fx(model)
        out = next(iter(fx(x).values()))
        assert torch.equal(out, model(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            torch.testing.assert_close(next(iter(torch.jit.script(fx)(x).values())), out)
    fx.train()
    next(iter(fx(_x(batch=2)).values())).mean().backward()
    assert all(p.grad is not None for p in fx.parameters())


def test_allconvnet_paper_pool_is_an_fx_leaf() -> None:
    assert FixedWindowAvgPool in get_notrace_modules()
    fx = _fx(timm.create_model("allconvnet").eval())
    assert any(isinstance(m, FixedWindowAvgPool) for m in fx.modules())
