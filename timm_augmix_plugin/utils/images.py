"""Read one image of a dataset strictly: a truncated or corrupt file raises, it is never replaced by another one.

timm's ``ImageDataset`` skips an unreadable sample and returns the next index instead (with a log warning), which
silently shifts images and labels; the -C generator, the -C evaluation and training (:class:`StrictImageDataset`)
read through :func:`load_rgb_sample`.
"""
from __future__ import annotations

from typing import Any

from PIL import Image

__all__ = ["StrictImageDataset", "UnreadableImageError", "load_rgb_sample"]


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


class StrictImageDataset:
    """A timm ``ImageDataset`` read through :func:`load_rgb_sample`: an unreadable file stops the run, naming it,
    instead of being replaced by the next image (and label). ``transform`` / ``target_transform`` apply as in timm."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.reader = dataset.reader
        self.transform = getattr(dataset, "transform", None)
        self.target_transform = getattr(dataset, "target_transform", None)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        img, target = load_rgb_sample(self.dataset, index)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None and target >= 0:
            target = self.target_transform(target)
        return img, target

    def filename(self, index: int, basename: bool = False, absolute: bool = False):
        return self.dataset.filename(index, basename, absolute)

    def filenames(self, basename: bool = False, absolute: bool = False):
        return self.dataset.filenames(basename, absolute)
