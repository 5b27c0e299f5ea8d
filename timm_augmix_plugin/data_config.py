"""A model's data config and the preprocessing it defines, each rule with one owner.

* :func:`model_data_config`: the data config (input size, interpolation, mean, std, crop) of a model, resolved by
  timm's ``resolve_model_data_config``; training and evaluation take mean / std from it.
* :func:`normalization_affine` and :class:`ToNormalizedTensor`: ToTensor + Normalize. The fused AugMix paths
  (``AugMixPaper``, ``BatchedAugMix``, ``NormalizedToTensor``) use the affine form ``x * scale + bias`` on pixel
  values 0..255; the plain pipelines (training without AugMix, the factory's and eval-c's evaluation) use the class.
* :class:`ResizeCenterCrop`: the evaluation resize + centre crop with timm's rule, short side
  ``floor(size / crop_pct)``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

__all__ = ["ResizeCenterCrop", "ToNormalizedTensor", "model_data_config", "normalization_affine"]


def model_data_config(model: nn.Module, img_size: int | None = None) -> dict[str, Any]:
    """timm's data config of ``model`` (input size, interpolation, mean, std, crop), optionally at ``img_size``.

    Values missing from the model's ``pretrained_cfg`` get timm's defaults (ImageNet mean / std, crop 0.875).
    ``mean``, ``std`` and ``input_size`` come back as tuples of Python numbers.

    Raises:
        ValueError: ``img_size`` is not positive, or differs from a model whose pretrained_cfg declares a fixed
            input size.
    """
    from timm.data import resolve_model_data_config

    args: dict[str, Any] = {}
    if img_size is not None:
        if img_size < 1:
            raise ValueError(f"--img-size must be positive, got {img_size}")
        cfg = getattr(model, "pretrained_cfg", {}) or {}
        native = tuple(cfg.get("input_size", (3, img_size, img_size)))[1:]
        if cfg.get("fixed_input_size") and native != (img_size, img_size):
            raise ValueError(
                f"the model has a fixed input size {native[0]}x{native[1]} and cannot run at --img-size {img_size}; "
                "use -C data at the model's size"
            )
        channels = tuple(cfg.get("input_size", (3,)))[0]
        args["input_size"] = (channels, img_size, img_size)
    config = dict(resolve_model_data_config(model, args=args))
    config["mean"] = tuple(float(v) for v in config["mean"])
    config["std"] = tuple(float(v) for v in config["std"])
    config["input_size"] = tuple(int(v) for v in config["input_size"])
    return config


def _rgb_stats(mean: Sequence[float] | torch.Tensor, std: Sequence[float] | torch.Tensor) -> tuple[tuple, tuple]:
    def values(v: Sequence[float] | torch.Tensor) -> tuple[float, ...]:
        return tuple(float(x) for x in torch.as_tensor(v, dtype=torch.float64).flatten().tolist())

    mean_v, std_v = values(mean), values(std)
    if len(mean_v) != 3 or len(std_v) != 3 or not all(s > 0 for s in std_v):
        raise ValueError(f"mean and std must be 3 values (RGB) with std > 0, got mean={mean}, std={std}; "
                         "e.g. mean=(0.4914, 0.4822, 0.4465), std=(0.2023, 0.1994, 0.2010).")
    return mean_v, std_v


def normalization_affine(mean: Sequence[float], std: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, bias)``, each (3, 1, 1) float32, with ``Normalize(mean, std)(v / 255) == v * scale + bias``.

    The form every fused path normalises pixel values ``v`` in 0..255 with (up to float32 rounding).

    Raises:
        ValueError: not 3 values each, or a std that is not positive.
    """
    mean_v, std_v = _rgb_stats(mean, std)
    mean_t = torch.tensor(mean_v, dtype=torch.float64)
    std_t = torch.tensor(std_v, dtype=torch.float64)
    return (1 / (255 * std_t)).to(torch.float32).view(3, 1, 1), (-mean_t / std_t).to(torch.float32).view(3, 1, 1)


class ToNormalizedTensor:
    """ToTensor + Normalize in one step, as timm's ``MaybeToTensor() + Normalize(mean, std)``.

    A PIL image or (H, W, C) uint8 array becomes a normalised (C, H, W) float32 tensor; a tensor (already in [0, 1])
    is normalised only.

    Args:
        mean: normalisation mean (RGB).
        std: normalisation std (RGB).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean, self.std = _rgb_stats(mean, std)

    def __call__(self, pic: Image.Image | np.ndarray | torch.Tensor) -> torch.Tensor:
        tensor = pic if isinstance(pic, torch.Tensor) else F.to_tensor(pic)
        return F.normalize(tensor, self.mean, self.std)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class ResizeCenterCrop:
    """PIL -> PIL at ``size x size``: resize the short side to ``floor(size / crop_pct)`` (timm's eval rule), then
    centre-crop.

    Args:
        size: output side.
        crop_pct: centre-crop fraction (timm's default 0.875: 32 px -> resize to 36, 224 px -> 256).
        interpolation: torchvision interpolation name (timm's ``'random'`` means bilinear here).
        keep_input_size: pass images that are already ``size x size`` through untouched (eval-c's rule for -C
            images, which are already centre crops); False resizes and crops every image.
    """

    def __init__(self, size: int, crop_pct: float = 0.875, interpolation: str = "bilinear", *,
                 keep_input_size: bool = True) -> None:
        self.size, self.crop_pct, self.keep_input_size = size, crop_pct, keep_input_size
        self.interpolation = InterpolationMode(interpolation if interpolation != "random" else "bilinear")

    def __call__(self, image: Image.Image) -> Image.Image:
        if self.keep_input_size and image.size == (self.size, self.size):
            return image
        image = F.resize(image, math.floor(self.size / self.crop_pct), interpolation=self.interpolation)
        return F.center_crop(image, [self.size, self.size])

    def __repr__(self) -> str:
        keep = "" if self.keep_input_size else ", keep_input_size=False"
        return f"{type(self).__name__}(size={self.size}, crop_pct={self.crop_pct}, {self.interpolation.value}{keep})"
