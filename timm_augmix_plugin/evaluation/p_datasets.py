"""Readers of -P sequence sets, and sequences made on the fly from clean images.

Every dataset here yields ``(frames, label, group)`` with ``frames`` a uint8 tensor (T, H, W, 3); normalisation
happens batched in :func:`.p_pipeline.predict_stability`.

Layouts:
  cifar   ``<perturbation>.npy`` uint8 (N, T, H, W, 3) + ``labels.npy`` (N,): the released CIFAR-10-P / CIFAR-100-P
          layout, also what ``timm-augmix make-p --size 32`` writes.
  frames  ``<perturbation>/<class>/<video>/<frame>.png``: what ``make-p`` writes for 64 and 224 px (lossless frames
          instead of the reference's x264 videos).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..corruptions.prepare import prepare_context_image
from ..perturbations import ALL_PERTURBATIONS, perturb
from ..utils.images import load_rgb_sample, open_rgb
from .datasets import ArraySplit, _check_labels, load_npy, subset_indices

__all__ = ["ArraySequences", "CifarPReader", "FramesPReader", "GeneratedSequences", "detect_p_layout"]


def detect_p_layout(root: str | os.PathLike) -> str:
    """``'cifar'`` or ``'frames'`` for a -P folder; ``FileNotFoundError`` / ``ValueError`` naming what is wrong."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"-P folder {root} does not exist; make one with `timm-augmix make-p --out {root}`")
    if any((root / f"{p}.npy").is_file() for p in ALL_PERTURBATIONS):
        return "cifar"
    if any((root / p).is_dir() for p in ALL_PERTURBATIONS):
        return "frames"
    raise ValueError(
        f"{root} holds no -P set: expected <perturbation>.npy + labels.npy (CIFAR-10-P layout) or "
        f"<perturbation>/<class>/<video>/<frame>.png folders, for perturbations among {', '.join(ALL_PERTURBATIONS)}"
    )


class ArraySequences(ArraySplit):
    """Videos ``indices`` of an (N, T, H, W, 3) array (memory-mapped .npy) with their labels, as uint8 tensors."""

    def __init__(self, array: np.ndarray, labels: np.ndarray, indices: np.ndarray, group: int) -> None:
        super().__init__(array, labels, indices, torch.from_numpy, group)


class CifarPReader:
    """A CIFAR-P folder: checks each ``<perturbation>.npy`` against ``labels.npy`` when it is opened."""

    def __init__(self, root: str | os.PathLike, perturbations: Sequence[str], num_classes: int | None = None) -> None:
        self.root = Path(root)
        labels_path = self.root / "labels.npy"
        if not labels_path.is_file():
            raise FileNotFoundError(f"{labels_path} is missing; a CIFAR-P folder holds <perturbation>.npy files of "
                                    "shape (N, T, H, W, 3) and labels.npy of shape (N,)")
        self.labels = load_npy(labels_path, benchmark="-P").astype(np.int64)
        if self.labels.ndim != 1:
            raise ValueError(f"{labels_path} must be 1-D (one label per video), got shape {self.labels.shape}")
        _check_labels(self.labels, num_classes, str(labels_path))
        self.arrays: dict[str, np.ndarray] = {}
        for name in perturbations:
            path = self.root / f"{name}.npy"
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing; pass --perturbations with the ones present, or make it "
                                        f"with `timm-augmix make-p --out {self.root} --perturbations {name}`")
            arr = load_npy(path, mmap=True, benchmark="-P")
            if arr.dtype != np.uint8 or arr.ndim != 5 or arr.shape[-1] != 3 or arr.shape[2] != arr.shape[3]:
                raise ValueError(f"{path} must be uint8 of shape (N, T, H, W, 3) with H == W (CIFAR-10-P layout), "
                                 f"got {arr.dtype} {arr.shape}; a -C file (N, H, W, 3) is not a -P set")
            if arr.shape[0] != len(self.labels):
                raise ValueError(f"{path} holds {arr.shape[0]} videos but labels.npy has {len(self.labels)} labels")
            if arr.shape[1] < 2:
                raise ValueError(f"{path} has {arr.shape[1]} frame(s) per video; a sequence needs at least 2")
            self.arrays[name] = arr
        sizes = {a.shape[2] for a in self.arrays.values()}
        if len(sizes) > 1:
            raise ValueError(f"{self.root} mixes frame sizes {sorted(sizes)}")
        self.image_size = (sizes.pop(),) * 2 if sizes else (0, 0)

    def frames(self, name: str) -> int:
        return int(self.arrays[name].shape[1])

    def split(self, name: str, limit: int | None, group: int) -> ArraySequences:
        return ArraySequences(self.arrays[name], self.labels, subset_indices(len(self.labels), limit), group)


