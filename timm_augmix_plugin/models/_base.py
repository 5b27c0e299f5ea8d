"""Shared timm-style classifier plumbing for the paper's CIFAR networks.

Each network of the AugMix paper keeps the parameter names of the paper's code (so its released ``state_dict``s load
unchanged) and only defines its trunk. This module adds what timm expects of a classifier on top: ``num_features``,
``forward_features`` / ``forward_head(x, pre_logits=...)``, ``get_classifier`` / ``reset_classifier``, gradient
checkpointing, ``forward_intermediates`` / ``prune_intermediate_layers`` and the paper's weight initialisation.

No ``from __future__ import annotations`` here or in the model modules: TorchScript reads the annotations of
``forward`` and of class attributes and cannot parse postponed (string) ones such as ``'list[dict[str, Any]]'``.
"""
import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from timm.layers import SelectAdaptivePool2d
from timm.models import register_notrace_module
from timm.models._features import feature_take_indices
from timm.models._manipulate import checkpoint_seq
from torch import nn

__all__ = ["GLOBAL_POOL_TYPES", "CifarClassifierBase", "FixedWindowAvgPool", "check_depth", "check_num_classes",
           "check_positive_int", "check_rate", "init_paper_weights"]

#: Pool types accepted by every model (timm's ``SelectAdaptivePool2d`` names; ``''`` keeps the spatial map).
GLOBAL_POOL_TYPES: tuple[str, ...] = ("", "avg", "max", "avgmax", "catavgmax", "fast")


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 1, otherwise raise a ``ValueError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return value


def check_depth(depth: Any, step: int, offset: int, network: str, hint: str) -> int:
    """The number of units ``n`` of a network whose depth must be ``step * n + offset`` with ``n >= 1``.

    Raises:
        ValueError: ``depth`` is not a positive integer of that form (the message names ``network`` and ``hint``).
    """
    check_positive_int("depth", depth)
    if depth < step + offset or (depth - offset) % step:
        raise ValueError(f"{network} depth must be {step}n + {offset} with n >= 1 ({hint}), got {depth!r}.")
    return (depth - offset) // step


def check_num_classes(num_classes: Any) -> int:
    """Return ``num_classes`` if it is an int >= 0 (0 removes the classifier), else raise a ``ValueError``."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(
            f"num_classes must be an integer >= 0 (0 removes the classifier and returns pooled features), "
            f"got {num_classes!r}."
        )
    return num_classes


def check_rate(name: str, value: Any) -> float:
    """Return ``value`` as a float if it lies in [0, 1), otherwise raise a ``ValueError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}.")
    return float(value)


def init_paper_weights(model: nn.Module, linear_weight: str = "default") -> None:
    """Initialise ``model`` as the AugMix paper's CIFAR code does.

    Convolutions get He-normal weights with std ``sqrt(2 / (k_h * k_w * out_channels))`` (fan-out), batch norms get
    weight 1 / bias 0, and linear layers get a zero bias.

    Args:
        model: Network to initialise in place.
        linear_weight: ``'default'`` keeps PyTorch's default linear weight init (WRN, DenseNet, AllConvNet);
            ``'kaiming'`` draws it from ``kaiming_normal_`` with fan-in (ResNeXt).
    """
    if linear_weight not in ("default", "kaiming"):
        raise ValueError(f"linear_weight must be 'default' or 'kaiming', got {linear_weight!r}.")
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if linear_weight == "kaiming":
                nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


