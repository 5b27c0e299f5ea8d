"""DenseNet for CIFAR (Huang et al., 2017) as coded in the AugMix paper's ``third_party/ResNeXt_DenseNet``.

The paper's DenseNet is DenseNet-40-12 *without* bottlenecks and without compression (``reduction=1.0``): a 3x3 stem
with ``2 * growth_rate`` channels, three dense blocks of ``(depth - 4) / 3`` BN-ReLU-conv3x3 layers that each append
``growth_rate`` channels, BN-ReLU-conv1x1-avgpool2 transitions between them, and a final BN-ReLU before pooling.
With ``bottleneck=True`` each layer is BN-ReLU-conv1x1(4 * growth)-BN-ReLU-conv3x3 and a block has
``(depth - 4) / 6`` layers (DenseNet-BC). Parameter names follow the reference code so its checkpoints load as is.
"""
import math
from collections.abc import Callable

import torch
from torch import nn

from ._base import CifarClassifierBase, check_depth, check_positive_int

__all__ = ["DenseLayer", "DenseBottleneckLayer", "DenseTransition", "CifarDenseNet"]


class DenseLayer(nn.Module):
    """BN-ReLU-conv3x3 producing ``growth_rate`` new channels, concatenated to the input."""

    def __init__(self, in_chs: int, growth_rate: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_chs)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_chs, growth_rate, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C + growth_rate, H, W)."""
        return torch.cat((x, self.conv1(self.relu(self.bn1(x)))), 1)


class DenseBottleneckLayer(nn.Module):
    """BN-ReLU-conv1x1 (4 * growth_rate) then BN-ReLU-conv3x3 (growth_rate), concatenated to the input."""

    def __init__(self, in_chs: int, growth_rate: int) -> None:
        super().__init__()
        inter_chs = 4 * growth_rate
        self.bn1 = nn.BatchNorm2d(in_chs)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_chs, inter_chs, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(inter_chs)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(inter_chs, growth_rate, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C + growth_rate, H, W)."""
        out = self.conv1(self.relu1(self.bn1(x)))
        out = self.conv2(self.relu2(self.bn2(out)))
        return torch.cat((x, out), 1)


class DenseTransition(nn.Module):
    """BN-ReLU-conv1x1 to ``out_chs`` channels, then 2x2 average pooling."""

    def __init__(self, in_chs: int, out_chs: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_chs)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_chs, out_chs, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, out_chs, H/2, W/2)."""
        return self.pool(self.conv1(self.relu(self.bn1(x))))


class CifarDenseNet(CifarClassifierBase):
    """DenseNet-``depth``-``growth_rate`` for 32 px images.

    Args:
        growth_rate: Channels each dense layer adds (k).
        depth: Total depth; ``depth - 4`` must be divisible by 3 (by 6 with bottlenecks).
        reduction: Channel compression of the transitions (1.0 = none, as in the paper's model).
        bottleneck: Use BN-ReLU-conv1x1-BN-ReLU-conv3x3 layers (DenseNet-BC) instead of single conv3x3 layers.
        num_classes: Number of classes (0: no classifier, ``forward`` returns pooled features).
        in_chans: Number of input channels.
        drop_rate: Dropout before the classifier (the paper uses none).
        global_pool: Global pooling type (timm names; ``'avg'`` equals the paper's 8x8 average at 32 px).
    """

    classifier_attr = "fc"

    def __init__(self, growth_rate: int = 12, depth: int = 40, reduction: float = 1.0, bottleneck: bool = False,
                 num_classes: int = 10, in_chans: int = 3, drop_rate: float = 0.0, global_pool: str = "avg") -> None:
        super().__init__(num_classes, in_chans, drop_rate, global_pool)
        check_positive_int("growth_rate", growth_rate)
        kind = "with" if bottleneck else "without"
        num_layers = check_depth(depth, 6 if bottleneck else 3, 4, "DenseNet",
                                 f"{kind} bottlenecks; the paper uses depth=40, bottleneck=False")
        if isinstance(reduction, bool) or not isinstance(reduction, (int, float)) or not 0.0 < reduction <= 1.0:
            raise ValueError(f"reduction must be in (0, 1] (1.0 keeps all channels), got {reduction!r}.")
        self.growth_rate = growth_rate
        self.depth = depth

        chs = 2 * growth_rate
        self.conv1 = nn.Conv2d(in_chans, chs, kernel_size=3, padding=1, bias=False)
        self.dense1 = self._make_dense(chs, growth_rate, num_layers, bottleneck)
        chs += num_layers * growth_rate
        chs_block1 = chs
        self.trans1 = DenseTransition(chs, int(math.floor(chs * reduction)))
        chs = int(math.floor(chs * reduction))
        self.dense2 = self._make_dense(chs, growth_rate, num_layers, bottleneck)
        chs += num_layers * growth_rate
        chs_block2 = chs
        self.trans2 = DenseTransition(chs, int(math.floor(chs * reduction)))
        chs = int(math.floor(chs * reduction))
        self.dense3 = self._make_dense(chs, growth_rate, num_layers, bottleneck)
        chs += num_layers * growth_rate
        self.bn1 = nn.BatchNorm2d(chs)
        self.relu = nn.ReLU(inplace=True)
        self.feature_info = [
            dict(num_chs=chs_block1, reduction=1, module="dense1"),
            dict(num_chs=chs_block2, reduction=2, module="dense2"),
            dict(num_chs=chs, reduction=4, module="relu"),
        ]
        self._finish_init(chs, global_pool)

    @staticmethod
    def _make_dense(in_chs: int, growth_rate: int, num_layers: int, bottleneck: bool) -> nn.Sequential:
        layer_cls = DenseBottleneckLayer if bottleneck else DenseLayer
        return nn.Sequential(*[layer_cls(in_chs + i * growth_rate, growth_rate) for i in range(num_layers)])

    def group_matcher(self, coarse: bool = False) -> dict[str, object]:
        """Parameter groups for timm's layer-wise LR decay: stem, then dense blocks and transitions."""
        if coarse:
            blocks = [(r"^dense(\d+)", None), (r"^trans(\d+)", None), (r"^bn1", (99999,))]
        else:
            blocks = [(r"^dense(\d+)\.(\d+)", None), (r"^trans(\d+)", (99998,)), (r"^bn1", (99999,))]
        return dict(stem=r"^conv1", blocks=blocks)

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)

    def _forward_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Image batch (N, C, H, W) -> final pre-activated feature map (N, num_features, H/4, W/4)."""
        x = self.dense3(self.trans2(self.dense2(self.trans1(self.dense1(self.conv1(x))))))
        return self.relu(self.bn1(x))

    def _intermediate_stages(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        return [
            lambda x: self._run_stage(self.dense1, self.conv1(x)),
            lambda x: self._run_stage(self.dense2, self.trans1(x)),
            lambda x: self.relu(self.bn1(self._run_stage(self.dense3, self.trans2(x)))),
        ]

    def _prune_stages(self, num_kept: int) -> None:
        names = (("trans1", "dense2"), ("trans2", "dense3", "bn1", "relu"))
        for group in names[num_kept - 1:]:
            for name in group:
                setattr(self, name, nn.Sequential() if name.startswith("dense") else nn.Identity())
        self.feature_info = self.feature_info[:num_kept]
