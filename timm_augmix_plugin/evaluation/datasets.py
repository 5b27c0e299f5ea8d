"""Readers for corruption benchmarks: released -C files on disk, or corruptions generated on the fly from clean data.

Layouts:

* **CIFAR** (CIFAR-10-C / CIFAR-100-C): ``<root>/<corruption>.npy`` uint8 ``(5N, H, W, 3)``, severity-major (rows
  ``(s-1)*N : s*N`` are severity ``s``), and ``<root>/labels.npy`` with ``5N`` (the released files) or ``N`` labels.
* **ImageNet-C**: ``<root>/<corruption>/<severity>/<class>/<image>``; class folders sorted by name give the indices.
* **Generated**: a clean dataset (:func:`load_clean_dataset`, opened with
  :func:`timm_augmix_plugin.utils.clean_data.open_image_dataset`) corrupted per sample with
  :func:`timm_augmix_plugin.corruptions.corrupt`, keyed by (seed, corruption, severity, dataset index) as make-c is.

Image files are read under the package's RGB policy (:func:`timm_augmix_plugin.utils.images.to_rgb`): images with an
alpha channel are refused, naming the file and the fix.

Every sample is returned as ``(image_tensor, label, group)``; ``group`` identifies the (corruption, severity) split
once splits are concatenated. All checks raise ``FileNotFoundError``/``ValueError`` naming the problem and a fix.
"""
from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..utils.clean_data import dataset_labels, open_image_dataset
from ..utils.images import load_rgb_sample, open_rgb
from ..utils.seeds import sample_seed

__all__ = [
    "IMAGE_EXTENSIONS",
    "NUM_SEVERITIES_ON_DISK",
    "ArraySplit",
    "CifarCReader",
    "CleanSplit",
    "FileSplit",
    "GeneratedSplit",
    "ImageNetCReader",
    "check_clean_labels",
    "detect_layout",
    "load_clean_dataset",
    "load_npy",
    "subset_indices",
]

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".webp", ".ppm", ".tif", ".tiff")
NUM_SEVERITIES_ON_DISK = 5

ImageTransform = Callable[[Any], torch.Tensor]


def subset_indices(num_items: int, limit: int | None) -> np.ndarray:
    """Indices of at most ``limit`` items spread evenly over ``range(num_items)`` (all of them when ``limit`` is None).

    The same index set is used for clean data and every severity, so clean image ``i`` and its corrupted versions
    stay aligned.
    """
    if limit is None or limit >= num_items:
        return np.arange(num_items)
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    return np.unique(np.linspace(0, num_items - 1, limit).round().astype(np.int64))


