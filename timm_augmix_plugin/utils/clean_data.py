"""Open a clean image dataset: the one opener of training data, eval-c / eval-p clean data, make-c / make-p sources
and JPEG packs.

:func:`open_image_dataset` resolves a source with ``timm.data.create_dataset``: an existing folder (ImageFolder
layout, a ``train`` / ``validation`` sub-folder is searched for ``split``) or tar file, or a timm dataset name
(``torch/cifar10``, ``hfds/<name>``, ...) created under ``root``. Files are read strictly and under the package's RGB
policy (:func:`timm_augmix_plugin.utils.images.load_rgb_sample`): a truncated file raises, naming it, instead of being
replaced by the next one, and images with alpha are refused. :func:`dataset_labels` and :func:`dataset_classes` give
the labels and class names without decoding images.

Each caller words its own errors for what it accepts (a CLI flag, a recipe field); this module only opens.

Example:
    >>> ds = open_image_dataset("data/cifar10/test.tar")
    >>> image, label = ds[0]                      # an RGB PIL image and its class index
    >>> dataset_classes(ds)[label]
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .images import StrictImageDataset

__all__ = ["dataset_classes", "dataset_labels", "open_image_dataset"]


def open_image_dataset(
    source: str | os.PathLike = "",
    root: str | os.PathLike | None = None,
    *,
    split: str = "validation",
    download: bool = False,
    is_training: bool = False,
) -> Any:
    """A dataset of ``(RGB PIL image, label)`` samples.

    Args:
        source: with ``root`` None, an existing folder or tar path is opened as such; anything else is a timm dataset
            name (``''`` = the folder or tar given by ``root``).
        root: where a named dataset lives (or is downloaded to), or the folder / tar for ``source=''``.
        split: the split of a named dataset; for a folder, the sub-folder searched for (timm's ``search_split``).
        download: let a named (torchvision) dataset download.
        is_training: timm's ``is_training`` (iterable datasets shuffle).

    Returns:
        timm's folder / tar ``ImageDataset`` wrapped in :class:`~timm_augmix_plugin.utils.images.StrictImageDataset`
        (strict, RGB policy); other datasets (torchvision, iterable) as timm creates them.

    Raises:
        What ``timm.data.create_dataset`` raises (a missing root, a failed download); callers add their own context.
    """
    from timm.data import ImageDataset, create_dataset

    name, where = str(source), root
    if root is None and name:
        path = Path(name) if Path(name).exists() else Path(name).expanduser()
        if path.exists():
            name, where = "", path
    where = None if where is None else str(Path(where).expanduser())
    ds = create_dataset(name, root=where, split=split, is_training=is_training, download=download)
    return StrictImageDataset(ds) if type(ds) is ImageDataset and not ds.load_bytes else ds


def dataset_labels(dataset: Any) -> np.ndarray | None:
    """Integer labels of a timm/torchvision dataset without decoding images, when it exposes them (else None).

    A sample without a class (a ``None`` target) gets -1.
    """
    reader = getattr(dataset, "reader", None)
    targets = None
    for holder in (reader, dataset):
        targets = getattr(holder, "targets", None)
        if targets is not None:
            break
    if targets is None:
        samples = getattr(reader, "samples", None)
        if samples is None or not all(len(t) == 2 for t in samples[:1]):
            return None
        targets = [t for _, t in samples]
    try:
        return np.asarray(targets, dtype=np.int64)
    except (TypeError, ValueError):  # None targets
        return np.asarray([-1 if t is None else int(t) for t in targets], dtype=np.int64)


def dataset_classes(dataset: Any) -> list[str] | None:
    """Class names (index order) of a timm/torchvision dataset when it exposes its classes (else None)."""
    reader = getattr(dataset, "reader", None)
    mapping = None
    for holder, attr in ((reader, "class_to_idx"), (reader, "class_name_to_idx"), (dataset, "class_to_idx")):
        mapping = mapping or getattr(holder, attr, None)
    if mapping:
        return [name for name, _ in sorted(mapping.items(), key=lambda kv: kv[1])]
    classes = getattr(dataset, "classes", None)
    return list(classes) if classes else None
