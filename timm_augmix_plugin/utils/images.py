"""Read one image of a dataset strictly: a truncated or corrupt file raises, it is never replaced by another one.

timm's ``ImageDataset`` skips an unreadable sample and returns the next index instead (with a log warning), which
silently shifts images and labels; the -C generator and the -C evaluation read through :func:`load_rgb_sample`.
"""
from __future__ import annotations

from typing import Any

from PIL import Image

__all__ = ["UnreadableImageError", "load_rgb_sample"]


class UnreadableImageError(ValueError):
    """An image file of a dataset cannot be decoded (truncated, corrupt, not an image)."""


def load_rgb_sample(dataset: Any, index: int) -> tuple[Image.Image, int]:
    """Sample ``index`` of ``dataset`` as a fully decoded RGB PIL image and its label.

    Datasets with a timm ``reader`` are read through it (the file is decoded here, so a bad one raises); others are
    indexed as they are.

    Raises:
        UnreadableImageError: the file cannot be decoded, naming it.
        TypeError: the dataset does not yield PIL images.
    """
    reader = getattr(dataset, "reader", None)
    if reader is None or not hasattr(reader, "filename"):
        img, label = dataset[index][:2]
        if not isinstance(img, Image.Image):
            raise TypeError(f"the dataset must yield PIL images, got {type(img).__name__}")
        return img.convert("RGB"), int(label)
    source, label, *_ = reader[index]
    try:
        with Image.open(source) as opened:
            opened.load()
            img = opened.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise UnreadableImageError(
            f"image {index} ({reader.filename(index)}) cannot be decoded: {err}. The file is truncated or corrupt; "
            "replace it or remove it from the dataset (no other image is read in its place).") from None
    return img, -1 if label is None else int(label)
