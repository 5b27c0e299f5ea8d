"""Input checks for the PIL AugMix path: which image modes are converted, which are refused, and why.

* RGB: used as is.
* Grayscale (``L``), palette without transparency (``P``), ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``: converted to RGB
  (grayscale becomes three equal channels, so the ops act on it as on a gray RGB image).
* Images with alpha (``RGBA``, ``LA``, ``PA``, palette with transparency): refused, because dropping alpha silently
  changes what the image shows; composite onto a background first.
* 16/32-bit and float images (``I;16*``, ``I``, ``F``): refused, because the ops are defined on 8-bit values;
  rescale to 8 bits first.
"""
from __future__ import annotations

from PIL import Image

#: The translate range is a third of the image side; below this the op set is degenerate.
MIN_IMAGE_SIDE = 3
_CONVERTIBLE = {"L", "P", "CMYK", "YCbCr", "LAB", "HSV", "1"}
_ALPHA = {"RGBA", "LA", "PA", "RGBa", "La"}


def ensure_rgb_image(img: object, min_side: int = MIN_IMAGE_SIDE, what: str = "AugMix") -> Image.Image:
    """Return ``img`` as an 8-bit RGB PIL image, or raise an error that names the problem and the fix."""
    if not isinstance(img, Image.Image):
        raise TypeError(
            f"{what} expects a PIL image, got {type(img).__name__}. Apply it before ToTensor (timm's pipelines do), "
            "or use the batched tensor AugMix for tensors already on a device.")
    mode = img.mode
    if mode in _ALPHA or (mode == "P" and "transparency" in img.info):
        raise ValueError(
            f"{what} got an image with an alpha channel (mode {mode}). Composite it onto a background first, e.g. "
            "Image.alpha_composite(Image.new('RGBA', img.size, (255, 255, 255, 255)), img.convert('RGBA'))"
            ".convert('RGB'), or drop alpha with img.convert('RGB').")
    if mode.startswith("I") or mode == "F":
        raise ValueError(
            f"{what} works on 8-bit images, got mode {mode} (16/32-bit or float). Rescale to 8 bits first, e.g. "
            "Image.fromarray((np.asarray(img, dtype=np.float64) / max_value * 255).round().astype(np.uint8)).")
    if mode in _CONVERTIBLE:
        img = img.convert("RGB")
    elif mode != "RGB":
        raise ValueError(f"{what} cannot use image mode {mode}; convert it with img.convert('RGB').")
    if min(img.size) < min_side:
        raise ValueError(
            f"{what} needs images of at least {min_side}x{min_side} pixels, got {img.size[0]}x{img.size[1]}. "
            "Resize the image first (e.g. timm's create_transform with a larger input size).")
    return img
