"""Input checks for the PIL AugMix path: the package's RGB policy plus a minimum size.

The modes converted and refused are those of :func:`timm_augmix_plugin.utils.images.to_rgb` (the one RGB policy of
every entry point that opens images): RGB used as is; grayscale, palette, CMYK, YCbCr, LAB, HSV converted; alpha
and 16/32-bit or float images refused, with the fix in the message.
"""
from __future__ import annotations

from PIL import Image

from ..utils.images import to_rgb

__all__ = ["MIN_IMAGE_SIDE", "ensure_rgb_image"]

#: The translate range is a third of the image side; below this the op set is degenerate.
MIN_IMAGE_SIDE = 3


def ensure_rgb_image(img: object, min_side: int = MIN_IMAGE_SIDE, what: str = "AugMix") -> Image.Image:
    """Return ``img`` as an 8-bit RGB PIL image, or raise an error that names the problem and the fix."""
    if not isinstance(img, Image.Image):
        raise TypeError(
            f"{what} expects a PIL image, got {type(img).__name__}. Apply it before ToTensor (timm's pipelines do), "
            "or use the batched tensor AugMix for tensors already on a device.")
    img = to_rgb(img, what)
    if min(img.size) < min_side:
        raise ValueError(
            f"{what} needs images of at least {min_side}x{min_side} pixels, got {img.size[0]}x{img.size[1]}. "
            "Resize the image first (e.g. timm's create_transform with a larger input size).")
    return img
