"""Datasets, transforms and data loaders for training.

Datasets come from ``timm.data.create_dataset`` (class folders, tar files, torchvision CIFAR, Hugging Face datasets)
or from the embedded :class:`~timm_augmix_plugin.train.synthetic.SyntheticShapes`. AugMix training with clean +
augmented splits uses the fused transform of ``timm_augmix_plugin.augmix.create_augmix_transform(num_splits=...)``
(the views timm's ``AugMixDataset`` gives, in fewer passes), or, with ``augmix.backend: batched``, plain uint8 crops
that :class:`~timm_augmix_plugin.augmix.BatchedAugMix` augments on the device.

Every training sample is augmented under a torch seed derived from ``(train.seed, epoch, index)``
(:class:`SeededSamples`), so augmentations do not depend on the number of processes or loader workers, and a run
resumed from a checkpoint sees exactly the augmentations of an uninterrupted run.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import transforms as T

from ..data_config import ToNormalizedTensor
from ..utils.seeds import mix_seed
from .recipe import Recipe, dataset_kind
from .synthetic import SyntheticShapes

__all__ = [
    "SeededSamples",
    "TrainData",
    "build_datasets",
    "build_eval_transform",
    "build_loaders",
    "build_train_transform",
    "collate_splits",
    "split_batch",
]

_SYNTHETIC_TRAIN_DEFAULT = 5000
_SYNTHETIC_EVAL_DEFAULT = 1000


class SeededSamples(Dataset):
    """Run ``dataset[i]`` under a torch RNG seed that is a pure function of ``(seed, epoch, i)``.

    The caller's global torch RNG state is restored afterwards. Call :meth:`set_epoch` before each epoch (Accelerate's
    prepared loaders forward ``set_epoch`` to the dataset).
    """

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of ``epoch``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        gen = torch.default_generator  # the CPU generator transforms draw from (seeding it alone is ~40x cheaper
        saved = gen.get_state()       # than torch.manual_seed, which also visits every device backend)
        gen.manual_seed(mix_seed(self.seed, self.epoch, index))
        try:
            return self.dataset[index]
        finally:
            gen.set_state(saved)


@dataclass
class TrainData:
    """The loaders of one run and what the training loop needs to know about them."""

    train_loader: DataLoader
    eval_loader: DataLoader
    num_train: int
    num_eval: int
    num_splits: int


# ----------------------------------------------------------------------------------------------------------------
# Transforms
# ----------------------------------------------------------------------------------------------------------------
def _normalize(mean, std) -> list[Callable]:
    return [ToNormalizedTensor(mean, std)]


def build_eval_transform(recipe: Recipe, mean, std) -> Callable:
    """Deterministic evaluation transform: ToTensor + Normalize (``imagenet`` preset: resize + centre crop first,
    with eval-c's timm rule, short side ``floor(img_size / 0.875)``).

    The evaluation side of ``create_augmix_transform``, so training and the plugin's factory evaluate alike.
    """
    from timm_augmix_plugin.augmix import create_augmix_transform

    d = recipe.data
    return create_augmix_transform(d.img_size, preset=d.preset, mean=tuple(mean), std=tuple(std), is_training=False)


def _geometric(recipe: Recipe) -> list[Callable]:
    from timm_augmix_plugin.augmix.factory import train_geometry

    return train_geometry(recipe.data.img_size, recipe.data.preset)


def _standard_train_transform(recipe: Recipe, mean, std) -> Callable:
    return T.Compose([*_geometric(recipe), *_normalize(mean, std)])


def build_train_transform(recipe: Recipe, mean, std) -> Callable | tuple[Callable, Callable, Callable]:
    """The training transform of the recipe's mode.

    Standard training: crop/flip + normalise. AugMix with the ``pil`` backend: one view, or for clean + augmented
    splits the fused transform that yields ``(clean, aug_1, ...)`` (the views of timm's ``AugMixDataset``). AugMix
    with the ``batched`` backend: crop/flip only, as uint8 tensors, for
    :class:`~timm_augmix_plugin.augmix.BatchedAugMix` on the device.
    """
    d, a = recipe.data, recipe.augmix
    if not a.enabled:
        return _standard_train_transform(recipe, mean, std)
    if a.backend == "batched":
        return T.Compose([*_geometric(recipe), T.PILToTensor()])
    from timm_augmix_plugin.augmix import create_augmix_transform

    return create_augmix_transform(
        d.img_size, policy=a.policy, preset=d.preset, mean=tuple(mean), std=tuple(std), is_training=True,
        num_splits=a.num_splits)


# ----------------------------------------------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------------------------------------------
def _raw_dataset(recipe: Recipe, *, training: bool):
    d = recipe.data
    kind = dataset_kind(d.dataset)
    if kind == "synthetic":
        n = d.train_samples if training else d.eval_samples
        n = n or (_SYNTHETIC_TRAIN_DEFAULT if training else _SYNTHETIC_EVAL_DEFAULT)
        return SyntheticShapes(n, img_size=d.img_size, num_classes=d.num_classes, seed=d.seed,
                               split="train" if training else "test")
    from ..utils.clean_data import dataset_classes, open_image_dataset

    root = d.root if training or not d.eval_root else d.eval_root
    root = str(Path(root).expanduser()) if root is not None else None
    name = "" if kind in ("folder", "tar") else d.dataset
    split = d.train_split if training else d.eval_split
    try:
        # strict reading: timm's ImageDataset would replace an unreadable image by the next one (and its label)
        ds = open_image_dataset(name, root, split=split, is_training=training, download=d.download)
    except (FileNotFoundError, RuntimeError) as err:
        raise FileNotFoundError(
            f"Could not open the {'training' if training else 'evaluation'} data (data.dataset={d.dataset!r}, "
            f"root={root!r}, split={split!r}): {err}. Check data.root / data.eval_root and data.*_split, or set "
            f"data.download=true for torchvision datasets.") from err
    classes = dataset_classes(ds)
    found = len(classes) if classes else None
    if found is not None and found != d.num_classes:
        raise ValueError(f"The {'training' if training else 'evaluation'} data at {root!r} has {found} classes but "
                         f"data.num_classes={d.num_classes}. Set data.num_classes={found}.")
    return ds


def _subset(ds: Dataset, n: int | None, seed: int, synthetic: bool) -> Dataset:
    if n is None or synthetic or n >= len(ds):
        return ds
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(ds), generator=g)[:n].sort().values.tolist()
    return Subset(ds, idx)


def build_datasets(recipe: Recipe, mean, std) -> tuple[Dataset, Dataset]:
    """Training dataset (transformed, split into clean + AugMix views when asked, seeded per sample) and the
    evaluation dataset."""
    d = recipe.data
    synthetic = dataset_kind(d.dataset) == "synthetic"
    train_ds = _raw_dataset(recipe, training=True)
    train_ds.transform = build_train_transform(recipe, mean, std)
    train_ds = _subset(train_ds, d.train_samples, d.seed, synthetic)
    train_ds = SeededSamples(train_ds, seed=recipe.train.seed)

    eval_ds = _raw_dataset(recipe, training=False)
    eval_ds.transform = build_eval_transform(recipe, mean, std)
    eval_ds = _subset(eval_ds, d.eval_samples, d.seed + 1, synthetic)
    return train_ds, eval_ds


# ----------------------------------------------------------------------------------------------------------------
# Loaders and batches
# ----------------------------------------------------------------------------------------------------------------
def collate_splits(batch: list) -> tuple[Any, torch.Tensor]:
    """Collate ``((view_0, ..., view_S-1), label)`` samples into a tuple of S image batches and a label batch.

    The views stay separate so that Accelerate can split each of them across processes; :func:`split_batch` joins
    them split-major on the device.
    """
    images, labels = zip(*batch, strict=True)
    labels = torch.as_tensor(labels)
    if isinstance(images[0], (tuple, list)):
        return tuple(torch.stack(v) for v in zip(*images, strict=True)), labels
    return torch.stack(images), labels


def split_batch(images: Any) -> tuple[torch.Tensor, int]:
    """Join a batch of views split-major: returns ``(cat([view_0, ..., view_S-1]), S)``; a plain tensor has S=1."""
    if isinstance(images, (tuple, list)):
        return torch.cat(list(images), dim=0), len(images)
    return images, 1


def build_loaders(recipe: Recipe, mean, std, *, num_processes: int = 1) -> TrainData:
    """Build the (not yet Accelerate-prepared) training and evaluation loaders.

    The loaders yield *global* batches: with Accelerate's ``split_batches=True`` each of ``num_processes``
    processes receives its slice, so results do not depend on the number of processes.
    Training micro-batches hold ``data.batch_size / train.grad_accum_steps`` images.

    Raises:
        ValueError: The batch sizes cannot be split evenly over the processes.
    """
    d, t = recipe.data, recipe.train
    micro = d.batch_size // t.grad_accum_steps
    if micro % num_processes:
        raise ValueError(
            f"data.batch_size={d.batch_size} / train.grad_accum_steps={t.grad_accum_steps} = {micro} images per "
            f"micro-batch cannot be split evenly over {num_processes} processes. Choose a data.batch_size divisible "
            f"by {t.grad_accum_steps * num_processes}.")
    train_ds, eval_ds = build_datasets(recipe, mean, std)
    if len(train_ds) < micro:
        raise ValueError(f"The training set has {len(train_ds)} images, fewer than one micro-batch of {micro}. "
                         f"Lower data.batch_size or use more data.")
    eval_bs = -(-recipe.eval.batch_size // num_processes) * num_processes  # round up to a multiple
    workers = d.num_workers
    common = dict(num_workers=workers, persistent_workers=False, collate_fn=collate_splits,
                  pin_memory=torch.cuda.is_available())
    train_loader = DataLoader(train_ds, batch_size=micro, shuffle=True, drop_last=True, **common)
    eval_loader = DataLoader(eval_ds, batch_size=eval_bs, shuffle=False, drop_last=False, **common)
    return TrainData(train_loader, eval_loader, len(train_ds), len(eval_ds),
                     recipe.augmix.num_splits if recipe.augmix.enabled else 1)
