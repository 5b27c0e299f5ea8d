"""How the reference -C generators bring a clean image to the corruption's input size.

One function, shared by ``timm-augmix make-c`` (which writes -C sets) and the on-the-fly corruptions of ``eval-c``
(:class:`timm_augmix_plugin.evaluation.transforms.ReferencePrepare`), so both corrupt exactly the same pixels.
"""
from __future__ import annotations

from PIL import Image

__all__ = ["prepare_clean_image", "prepare_context_image"]


def prepare_clean_image(image: Image.Image, size: int) -> Image.Image:
    """Resize an RGB PIL image as the reference generators do (bilinear).

    ``size`` 224: resize the shorter side to 256, then centre-crop 224x224 (ImageNet-C). Other sizes: resize to
    ``(size, size)`` (Tiny-ImageNet-C, CIFAR-C). An image already ``size x size`` is returned untouched.
    """
    if image.size == (size, size):
        return image
    if size != 224:
        return image.resize((size, size), Image.Resampling.BILINEAR)
    return _resize_256_crop(image, size)


def _resize_256_crop(image: Image.Image, side: int) -> Image.Image:
    """Resize the shorter side to 256 (bilinear), then centre-crop ``side x side``."""
    width, height = image.size
    scale = 256 / min(width, height)
    new_w, new_h = max(256, round(width * scale)), max(256, round(height * scale))
    image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left, top = int(round((new_w - side) / 2.0)), int(round((new_h - side) / 2.0))
    return image.crop((left, top, left + side, top + side))


def prepare_context_image(image: Image.Image, size: int) -> Image.Image:
    """The square the -P sequences of ``size`` px are computed on (:mod:`timm_augmix_plugin.perturbations`).

    ``size`` 224: the 256 x 256 centre of the Resize(256) image (the reference moves content in from around its 224
    crop; the centre 224 of this square is exactly :func:`prepare_clean_image`'s crop). Other sizes: as
    :func:`prepare_clean_image`.
    """
    if size != 224:
        return prepare_clean_image(image, size)
    if image.size == (256, 256):
        return image
    return _resize_256_crop(image, 256)
