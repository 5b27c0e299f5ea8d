"""timm entrypoints and pretrained configs of the AugMix paper's CIFAR architectures.

This module's last name component, ``augmix_cifar``, is the key timm files the models under, so
``timm.list_models(module='augmix_cifar')`` lists exactly the plugin's architectures. The entrypoints are *not*
decorated: :mod:`timm_augmix_plugin.models.registration` registers them explicitly (and reversibly) when the plugin
is installed.

Example:
    ```python
    import timm
    import timm_augmix_plugin  # installs the plugin (registers the models)

    model = timm.create_model('wrn40_2', num_classes=100)
    ```
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from timm.models import PretrainedCfg, build_model_with_cfg, generate_default_cfgs, resolve_pretrained_cfg
from torch import nn

from ..constants import CIFAR_MEAN, CIFAR_STD
from .allconv import AllConvNet
from .densenet import CifarDenseNet
from .resnext import CifarResNeXt
from .wrn import WideResNet

__all__ = [
    "MODULE_KEY", "ENTRYPOINTS", "default_cfgs",
    "wrn16_1", "wrn16_2", "wrn28_10", "wrn40_2", "allconvnet", "densenet40_12", "resnext29_4x32d",
]

#: Module key of the plugin's models in timm's registry (``timm.list_models(module=MODULE_KEY)``).
MODULE_KEY = __name__.rsplit(".", 1)[-1]

_PAPER = "AugMix: A Simple Data Processing Method to Improve Robustness and Uncertainty"


def _cfg(first_conv: str, classifier: str, pool_size: tuple[int, int] = (8, 8), **kwargs: Any) -> dict[str, Any]:
    return dict(
        url="",
        num_classes=10,
        input_size=(3, 32, 32),
        pool_size=pool_size,
        crop_pct=1.0,
        crop_mode="center",
        interpolation="bilinear",
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        first_conv=first_conv,
        classifier=classifier,
        license="apache-2.0",
        origin_url="https://github.com/google-research/augmix",
        paper_ids="arXiv:1912.02781",
        paper_name=_PAPER,
        **kwargs,
    )


default_cfgs = generate_default_cfgs({
    "wrn16_1": _cfg("conv1", "fc", description="Wide ResNet 16-1 (pre-activation), CIFAR"),
    "wrn16_2": _cfg("conv1", "fc", description="Wide ResNet 16-2 (pre-activation), CIFAR"),
    "wrn28_10": _cfg("conv1", "fc", description="Wide ResNet 28-10 (pre-activation), CIFAR"),
    "wrn40_2": _cfg("conv1", "fc", description="Wide ResNet 40-2 (pre-activation), CIFAR; the AugMix paper's WRN"),
    "allconvnet": _cfg(
        "features.0", "classifier", pool_size=(10, 10), description="AllConvNet of the AugMix paper, CIFAR"),
    "densenet40_12": _cfg(
        "conv1", "fc", description="DenseNet-40-12 (no bottleneck, no compression) of the AugMix paper, CIFAR"),
    "resnext29_4x32d": _cfg(
        "conv_1_3x3", "classifier", description="ResNeXt-29 (4x32d) of the AugMix paper, CIFAR"),
})


def _own_pretrained_cfg(variant: str) -> PretrainedCfg:
    """This module's default pretrained cfg of ``variant`` (used whether or not the name is registered in timm)."""
    default_cfg = default_cfgs[variant]
    tag = default_cfg.tags[0]
    return dataclasses.replace(default_cfg.cfgs[tag], architecture=variant, tag=tag or None)