def detect_layout(root: str | os.PathLike) -> str:
    """``'cifar'`` when ``root`` holds ``.npy`` files, ``'imagenet'`` when it holds sub-folders.

    Raises:
        FileNotFoundError: when ``root`` is missing or holds neither.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"-C data directory {root} does not exist; pass the folder holding the -C set")
    if any(root.glob("*.npy")):
        return "cifar"
    if any(p.is_dir() for p in root.iterdir()):
        return "imagenet"
    raise FileNotFoundError(
        f"{root} holds neither CIFAR-C files (<corruption>.npy + labels.npy) nor ImageNet-C folders "
        "(<corruption>/<severity>/<class>/*.JPEG); point --c-data at the extracted -C set or create one with "
        "`timm-augmix make-c`"
    )


def _check_severities(severities: Sequence[int]) -> None:
    bad = [s for s in severities if s not in range(1, NUM_SEVERITIES_ON_DISK + 1)]
    if bad or not severities:
        raise ValueError(f"severities must be a non-empty subset of 1..5, got {list(severities)}")


def _check_labels(labels: np.ndarray, num_classes: int | None, where: str) -> None:
    if labels.size == 0:
        raise ValueError(f"{where} holds no labels")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{where} must hold integer class indices, got dtype {labels.dtype}")
    low, high = int(labels.min()), int(labels.max())
    if low < 0:
        raise ValueError(f"{where} holds a negative label ({low}); labels must be class indices 0..C-1")
    if num_classes is not None and high >= num_classes:
        raise ValueError(
            f"{where} holds labels up to {high}, but the model has {num_classes} classes: this -C set belongs to a "
            f"dataset with at least {high + 1} classes. Evaluate a model trained on that dataset (or pass "
            "--num-classes matching its head)"
        )


def load_npy(path: Path, mmap: bool = False, benchmark: str = "-C") -> np.ndarray:
    """``np.load`` of a -C (or -P: ``benchmark="-P"``) ``.npy`` file (never pickle) with messages that say what is
    wrong with a bad file, and to regenerate it with ``make-c`` (``make-p``).

    Raises:
        ValueError: not a .npy file, an object (pickle) array, or a file shorter than its header announces.
    """
    fix = f"re-download or re-extract it, or regenerate the set with `timm-augmix make-{benchmark[1:].lower()}`"
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(fh)
            offset = fh.tell()
    except (ValueError, EOFError, OSError, SyntaxError) as err:
        raise ValueError(f"{path} is not a readable .npy array file ({err}); {fix}") from None
    if dtype.hasobject:
        raise ValueError(f"{path} holds Python objects (pickle), which are never loaded; {benchmark} files are uint8 "
                         f"arrays. {fix[0].upper()}{fix[1:]}")
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = path.stat().st_size
    if size < expected:
        raise ValueError(f"{path} is truncated: its header announces {dtype} {shape} ({expected} bytes) but the file "
                         f"has {size} bytes; {fix}")
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


class ArraySplit(Dataset):
    """Rows ``indices`` of an array with one label per row, each row ``transform``-ed: one (corruption, severity)
    slice of a uint8 ``(M, H, W, 3)`` CIFAR-C file, or the videos of an ``(N, T, H, W, 3)`` CIFAR-P file
    (:class:`~.p_datasets.ArraySequences`). The array may be memory-mapped; a row is copied when it is read."""

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, indices: np.ndarray, transform: ImageTransform, group: int = 0
    ) -> None:
        self.images, self.labels, self.indices = images, labels, np.asarray(indices)
        self.transform, self.group = transform, group

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        row = int(self.indices[i])
        return self.transform(np.array(self.images[row])), int(self.labels[row]), self.group


class CifarCReader:
    """Reads a CIFAR-C style folder: ``<corruption>.npy`` ``(5N, H, W, 3)`` uint8 plus ``labels.npy``.

    Args:
        root: the folder (e.g. ``CIFAR-10-C``).
        corruptions: corruption names to read; every ``<name>.npy`` must exist.
        num_classes: the model's class count, to check the labels against (None skips the check).

    Raises:
        FileNotFoundError: listing every missing file.
        ValueError: wrong dtype/shape, inconsistent lengths, labels outside the model's classes.
    """

    layout = "cifar"

    def __init__(self, root: str | os.PathLike, corruptions: Sequence[str], num_classes: int | None = None) -> None:
        self.root = Path(root)
        self.corruptions = list(corruptions)
        missing = [f"{c}.npy" for c in self.corruptions if not (self.root / f"{c}.npy").is_file()]
        if not (self.root / "labels.npy").is_file():
            missing.append("labels.npy")
        if missing:
            present = sorted(p.stem for p in self.root.glob("*.npy") if p.stem != "labels")
            raise FileNotFoundError(
                f"{self.root} lacks {len(missing)} file(s) of the CIFAR-C layout: {', '.join(missing)}. "
                f"Corruptions present: {present or 'none'}. Download/extract the complete set, generate it with "
                "`timm-augmix make-c`, or restrict the evaluation with --corruptions."
            )
        labels = load_npy(self.root / "labels.npy")
        if labels.ndim != 1:
            raise ValueError(f"{self.root / 'labels.npy'} must be 1-D (one label per image), got shape {labels.shape}")
        _check_labels(labels, num_classes, str(self.root / "labels.npy"))
        self._arrays: dict[str, np.ndarray] = {}
        shape = None
        for name in self.corruptions:
            path = self.root / f"{name}.npy"
            array = load_npy(path, mmap=True)
            if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
                raise ValueError(
                    f"{path} must be a uint8 array of shape (5N, H, W, 3) (severity-major RGB images), got "
                    f"{array.dtype} {array.shape}; regenerate it with `timm-augmix make-c`"
                )
            if array.shape[0] % NUM_SEVERITIES_ON_DISK:
                raise ValueError(
                    f"{path} holds {array.shape[0]} images, not a multiple of 5 severities; the file is truncated or "
                    "not a CIFAR-C file"
                )
            if shape is not None and array.shape != shape:
                raise ValueError(f"{path} has shape {array.shape} but other corruption files have {shape}")
            shape = array.shape
            self._arrays[name] = array
        if shape is None:
            raise ValueError("no corruptions to read: pass at least one name with --corruptions")
        self.per_severity = shape[0] // NUM_SEVERITIES_ON_DISK
        if len(labels) == shape[0]:
            self.labels = labels
        elif len(labels) == self.per_severity:
            self.labels = np.tile(labels, NUM_SEVERITIES_ON_DISK)
        else:
            raise ValueError(
                f"{self.root / 'labels.npy'} holds {len(labels)} labels but each corruption file holds {shape[0]} "
                f"images (5 x {self.per_severity}); labels.npy must have {shape[0]} or {self.per_severity} entries"
            )
        self.image_size = (int(shape[1]), int(shape[2]))
        self.num_classes_seen = int(self.labels.max()) + 1

    def split(
        self, corruption: str, severity: int, transform: ImageTransform, limit: int | None = None, group: int = 0
    ) -> ArraySplit:
        """Dataset of one corruption at one severity (at most ``limit`` images, spread evenly)."""
        _check_severities([severity])
        offset = (severity - 1) * self.per_severity
        indices = offset + subset_indices(self.per_severity, limit)
        return ArraySplit(self._arrays[corruption], self.labels, indices, transform, group)


def _list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


class FileSplit(Dataset):
    """Images listed as ``(path, label)``, read with :func:`~timm_augmix_plugin.utils.images.open_rgb` (the RGB
    policy) and transformed; checks each image's size."""

    def __init__(
        self,
        samples: Sequence[tuple[Path, int]],
        transform: ImageTransform,
        group: int = 0,
        expected_size: tuple[int, int] | None = None,
    ) -> None:
        self.samples, self.transform, self.group, self.expected_size = list(samples), transform, group, expected_size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        path, label = self.samples[i]
        img = open_rgb(path)
        if self.expected_size is not None and (img.height, img.width) != self.expected_size:
            raise ValueError(
                f"{path} is {img.height}x{img.width} but the model expects {self.expected_size[0]}x"
                f"{self.expected_size[1]} -C images (they are fed without resizing); pass --img-size to match the "
                "data, or use -C data made at the model's input size"
            )
        return self.transform(img), label, self.group


