"""Evaluation preprocessing built from a timm data config.

* -C images are fed as they are: ToTensor + Normalize only, no Resize/CenterCrop (ImageNet-C images are already
  224x224 centre crops; resizing them again skews the scores, RobustBench#59).
* Clean images that already have the model's input size get the same ToTensor + Normalize; other clean images get
  timm's eval transform (resize by ``crop_pct`` + centre crop), as the ImageNet protocol does for the validation set.
* Generated corruptions first bring the clean image to the input size the way the reference -C generators (and
  ``make-c``) do: 224 -> resize the short side to 256 + centre crop 224; other sizes -> resize to (size, size). Then
  the image is corrupted and gets ToTensor + Normalize.
"""
from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from ..constants import IMAGENET_CROP_PCT
from ..data_config import ResizeCenterCrop, ToNormalizedTensor

__all__ = [
    "CleanTransform", "ReferencePrepare", "clean_transform", "corrupted_transform", "geometric_transform", "input_hw",
    "reference_prepare",
]


class ReferencePrepare:
    """PIL -> PIL as the -C generators prepare clean images: 224 -> short side 256 + centre crop; else (size, size).

    Images already ``size x size`` pass through untouched. Bilinear resampling.
    """

    def __init__(self, size: int) -> None:
        # the one implementation make-c uses too; imported here so plain eval-c does not load the corruptions package
        from ..corruptions.prepare import prepare_clean_image

        self.size, self._prepare = size, prepare_clean_image

    def __call__(self, image: Image.Image) -> Image.Image:
        return self._prepare(image, self.size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class CleanTransform:
    """Clean image -> tensor: ToTensor+Normalize when already at input size, else resize + centre crop first."""

    def __init__(self, data_config: dict[str, Any]) -> None:
        self.geometric = geometric_transform(data_config)
        self.to_tensor = corrupted_transform(data_config)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.to_tensor(self.geometric(image))


def input_hw(data_config: dict[str, Any]) -> tuple[int, int]:
    """(height, width) the model expects."""
    _, height, width = data_config["input_size"]
    return int(height), int(width)


def _square_size(data_config: dict[str, Any]) -> int:
    height, width = input_hw(data_config)
    if height != width:
        raise ValueError(f"non-square input size {height}x{width} is not supported by eval-c")
    return height


def corrupted_transform(data_config: dict[str, Any]) -> ToNormalizedTensor:
    """ToTensor + Normalize with the model's mean/std (no resizing); the plugin's one normalisation step."""
    return ToNormalizedTensor(tuple(data_config["mean"]), tuple(data_config["std"]))


def geometric_transform(data_config: dict[str, Any]) -> ResizeCenterCrop:
    """Resize + centre crop to the model's (square) input size with its crop_pct and interpolation.

    The plugin's one evaluation resize (also ``create_augmix_transform(is_training=False)``'s), here keeping images
    already at the input size as they are.
    """
    crop_pct = float(data_config.get("crop_pct") or IMAGENET_CROP_PCT)
    return ResizeCenterCrop(_square_size(data_config), crop_pct, data_config.get("interpolation", "bilinear"))


def reference_prepare(data_config: dict[str, Any]) -> ReferencePrepare:
    """The -C generators' preparation of clean images at the model's (square) input size."""
    return ReferencePrepare(_square_size(data_config))


def clean_transform(data_config: dict[str, Any]) -> CleanTransform:
    """See :class:`CleanTransform`."""
    return CleanTransform(data_config)