def _create(
        model_cls: Callable[..., nn.Module],
        variant: str,
        pretrained: bool = False,
        flatten_features: bool = False,
        **kwargs: Any,
) -> nn.Module:
    """Build ``variant`` through timm's ``build_model_with_cfg`` (pretrained cfg, weights, ``features_only``).

    ``flatten_features`` makes ``features_only`` look inside a top-level ``nn.Sequential`` (AllConvNet's
    ``features``) instead of treating it as one module.
    """
    if kwargs.get("pretrained_cfg") is None:
        # our own cfg, so that calling an entrypoint directly (or while another package owns the name in timm's
        # registry) still gets the CIFAR input size and normalisation
        kwargs["pretrained_cfg"] = _own_pretrained_cfg(variant)
    if pretrained:
        cfg = resolve_pretrained_cfg(
            variant, pretrained_cfg=kwargs.get("pretrained_cfg"),
            pretrained_cfg_overlay=kwargs.get("pretrained_cfg_overlay"),
        )
        if not (cfg.has_weights or cfg.state_dict is not None):
            raise ValueError(
                f"{variant} has no published pretrained weights. Load trained weights with "
                f"timm.create_model('local-dir:<folder written by save_for_hf>', pretrained=True), "
                f"timm.create_model('hf-hub:<repo id>', pretrained=True), or "
                f"timm.create_model('{variant}', pretrained=True, pretrained_cfg_overlay=dict(file='<checkpoint>')), "
                f"or pass pretrained=False."
            )
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    feature_cfg = dict(out_indices=(0, 1, 2), flatten_sequential=flatten_features)
    model = build_model_with_cfg(
        model_cls, variant, pretrained, feature_cfg=feature_cfg, **kwargs)
    if device is not None or dtype is not None:
        model = model.to(device=device, dtype=dtype)
    return model


def wrn16_1(pretrained: bool = False, **kwargs: Any) -> WideResNet:
    """Wide ResNet 16-1 (~0.18M parameters at 10 classes), a small WRN for quick CPU runs."""
    return _create(WideResNet, "wrn16_1", pretrained, **dict(dict(depth=16, widen_factor=1), **kwargs))


def wrn16_2(pretrained: bool = False, **kwargs: Any) -> WideResNet:
    """Wide ResNet 16-2 (~0.69M parameters at 10 classes)."""
    return _create(WideResNet, "wrn16_2", pretrained, **dict(dict(depth=16, widen_factor=2), **kwargs))


def wrn28_10(pretrained: bool = False, **kwargs: Any) -> WideResNet:
    """Wide ResNet 28-10 (~36.5M parameters at 10 classes), the large WRN of the WRN paper."""
    return _create(WideResNet, "wrn28_10", pretrained, **dict(dict(depth=28, widen_factor=10), **kwargs))


def wrn40_2(pretrained: bool = False, **kwargs: Any) -> WideResNet:
    """Wide ResNet 40-2 (~2.24M parameters at 10 classes), the AugMix paper's WRN (dropout 0)."""
    return _create(WideResNet, "wrn40_2", pretrained, **dict(dict(depth=40, widen_factor=2), **kwargs))


def allconvnet(pretrained: bool = False, **kwargs: Any) -> AllConvNet:
    """AllConvNet of the AugMix paper (96/192 channels, BN, sigmoid-GELU, dropout 0.5 after max-pools; ~1.41M)."""
    return _create(AllConvNet, "allconvnet", pretrained, flatten_features=True, **kwargs)


def densenet40_12(pretrained: bool = False, **kwargs: Any) -> CifarDenseNet:
    """DenseNet-40-12 of the AugMix paper (``bottleneck=False``, ``reduction=1.0``; ~1.06M parameters)."""
    model_args = dict(growth_rate=12, depth=40, reduction=1.0, bottleneck=False)
    return _create(CifarDenseNet, "densenet40_12", pretrained, **dict(model_args, **kwargs))


def resnext29_4x32d(pretrained: bool = False, **kwargs: Any) -> CifarResNeXt:
    """ResNeXt-29 with cardinality 4 and base width 32 of the AugMix paper (~6.81M parameters at 10 classes)."""
    model_args = dict(depth=29, cardinality=4, base_width=32)
    return _create(CifarResNeXt, "resnext29_4x32d", pretrained, **dict(model_args, **kwargs))


#: The plugin's entrypoints in registration order.
ENTRYPOINTS: tuple[Callable[..., nn.Module], ...] = (
    wrn16_1, wrn16_2, wrn28_10, wrn40_2, allconvnet, densenet40_12, resnext29_4x32d,
)
