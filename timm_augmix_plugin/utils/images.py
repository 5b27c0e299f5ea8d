"""Read images the one way of the package: strictly (a bad file raises, naming it) and under one RGB policy.

* :func:`to_rgb` is the RGB policy of every entry point that opens images (training data, eval-c / eval-p clean
  data and -C / -P files, make-c, make-p, JPEG packs, and the AugMix transform's input check):

  - ``RGB``: used as is;
  - grayscale (``L``, ``1``), palette without transparency (``P``), ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``: converted to
    RGB (grayscale becomes three equal channels);
  - images with alpha (``RGBA``, ``LA``, ``PA``, palette with transparency): refused, because dropping alpha silently
    changes what the image shows; the message names how to composite onto a background;
  - 16/32-bit and float images (``I;16*``, ``I``, ``F``): refused, to be rescaled to 8 bits first.

* :func:`load_rgb_sample` reads one sample of a dataset through it. timm's ``ImageDataset`` skips an unreadable
  sample and returns the next index instead (with a log warning), which silently shifts images and labels; the
  datasets opened by :mod:`timm_augmix_plugin.utils.clean_data` read through :class:`StrictImageDataset` instead.
"""
from __future__ import annotations

from typing import Any

from PIL import Image

__all__ = ["ALPHA_MODES", "CONVERTIBLE_MODES", "DECODE_ERRORS", "ImageModeError", "StrictImageDataset",
           "UnreadableImageError", "load_rgb_sample", "open_rgb", "to_rgb"]

#: Modes converted to RGB (grayscale becomes three equal channels).
CONVERTIBLE_MODES = frozenset({"L", "P", "CMYK", "YCbCr", "LAB", "HSV", "1"})
#: Modes with an alpha channel, refused (as is a palette image with transparency).
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
#: What Pillow raises for a truncated or corrupt file while decoding it.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


class UnreadableImageError(ValueError):
    """An image file of a dataset cannot be decoded (truncated, corrupt, not an image)."""


class ImageModeError(ValueError):
    """An image's mode is refused by the RGB policy (alpha, more than 8 bits, an unknown mode); names the fix."""


def to_rgb(img: Image.Image, what: str = "image") -> Image.Image:
    """``img`` as an 8-bit RGB image under the package's RGB policy (see the module docstring).

    Args:
        img: a PIL image.
        what: what the image is, starting the error message (a file name, or the component that got the image).

    Raises:
        ImageModeError: an alpha channel, a 16/32-bit or float image, or a mode that has no RGB meaning.
    """
    mode = img.mode
    if mode in ALPHA_MODES or (mode == "P" and "transparency" in img.info):
        shown = "P with transparency" if mode == "P" else mode
        raise ImageModeError(
            f"{what}: image mode {shown} has an alpha channel, which is refused (dropping it silently changes what "
            "the image shows). Composite it onto a background first, e.g. Image.alpha_composite(Image.new('RGBA', "
            "img.size, (255, 255, 255, 255)), img.convert('RGBA')).convert('RGB'), or drop alpha with "
            "img.convert('RGB').")
    if mode.startswith("I") or mode == "F":
        raise ImageModeError(
            f"{what}: image mode {mode} is 16/32-bit or float, but only 8-bit images are used. Rescale to 8 bits "
            "first, e.g. Image.fromarray((np.asarray(img, dtype=np.float64) / max_value * 255).round()"
            ".astype(np.uint8)).")
    if mode in CONVERTIBLE_MODES:
        return img.convert("RGB")
    if mode != "RGB":
        raise ImageModeError(f"{what}: image mode {mode} cannot be used; convert it with img.convert('RGB').")
    return img


def open_rgb(source: Any, what: str | None = None) -> Image.Image:
    """The image file ``source`` (a path or a binary file object) fully decoded under :func:`to_rgb`; the file is
    closed on return. ``what`` starts an error message (default: ``source``).

    Raises:
        ImageModeError: the image is refused by the RGB policy.
        OSError and the other errors of PIL: the file cannot be decoded.
    """
    with Image.open(source) as opened:
        opened.load()
        img = to_rgb(opened, str(source) if what is None else what)
        return img.copy() if img is opened else img


def load_rgb_sample(dataset: Any, index: int) -> tuple[Image.Image, int]:
    """Sample ``index`` of ``dataset`` as a fully decoded RGB PIL image (:func:`to_rgb`) and its label.

    Datasets with a timm ``reader`` are read through it (the file is decoded here, so a bad one raises); others are
    indexed as they are.

    Raises:
        UnreadableImageError: the file cannot be decoded, naming it.
        ImageModeError: the image is refused by :func:`to_rgb`, naming the file.
        TypeError: the dataset does not yield PIL images.
    """
    reader = getattr(dataset, "reader", None)
    if reader is None or not hasattr(reader, "filename"):
        img, label = dataset[index][:2]
        if not isinstance(img, Image.Image):
            raise TypeError(f"the dataset must yield PIL images, got {type(img).__name__}")
        return to_rgb(img, f"image {index} of the dataset"), int(label)
    source, label, *_ = reader[index]
    try:
        img = open_rgb(source, f"{reader.filename(index)} (image {index})")
    except ImageModeError:
        raise
    except DECODE_ERRORS as err:
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
