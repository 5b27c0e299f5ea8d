"""Pre-activation Wide ResNet for CIFAR (Zagoruyko & Komodakis, 2016) as used by the AugMix paper.

WRN-d-k has a 3x3 stem with 16 channels and three stages of ``(d - 4) / 6`` basic blocks with 16k, 32k and 64k
channels (strides 1, 2, 2). Each block is BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 with an identity shortcut, or a
1x1 convolution on the pre-activated input when the shape changes. A final BN-ReLU precedes global pooling.
Parameter names follow the paper's ``third_party/WideResNet_pytorch/wideresnet.py`` so its checkpoints load as is.
"""
from collections.abc import Callable

import torch
from torch import nn

from ._base import CifarClassifierBase, check_depth, check_positive_int, check_rate

__all__ = ["WideBasicBlock", "WideResNetStage", "WideResNet"]


class WideBasicBlock(nn.Module):
    """Pre-activation basic block of a Wide ResNet."""

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, drop_rate: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_chs)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_chs, out_chs, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_chs)
        self.relu2 = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(drop_rate)
        self.conv2 = nn.Conv2d(out_chs, out_chs, kernel_size=3, stride=1, padding=1, bias=False)
        self.has_projection = in_chs != out_chs or stride != 1
        self.conv_shortcut = (
            nn.Conv2d(in_chs, out_chs, kernel_size=1, stride=stride, bias=False) if self.has_projection else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to (N, in_chs, H, W)."""
        pre = self.relu1(self.bn1(x))
        shortcut = self.conv_shortcut(pre) if self.conv_shortcut is not None else x
        out = self.relu2(self.bn2(self.conv1(pre)))
        out = self.conv2(self.drop(out))
        return out + shortcut


class WideResNetStage(nn.Module):
    """A stage of ``num_blocks`` blocks; the first changes width and stride (``layer`` as in the paper's code)."""

    def __init__(self, num_blocks: int, in_chs: int, out_chs: int, stride: int, drop_rate: float) -> None:
        super().__init__()
        self.layer = nn.Sequential(*[
            WideBasicBlock(in_chs if i == 0 else out_chs, out_chs, stride if i == 0 else 1, drop_rate)
            for i in range(num_blocks)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply all blocks."""
        return self.layer(x)


class WideResNet(CifarClassifierBase):
    """Wide ResNet WRN-``depth``-``widen_factor`` for 32 px images.

    Args:
        depth: Total depth d; ``(d - 4)`` must be a positive multiple of 6 (16, 22, 28, 40, ...).
        widen_factor: Width multiplier k of the three stages.
        num_classes: Number of classes (0: no classifier, ``forward`` returns pooled features).
        in_chans: Number of input channels.
        block_drop_rate: Dropout between the two convolutions of every block (the paper's ``--droprate``; 0 in
            the AugMix recipes).
        drop_rate: Dropout before the classifier (timm's usual ``drop_rate``; the paper uses none).
        global_pool: Global pooling type (timm names; ``'avg'`` equals the paper's 8x8 average at 32 px).
    """

    classifier_attr = "fc"

    def __init__(self, depth: int = 40, widen_factor: int = 2, num_classes: int = 10, in_chans: int = 3,
                 block_drop_rate: float = 0.0, drop_rate: float = 0.0, global_pool: str = "avg") -> None:
        super().__init__(num_classes, in_chans, drop_rate, global_pool)
        num_blocks = check_depth(depth, 6, 4, "WideResNet", "e.g. 16, 22, 28, 40")
        check_positive_int("widen_factor", widen_factor)
        check_rate("block_drop_rate", block_drop_rate)
        widths = (16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor)
        self.depth = depth
        self.widen_factor = widen_factor

        self.conv1 = nn.Conv2d(in_chans, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.block1 = WideResNetStage(num_blocks, widths[0], widths[1], 1, block_drop_rate)
        self.block2 = WideResNetStage(num_blocks, widths[1], widths[2], 2, block_drop_rate)
        self.block3 = WideResNetStage(num_blocks, widths[2], widths[3], 2, block_drop_rate)
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.relu = nn.ReLU(inplace=True)
        self.feature_info = [
            dict(num_chs=widths[1], reduction=1, module="block1"),
            dict(num_chs=widths[2], reduction=2, module="block2"),
            dict(num_chs=widths[3], reduction=4, module="relu"),
        ]
        self._finish_init(widths[3], global_pool)

    def group_matcher(self, coarse: bool = False) -> dict[str, object]:
        """Parameter groups for timm's layer-wise LR decay: stem, then one group per stage (or block)."""
        blocks = r"^block(\d+)" if coarse else [(r"^block(\d+)\.layer\.(\d+)", None), (r"^bn1", (99999,))]
        return dict(stem=r"^conv1", blocks=blocks)

    def _classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)

    def _forward_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Image batch (N, C, H, W) -> final pre-activated feature map (N, 64k, H/4, W/4)."""
        return self.relu(self.bn1(self.block3(self.block2(self.block1(self.conv1(x))))))

    def _intermediate_stages(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        return [
            lambda x: self._run_stage(self.block1.layer, self.conv1(x)),
            lambda x: self._run_stage(self.block2.layer, x),
            lambda x: self.relu(self.bn1(self._run_stage(self.block3.layer, x))),
        ]

    def _prune_stages(self, num_kept: int) -> None:
        for name in ("block2", "block3")[num_kept - 1:]:
            getattr(self, name).layer = nn.Sequential()
        if num_kept < 3:
            self.bn1, self.relu = nn.Identity(), nn.Identity()
        self.feature_info = self.feature_info[:num_kept]
