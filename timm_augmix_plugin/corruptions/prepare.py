"""How the reference -C generators bring a clean image to the corruption's input size.

One function, shared by ``timm-augmix make-c`` (which writes -C sets) and the on-the-fly corruptions of ``eval-c``
(:class:`timm_augmix_plugin.evaluation.transforms.ReferencePrepare`), so both corrupt exactly the same pixels.
"""
from __future__ import annotations

from PIL import Image

__all__ = ["prepare_clean_image"]


def prepare_clean_image(image: Image.Image, size: int) -> Image.Image:
    """Resize an RGB PIL image as the reference generators do (bilinear).

    ``size`` 224: resize the shorter side to 256, then centre-crop 224x224 (ImageNet-C). Other sizes: resize to
    ``(size, size)`` (Tiny-ImageNet-C, CIFAR-C). An image already ``size x size`` is returned untouched.
    """
    if image.size == (size, size):
        return image
    if size != 224:
        return image.resize((size, size), Image.Resampling.BILINEAR)
    width, height = image.size
    scale = 256 / min(width, height)
    new_w, new_h = max(256, round(width * scale)), max(256, round(height * scale))
    image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left, top = int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))
    return image.crop((left, top, left + size, top + size))