class ImageNetCReader:
    """Reads an ImageNet-C style tree ``<root>/<corruption>/<severity>/<class>/<image>``.

    Class folders are sorted by name to give class indices, and must be the same in every (corruption, severity).

    Raises:
        FileNotFoundError: listing every missing ``<corruption>/<severity>`` folder.
        ValueError: differing class folders, empty folders, a class count that differs from the model's.
    """

    layout = "imagenet"

    def __init__(
        self,
        root: str | os.PathLike,
        corruptions: Sequence[str],
        severities: Sequence[int],
        num_classes: int | None = None,
    ) -> None:
        _check_severities(severities)
        self.root = Path(root)
        self.corruptions, self.severities = list(corruptions), list(severities)
        missing = [
            f"{c}/{s}" for c in self.corruptions for s in self.severities if not (self.root / c / str(s)).is_dir()
        ]
        if missing:
            present = sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []
            raise FileNotFoundError(
                f"{self.root} lacks {len(missing)} folder(s) of the ImageNet-C layout "
                f"(<corruption>/<severity>/<class>/*.JPEG): {', '.join(missing)}. "
                f"Folders present: {present or 'none'}. "
                "Extract the complete set (blur/digital/noise/weather tars), generate it with `timm-augmix make-c`, "
                "or restrict the evaluation with --corruptions/--severities."
            )
        self.classes: list[str] | None = None
        self._samples: dict[tuple[str, int], list[tuple[Path, int]]] = {}
        for c in self.corruptions:
            for s in self.severities:
                folder = self.root / c / str(s)
                classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
                if not classes:
                    raise ValueError(f"{folder} holds no class folders; expected {folder}/<class>/<image>")
                if self.classes is None:
                    self.classes = classes
                elif classes != self.classes:
                    diff = sorted(set(classes) ^ set(self.classes))
                    raise ValueError(
                        f"{folder} has different class folders than {self.corruptions[0]}/{self.severities[0]} "
                        f"(differing: {diff[:10]}{' ...' if len(diff) > 10 else ''}); every split must hold the "
                        "same classes"
                    )
                samples = [(p, k) for k, name in enumerate(classes) for p in _list_images(folder / name)]
                if not samples:
                    raise ValueError(f"{folder} holds no images with extensions {IMAGE_EXTENSIONS}")
                self._samples[(c, s)] = samples
        assert self.classes is not None
        if num_classes is not None and len(self.classes) != num_classes:
            raise ValueError(
                f"{self.root} has {len(self.classes)} class folders but the model has {num_classes} classes; "
                "evaluate a model trained on these classes (or pass --num-classes matching its head)"
            )
        first = self._samples[(self.corruptions[0], self.severities[0])][0][0]
        with Image.open(first) as img:
            self.image_size = (img.height, img.width)
        self.num_classes_seen = len(self.classes)

    def split(
        self,
        corruption: str,
        severity: int,
        transform: ImageTransform,
        limit: int | None = None,
        group: int = 0,
    ) -> FileSplit:
        """Dataset of one corruption at one severity (at most ``limit`` images, spread evenly)."""
        samples = self._samples[(corruption, severity)]
        chosen = [samples[i] for i in subset_indices(len(samples), limit)]
        return FileSplit(chosen, transform, group, expected_size=self.image_size)


