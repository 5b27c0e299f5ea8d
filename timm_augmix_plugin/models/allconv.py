"""All-convolutional network (Springenberg et al., 2015) in the variant of the AugMix paper's code.

Layer list (``models/cifar/allconv.py`` of google-research/augmix), every conv followed by BatchNorm and the sigmoid
GELU approximation ``sigmoid(1.702 x) * x``:

* three 3x3 convs with 96 channels (padding 1), 2x2 max-pool, dropout 0.5;
* three 3x3 convs with 192 channels (padding 1), 2x2 max-pool, dropout 0.5;
* one 3x3 conv without padding, then two 1x1 "NIN" convs with padding 1 (each grows the map by 2 px), all 192 ch;
* ``AvgPool2d(8)``: at 32 px input the last map is 10x10 (the two 1x1 convs pad), so the reference code averages its
  top-left 8x8 window;
  ``global_pool='paper'`` (the default) reproduces that, ``'avg'`` averages the whole map and accepts any input size.

``feature_info`` (``features_only``, ``forward_intermediates``) lists the maps at integer strides: after the first
conv block (stride 1), after the second (stride 2) and after the second max-pool (stride 4, 8x8 at 32 px); the
padded tail that grows the map to 10x10 comes after the last of them.

Parameter names (``features.<index>``, ``classifier``) follow the reference code so its checkpoints load as is.
"""
import functools
from collections.abc import Callable
from itertools import pairwise

import torch
from torch import nn

from ._base import CifarClassifierBase, check_positive_int, check_rate

__all__ = ["SigmoidGELU", "AllConvNet"]


class SigmoidGELU(nn.Module):
    """GELU approximated as ``sigmoid(1.702 x) * x`` (the form the AugMix code uses)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the activation element-wise."""
        return torch.sigmoid(1.702 * x) * x


def _conv_bn_act(in_chs: int, out_chs: int, kernel_size: int, padding: int) -> list[nn.Module]:
    return [nn.Conv2d(in_chs, out_chs, kernel_size, padding=padding), nn.BatchNorm2d(out_chs), SigmoidGELU()]


class AllConvNet(CifarClassifierBase):
    """The AugMix paper's AllConvNet for 32 px images.

    Args:
        num_classes: Number of classes (0: no classifier, ``forward`` returns pooled features).
        in_chans: Number of input channels.
        width1: Channels of the first three convolutions (96 in the paper).
        width2: Channels of all later convolutions (192 in the paper).
        pool_drop_rate: Dropout after each of the two max-pools (0.5 in the paper).
        drop_rate: Dropout before the classifier (timm's usual ``drop_rate``; the paper uses none).
        global_pool: ``'paper'`` (the reference 8x8 window, needs 32 px input) or a timm pool type such as ``'avg'``.
    """

    classifier_attr = "classifier"
    extra_pool_types = ("paper",)

    def __init__(self, num_classes: int = 10, in_chans: int = 3, width1: int = 96, width2: int = 192,
                 pool_drop_rate: float = 0.5, drop_rate: float = 0.0, global_pool: str = "paper") -> None:
        super().__init__(num_classes, in_chans, drop_rate, global_pool)
        check_positive_int("width1", width1)
        check_positive_int("width2", width2)
        pool_drop_rate = check_rate("pool_drop_rate", pool_drop_rate)
        layers: list[nn.Module] = []
        in_chs = in_chans
        for width in (width1, width2):
            for _ in range(3):
                layers += _conv_bn_act(in_chs, width, 3, padding=1)
                in_chs = width
            layers += [nn.MaxPool2d(kernel_size=2, stride=2), nn.Dropout(pool_drop_rate)]
        layers += _conv_bn_act(width2, width2, 3, padding=0)
        layers += _conv_bn_act(width2, width2, 1, padding=1)
        layers += _conv_bn_act(width2, width2, 1, padding=1)
        self.features = nn.Sequential(*layers)
        # feature points: end of the 96-channel block, end of the 192-channel convs, after the 2nd pool + dropout
        self._feature_ends = (9, 20, 22)
        self.feature_info = [
            dict(num_chs=width1, reduction=1, module="features.8"),
            dict(num_chs=width2, reduction=2, module="features.19"),
            dict(num_chs=width2, reduction=4, module="features.21"),
        ]
        self._finish_init(width2, global_pool)

    def group_matcher(self, coarse: bool = False) -> dict[str, object]:
        """Parameter groups for timm's layer-wise LR decay: one group per conv-BN pair."""
        return dict(stem=r"^features\.[01]\.", blocks=r"^features\.(\d+)")

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)

    def _forward_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Image batch (N, C, 32, 32) -> feature map (N, width2, 10, 10)."""
        return self.features(x)

    def _intermediate_stages(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        bounds = (0,) + self._feature_ends[:len(self.feature_info)]
        return [functools.partial(self._run_stage, self.features[start:end]) for start, end in pairwise(bounds)]

    def _forward_tail(self, x: torch.Tensor) -> torch.Tensor:
        return self._run_stage(self.features[self._feature_ends[-1]:], x)

    def _prune_stages(self, num_kept: int) -> None:
        self.features = self.features[:self._feature_ends[num_kept - 1]]
        self.feature_info = self.feature_info[:num_kept]