@register_notrace_module  # its input-size check is Python control flow on the shape: a leaf for FX tracing
class FixedWindowAvgPool(nn.Module):
    """``AvgPool2d(kernel_size)`` followed by flatten, requiring a single output position.

    This is the pooling of the paper's AllConvNet: at 32 px its last feature map is 10x10 and the reference code
    averages the top-left 8x8 window. Other input sizes would give several windows, which the classifier cannot take,
    so they raise a ``ValueError`` that points at ``global_pool='avg'``.
    """

    def __init__(self, kernel_size: int = 8) -> None:
        super().__init__()
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.pool_type = "paper"

    def feat_mult(self) -> int:
        """Feature multiplier (1: one value per channel)."""
        return 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool (N, C, H, W) to (N, C)."""
        h, w = x.shape[-2:]
        k = self.kernel_size
        if not (k <= h < 2 * k and k <= w < 2 * k):
            raise ValueError(
                f"global_pool='paper' averages one {k}x{k} window (the reference AllConvNet at 32 px input, whose "
                f"last feature map is 10x10), but the feature map is {h}x{w}. Use 32 px input, or "
                f"global_pool='avg' for other input sizes."
            )
        return torch.flatten(nn.functional.avg_pool2d(x, k), 1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"


class CifarClassifierBase(nn.Module):
    """timm classifier interface shared by the paper's CIFAR networks.

    Subclasses build their trunk, then call :meth:`_finish_init` to create ``global_pool``, ``head_drop`` and the
    final linear layer under the attribute name :attr:`classifier_attr` (the name the paper's code uses, so
    checkpoints keep their keys) and to initialise all weights as the paper does. They implement
    :meth:`_forward_trunk` (the scriptable trunk returning the (N, num_features, H, W) map), :meth:`_classify` (the
    classifier under its attribute name), and :meth:`_intermediate_stages` / :meth:`_prune_stages` for
    ``forward_intermediates``, ``prune_intermediate_layers`` and gradient checkpointing.
    """

    #: Attribute name of the final linear layer (``'fc'`` or ``'classifier'``, as in the paper's code).
    classifier_attr: ClassVar[str] = "fc"
    #: Pool types this network accepts besides :data:`GLOBAL_POOL_TYPES`.
    extra_pool_types: ClassVar[tuple[str, ...]] = ()
    #: Linear weight init of the paper's code for this network (see :func:`init_paper_weights`).
    linear_weight_init: ClassVar[str] = "default"

    num_classes: int
    num_features: int
    head_hidden_size: int
    drop_rate: float
    grad_checkpointing: bool

    def __init__(self, num_classes: int, in_chans: int, drop_rate: float, global_pool: str) -> None:
        """Check the arguments every network takes (before its trunk is built); :meth:`_finish_init` builds the head.

        Raises:
            ValueError: ``num_classes`` < 0, ``in_chans`` < 1, ``drop_rate`` outside [0, 1) or an unknown pool type.
        """
        super().__init__()
        self.num_classes = check_num_classes(num_classes)
        check_positive_int("in_chans", in_chans)
        self.drop_rate = check_rate("drop_rate", drop_rate)
        self._check_pool_type(global_pool)
        self.grad_checkpointing = False

    def _check_pool_type(self, global_pool: str) -> None:
        allowed = GLOBAL_POOL_TYPES + self.extra_pool_types
        if not isinstance(global_pool, str) or global_pool not in allowed:
            raise ValueError(
                f'{type(self).__name__} does not support global_pool={global_pool!r}; choose one of '
                f'{", ".join(repr(p) for p in allowed)}.'
            )

    def _create_pool(self, global_pool: str) -> nn.Module:
        self._check_pool_type(global_pool)
        if global_pool == "paper":
            return FixedWindowAvgPool(8)
        return SelectAdaptivePool2d(pool_type=global_pool, flatten=bool(global_pool))

    def _finish_init(self, num_features: int, global_pool: str) -> None:
        """Build the head on the ``num_features``-channel trunk, then initialise every weight as the paper's code."""
        self.num_features = self.head_hidden_size = num_features
        self.global_pool = self._create_pool(global_pool)
        self.head_drop = nn.Dropout(self.drop_rate)
        self._set_classifier(self._make_classifier(self.num_classes))
        init_paper_weights(self, linear_weight=self.linear_weight_init)

    def _make_classifier(self, num_classes: int) -> nn.Module:
        if num_classes == 0:
            return nn.Identity()
        return nn.Linear(self.num_features * self.global_pool.feat_mult(), num_classes)

    def _set_classifier(self, module: nn.Module) -> None:
        setattr(self, self.classifier_attr, module)

    def get_classifier(self) -> nn.Module:
        """Return the final classification layer (``nn.Identity`` after ``reset_classifier(0)``)."""
        return getattr(self, self.classifier_attr)

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """Replace the classifier with a freshly initialised one.

        Args:
            num_classes: New number of classes; 0 removes the classifier so ``forward`` returns pooled features.
            global_pool: New pool type (``''`` keeps the spatial map); ``None`` keeps the current one.
        """
        self.num_classes = check_num_classes(num_classes)
        if global_pool is not None:
            self.global_pool = self._create_pool(global_pool)
        classifier = self._make_classifier(num_classes)
        init_paper_weights(classifier, linear_weight=self.linear_weight_init)
        self._set_classifier(classifier)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each stage's activations in the backward pass to save memory."""
        self.grad_checkpointing = enable

    def _run_stage(self, stage: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_seq(stage, x)
        return stage(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk: image batch (N, C, H, W) -> feature map (N, num_features, H', W').

        With gradient checkpointing the trunk runs as its :meth:`_intermediate_stages` (each stage's blocks
        checkpointed) and :meth:`_forward_tail`; the result is the same.
        """
        if self.grad_checkpointing and not torch.jit.is_scripting():
            for stage in self._intermediate_stages():
                x = stage(x)
            return self._forward_tail(x)
        return self._forward_trunk(x)

    def _forward_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """The whole trunk in one scriptable call (what :meth:`forward_features` runs without checkpointing)."""
        raise NotImplementedError

    def _intermediate_stages(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        """The trunk cut at the ``feature_info`` points: stage ``i`` maps feature ``i - 1`` (or the image) to feature
        ``i``. Running them all, then :meth:`_forward_tail`, equals :meth:`forward_features`."""
        raise NotImplementedError

    def _forward_tail(self, x: torch.Tensor) -> torch.Tensor:
        """Layers of the trunk after the last ``feature_info`` point (none for most networks)."""
        return x

    def _prune_stages(self, num_kept: int) -> None:
        """Replace the trunk's modules after stage ``num_kept - 1`` (and the tail) by ``nn.Identity``."""
        raise NotImplementedError

    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: int | list[int] | None = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = "NCHW",
            intermediates_only: bool = False,
    ) -> list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]]:
        """Forward features that also returns the ``feature_info`` maps (timm's ``forward_intermediates`` contract).

        Args:
            x: Image batch (N, C, H, W).
            indices: Take the last n stages if an int, the listed stage indices if a sequence, all if None.
            norm: Accepted for timm's API; the last feature map is already normalised and activated.
            stop_early: Stop after the last stage taken (the returned features are then that stage's map).
            output_fmt: Only ``'NCHW'``.
            intermediates_only: Return only the list of intermediate maps.

        Returns:
            ``(features, intermediates)``, or ``intermediates`` with ``intermediates_only=True``.
        """
        if output_fmt != "NCHW":
            raise ValueError(f"{type(self).__name__}.forward_intermediates supports output_fmt='NCHW' only, "
                             f"got {output_fmt!r}.")
        stages = self._intermediate_stages()[:len(self.feature_info)]  # fewer after prune_intermediate_layers
        take_indices, max_index = feature_take_indices(len(stages), indices)
        if stop_early or intermediates_only:
            stages = stages[:max_index + 1]
        intermediates = []
        for i, stage in enumerate(stages):
            x = stage(x)
            if i in take_indices:
                intermediates.append(x)
        if intermediates_only:
            return intermediates
        if len(stages) == len(self.feature_info):
            x = self._forward_tail(x)
        return x, intermediates

    def prune_intermediate_layers(
            self,
            indices: int | list[int] = 1,
            prune_norm: bool = False,
            prune_head: bool = True,
    ) -> list[int]:
        """Remove the layers not needed to compute the intermediates ``indices`` (and the head if ``prune_head``).

        Returns:
            The indices taken, as :meth:`forward_intermediates` numbers them.
        """
        take_indices, max_index = feature_take_indices(len(self.feature_info), indices)
        if max_index + 1 < len(self.feature_info):
            self._prune_stages(max_index + 1)
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool, apply dropout and classify a feature map; ``pre_logits=True`` stops before the classifier."""
        x = self.global_pool(x)
        x = self.head_drop(x)
        return x if pre_logits else self._classify(x)

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the classifier; each network names its attribute (TorchScript cannot follow ``getattr``)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, num_classes) for an image batch (N, C, H, W)."""
        return self.forward_head(self.forward_features(x))