class CleanSplit(Dataset):
    """A clean image dataset (anything yielding ``(PIL image, label)``) restricted to ``indices``, transformed; read
    with :func:`~timm_augmix_plugin.utils.images.load_rgb_sample` (a bad file raises, never skipped)."""

    def __init__(self, dataset: Dataset, indices: np.ndarray, transform: ImageTransform, group: int = 0) -> None:
        self.dataset, self.indices, self.transform, self.group = dataset, np.asarray(indices), transform, group

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        img, label = load_rgb_sample(self.dataset, int(self.indices[i]))
        return self.transform(img), label, self.group


class GeneratedSplit(Dataset):
    """One corruption at one severity generated on the fly from clean images.

    Each clean image passes ``geometric`` (PIL -> PIL at the model's input size), is converted to uint8 ``(H, W, 3)``,
    corrupted and finally ``transform``-ed. When ``corrupt_fn`` takes ``start_index`` (as
    :func:`timm_augmix_plugin.corruptions.corrupt` does) it is called with ``seed=seed, start_index=<dataset index>``,
    which keys the random stream exactly as ``make-c`` does, so the on-the-fly images equal the ones ``make-c --seed``
    writes. Otherwise it gets ``seed=sample_seed(seed, corruption, severity, index)``.
    """

    def __init__(
        self,
        dataset: Dataset,
        indices: np.ndarray,
        corruption: str,
        severity: int,
        *,
        geometric: Callable[[Image.Image], Image.Image],
        transform: ImageTransform,
        corrupt_fn: Callable[..., np.ndarray],
        seed: int = 0,
        group: int = 0,
        size_table: int | None = None,
    ) -> None:
        _check_severities([severity])
        self.dataset, self.indices = dataset, np.asarray(indices)
        self.corruption, self.severity, self.seed, self.group = corruption, severity, seed, group
        self.geometric, self.transform, self.corrupt_fn, self.size_table = geometric, transform, corrupt_fn, size_table
        try:
            self._keyed_by_index = "start_index" in inspect.signature(corrupt_fn).parameters
        except (TypeError, ValueError):
            self._keyed_by_index = False

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        index = int(self.indices[i])
        img, label = load_rgb_sample(self.dataset, index)
        array = np.asarray(self.geometric(img), dtype=np.uint8)
        if self._keyed_by_index:
            kwargs: dict[str, Any] = {"seed": self.seed, "start_index": index}
        else:
            kwargs = {"seed": sample_seed(self.seed, self.corruption, self.severity, index)}
        if self.size_table is not None:
            kwargs["size_table"] = self.size_table
        corrupted = self.corrupt_fn(array, self.corruption, self.severity, **kwargs)
        corrupted = np.asarray(corrupted)
        if corrupted.dtype != np.uint8 or corrupted.shape != array.shape:
            raise ValueError(
                f"corrupt({self.corruption!r}, severity={self.severity}) returned {corrupted.dtype} {corrupted.shape}, "
                f"expected uint8 {array.shape}"
            )
        return self.transform(corrupted), label, self.group


def load_clean_dataset(source: str, split: str = "validation", download: bool = False) -> Dataset:
    """Clean images for eval-c / eval-p (--clean-data), opened with
    :func:`~timm_augmix_plugin.utils.clean_data.open_image_dataset`: an existing folder/tar path, or a timm dataset
    name stored under ``$TIMM_AUGMIX_DATA`` (default ``~/.cache/timm_augmix/data``).

    Args:
        source: a folder (ImageFolder layout) or ``.tar`` path, or a timm dataset name such as ``torch/cifar10``.
        split: split for named datasets (``train``/``validation``/``test``).
        download: allow named datasets to download.

    Raises:
        FileNotFoundError: for a path that does not exist.
    """
    if Path(source).exists():
        return open_image_dataset(source)
    if "/" not in source or source.startswith((".", os.sep)):
        raise FileNotFoundError(
            f"clean data {source!r} does not exist; pass a folder or .tar of class sub-folders, or a timm dataset name "
            "such as torch/cifar10"
        )
    root = os.environ.get("TIMM_AUGMIX_DATA", str(Path.home() / ".cache" / "timm_augmix" / "data"))
    return open_image_dataset(source, root, split=split, download=download)


def check_clean_labels(dataset: Dataset, num_classes: int | None, where: str) -> None:
    """Raise ``ValueError`` when the clean dataset's labels fall outside the model's classes."""
    labels = dataset_labels(dataset)
    if labels is not None:
        _check_labels(labels, num_classes, where)