class _FrameFolderSequences(Dataset):
    def __init__(self, videos: list[tuple[Path, int]], indices: np.ndarray, group: int) -> None:
        self.videos, self.indices, self.group = videos, np.asarray(indices), group

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        folder, label = self.videos[int(self.indices[i])]
        files = sorted(folder.glob("*.png"), key=lambda p: int(p.stem))
        frames = np.stack([np.asarray(open_rgb(f)) for f in files])
        return torch.from_numpy(frames), label, self.group


class FramesPReader:
    """A frame-folder -P set (``<perturbation>/<class>/<video>/<t>.png``); classes are the sorted class folders."""

    def __init__(self, root: str | os.PathLike, perturbations: Sequence[str], num_classes: int | None = None) -> None:
        self.root = Path(root)
        self.videos: dict[str, list[tuple[Path, int]]] = {}
        self.classes: list[str] | None = None
        self._frames: dict[str, int] = {}
        for name in perturbations:
            folder = self.root / name
            if not folder.is_dir():
                raise FileNotFoundError(f"{folder} is missing; pass --perturbations with the ones present")
            classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
            if self.classes is None:
                self.classes = classes
            elif classes != self.classes:
                raise ValueError(f"{folder} has other class folders than {self.root / perturbations[0]}")
            if num_classes is not None and len(classes) > num_classes:
                raise ValueError(f"{folder} has {len(classes)} class folders but the model has {num_classes} classes")
            videos = [(v, c) for c, cls in enumerate(classes) for v in sorted((folder / cls).iterdir()) if v.is_dir()]
            if not videos:
                raise ValueError(f"{folder} holds no <class>/<video>/ folders of PNG frames")
            counts = {len(list(v.glob("*.png"))) for v, _ in videos[:5]}
            if len(counts) != 1 or min(counts) < 2:
                raise ValueError(f"videos in {folder} must hold the same number (>= 2) of <t>.png frames")
            self._frames[name] = counts.pop()
            self.videos[name] = videos
        first = next(iter(self.videos.values()))[0][0]
        with Image.open(next(first.glob("*.png"))) as im:
            self.image_size = (im.size[1], im.size[0])

    def frames(self, name: str) -> int:
        return self._frames[name]

    def split(self, name: str, limit: int | None, group: int) -> Dataset:
        videos = self.videos[name]
        return _FrameFolderSequences(videos, subset_indices(len(videos), limit), group)


class GeneratedSequences(Dataset):
    """One perturbation's sequences made on the fly from clean images, equal to what ``make-p --seed`` writes.

    Each clean image is prepared as the reference does for ``size`` (:func:`prepare_context_image`) and perturbed
    with ``start_index`` = its dataset index.
    """

    def __init__(self, dataset: Dataset, indices: np.ndarray, name: str, *, size: int, seed: int = 0,
                 group: int = 0, size_table: int | None = None) -> None:
        self.dataset, self.indices, self.name, self.size = dataset, np.asarray(indices), name, size
        self.seed, self.group, self.size_table = seed, group, size_table

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        index = int(self.indices[i])
        img, label = load_rgb_sample(self.dataset, index)
        context = np.asarray(prepare_context_image(img, self.size), dtype=np.uint8)
        frames = perturb(context, self.name, seed=self.seed, size_table=self.size_table, start_index=index,
                         crop=self.size)
        return torch.from_numpy(frames), label, self.group
