"""ResNeXt for CIFAR (Xie et al., 2017) as coded in the AugMix paper's ``third_party/ResNeXt_DenseNet``.

ResNeXt-``depth`` (``cardinality`` x ``base_width``d) has a 3x3 stem with 64 channels (BN-ReLU) and three stages of
``(depth - 2) / 9`` bottleneck blocks with 64, 128 and 256 "planes" (strides 1, 2, 2). A block is conv1x1 ->
grouped conv3x3 (``cardinality`` groups, ``floor(planes * base_width / 64)`` channels per group) -> conv1x1 to
``4 * planes``, each with BN, ReLU after the sum with the shortcut; the shortcut is a strided 1x1 conv + BN where the
shape changes. The paper's model is ResNeXt-29 with cardinality 4 and base width 32. Parameter names follow the
reference code so its checkpoints load as is.
"""
import math
from collections.abc import Callable

import torch
from torch import nn

from ._base import CifarClassifierBase, check_depth, check_positive_int

__all__ = ["ResNeXtBottleneck", "CifarResNeXt"]


class ResNeXtBottleneck(nn.Module):
    """ResNeXt bottleneck block (type C: grouped convolution)."""

    expansion = 4

    def __init__(
            self,
            in_chs: int,
            planes: int,
            cardinality: int,
            base_width: int,
            stride: int = 1,
            downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        check_positive_int("cardinality", cardinality)
        check_positive_int("base_width", base_width)
        group_width = int(math.floor(planes * (base_width / 64.0)))
        width = group_width * cardinality
        self.conv_reduce = nn.Conv2d(in_chs, width, kernel_size=1, bias=False)
        self.bn_reduce = nn.BatchNorm2d(width)
        self.conv_conv = nn.Conv2d(
            width, width, kernel_size=3, stride=stride, padding=1, groups=cardinality, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.conv_expand = nn.Conv2d(width, planes * self.expansion, kernel_size=1, bias=False)
        self.bn_expand = nn.BatchNorm2d(planes * self.expansion)
        self.act = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_chs, H, W) -> (N, 4 * planes, H / stride, W / stride)."""
        shortcut = self.downsample(x) if self.downsample is not None else x
        out = self.act(self.bn_reduce(self.conv_reduce(x)))
        out = self.act(self.bn(self.conv_conv(out)))
        out = self.bn_expand(self.conv_expand(out))
        return self.act(out + shortcut)


class CifarResNeXt(CifarClassifierBase):
    """ResNeXt-``depth`` for 32 px images.

    Args:
        depth: Total depth; ``depth - 2`` must be a positive multiple of 9 (29, 38, 47, ...).
        cardinality: Number of groups of the 3x3 convolutions.
        base_width: Channels per group at 64 planes (scaled with the stage's planes).
        num_classes: Number of classes (0: no classifier, ``forward`` returns pooled features).
        in_chans: Number of input channels.
        drop_rate: Dropout before the classifier (the paper uses none).
        global_pool: Global pooling type (timm names; ``'avg'`` equals the paper's ``AvgPool2d(8)`` at 32 px).
    """

    classifier_attr = "classifier"
    linear_weight_init = "kaiming"

    def __init__(self, depth: int = 29, cardinality: int = 4, base_width: int = 32, num_classes: int = 10,
                 in_chans: int = 3, drop_rate: float = 0.0, global_pool: str = "avg") -> None:
        super().__init__(num_classes, in_chans, drop_rate, global_pool)
        num_blocks = check_depth(depth, 9, 2, "ResNeXt", "e.g. 29, 38, 47")  # the blocks check their own arguments
        self.depth = depth
        self.cardinality = cardinality
        self.base_width = base_width

        self.conv_1_3x3 = nn.Conv2d(in_chans, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn_1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        in_chs = 64
        stages = []
        for planes, stride in ((64, 1), (128, 2), (256, 2)):
            stages.append(self._make_stage(in_chs, planes, num_blocks, stride))
            in_chs = planes * ResNeXtBottleneck.expansion
        self.stage_1, self.stage_2, self.stage_3 = stages
        self.feature_info = [
            dict(num_chs=64 * ResNeXtBottleneck.expansion, reduction=1, module="stage_1"),
            dict(num_chs=128 * ResNeXtBottleneck.expansion, reduction=2, module="stage_2"),
            dict(num_chs=256 * ResNeXtBottleneck.expansion, reduction=4, module="stage_3"),
        ]
        self._finish_init(in_chs, global_pool)

    def _make_stage(self, in_chs: int, planes: int, num_blocks: int, stride: int) -> nn.Sequential:
        out_chs = planes * ResNeXtBottleneck.expansion
        downsample = None
        if stride != 1 or in_chs != out_chs:
            downsample = nn.Sequential(
                nn.Conv2d(in_chs, out_chs, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_chs),
            )
        blocks = [ResNeXtBottleneck(in_chs, planes, self.cardinality, self.base_width, stride, downsample)]
        blocks += [ResNeXtBottleneck(out_chs, planes, self.cardinality, self.base_width) for _ in range(1, num_blocks)]
        return nn.Sequential(*blocks)

    def group_matcher(self, coarse: bool = False) -> dict[str, object]:
        """Parameter groups for timm's layer-wise LR decay: stem, then one group per stage (or block)."""
        return dict(stem=r"^conv_1_3x3|^bn_1", blocks=r"^stage_(\d+)" if coarse else r"^stage_(\d+)\.(\d+)")

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)

    def _forward_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Image batch (N, C, H, W) -> feature map (N, 1024, H/4, W/4)."""
        return self.stage_3(self.stage_2(self.stage_1(self.relu(self.bn_1(self.conv_1_3x3(x))))))

    def _intermediate_stages(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        def stem_and_stage_1(x: torch.Tensor) -> torch.Tensor:
            return self._run_stage(self.stage_1, self.relu(self.bn_1(self.conv_1_3x3(x))))

        return [stem_and_stage_1, lambda x: self._run_stage(self.stage_2, x),
                lambda x: self._run_stage(self.stage_3, x)]

    def _prune_stages(self, num_kept: int) -> None:
        for name in ("stage_2", "stage_3")[num_kept - 1:]:
            setattr(self, name, nn.Sequential())
        self.feature_info = self.feature_info[:num_kept]
