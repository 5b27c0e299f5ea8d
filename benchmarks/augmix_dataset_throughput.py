"""JSD throughput on timm's own path: ``create_transform(..., separate=True)`` + ``timm.data.AugMixDataset``.

Exactly what timm's ``train.py --aa POLICY --aug-splits 3`` builds for its dataset (before the DataLoader): one
``create_transform(size, is_training=True, auto_augment=POLICY, separate=True, mean=..., std=...)`` per peer, the
dataset wrapped in ``AugMixDataset(num_splits=3)``, and ``dataset[i]`` -> ``((clean, aug1, aug2), label)`` as
normalised float tensors. Peers: timm's ``augmix-m3-w3`` and the plugin's ``augmix_paper`` (with ``--crop-mode``
``augmix_cifar`` also the plugin's CIFAR crop instead of timm's random resized crop, which both peers use by default).

One process, one thread, the same images for every peer. The peers are timed in alternation, ``--repeats`` times, and
each repeat gives a ratio from the same moment of the (shared, noisy) machine; the table reports the median
samples/s and the median of the per-repeat ratios. Example::

    python benchmarks/augmix_dataset_throughput.py --sizes 32 224 --samples 400 --samples-224 60 --repeats 7
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from timm.data import AugMixDataset, create_transform
from torch.utils.data import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _one_core import CIFAR_TAR
from augmix_throughput import load_images  # same images as the transform benchmark

import timm_augmix_plugin  # noqa: F401  (installs the hooks)
from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD

TIMM_POLICY = "augmix-m3-w3"
PLUGIN_POLICY = "augmix_paper"


class ImageListDataset(Dataset):
    """A timm-style dataset over in-memory PIL images (``transform`` attribute, ``(img, label)`` items)."""

    def __init__(self, images, transform=None) -> None:
        self.images, self.transform = images, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        img = self.images[i]
        return (self.transform(img) if self.transform is not None else img), i % 10


def make_dataset(images, size: int, policy: str, crop_mode: str | None) -> AugMixDataset:
    """The dataset timm's train.py builds for ``--aa policy --aug-splits 3`` (``--train-crop-mode crop_mode``)."""
    tf = create_transform(size, is_training=True, auto_augment=policy, separate=True, mean=CIFAR_MEAN, std=CIFAR_STD,
                          interpolation="bilinear", train_crop_mode=crop_mode)
    return AugMixDataset(ImageListDataset(images, tf), num_splits=3)


def samples_per_s(dataset: AugMixDataset, clock) -> float:
    start = clock()
    for i in range(len(dataset)):
        dataset[i]
    return len(dataset) / (clock() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 224], help="image sides in pixels")
    parser.add_argument("--samples", type=int, default=400, help="images per repeat at 32 px")
    parser.add_argument("--samples-224", type=int, default=60, help="images per repeat above 32 px")
    parser.add_argument("--repeats", type=int, default=7, help="alternating timed passes per peer (median reported)")
    parser.add_argument("--crop-mode", default=None,
                        help="train_crop_mode for the plugin peer (e.g. augmix_cifar); timm's peer keeps timm's RRC")
    parser.add_argument("--data", type=Path, default=CIFAR_TAR, help="CIFAR-10 test tar (optional)")
    parser.add_argument("--clock", choices=("process", "wall"), default="process",
                        help="CPU time of this process (robust on a shared machine; the default) or wall time")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "process" else time.perf_counter
    torch.set_num_threads(1)

    print(f"timm's AugMixDataset(num_splits=3) + create_transform(separate=True), 1 thread, {args.clock} clock, "
          f"{args.repeats} alternating repeats, torch {torch.__version__}")
    print(f"{'size':>5}  {'peer':<40} {'samples/s (median)':>19} {'x timm (median of ratios)':>26} {'ratio range':>14}")
    for size in args.sizes:
        images, source = load_images(args.samples if size <= 32 else args.samples_224, size, args.data)
        timm_ds = make_dataset(images, size, TIMM_POLICY, None)
        plugin_ds = make_dataset(images, size, PLUGIN_POLICY, args.crop_mode)
        timm_ds[0], plugin_ds[0]  # warm-up (the plugin's kernels compile on first use in a fresh environment)
        timm_rates, plugin_rates = [], []
        for _ in range(args.repeats):
            timm_rates.append(samples_per_s(timm_ds, clock))
            plugin_rates.append(samples_per_s(plugin_ds, clock))
        ratios = [p / t for p, t in zip(plugin_rates, timm_rates)]
        label = f"plugin {PLUGIN_POLICY}" + (f" ({args.crop_mode} crop)" if args.crop_mode else "")
        print(f"{size:>5}  {'timm ' + TIMM_POLICY:<40} {statistics.median(timm_rates):>19.1f} {1.0:>26.2f}")
        print(f"{size:>5}  {label:<40} {statistics.median(plugin_rates):>19.1f} "
              f"{statistics.median(ratios):>26.2f} {min(ratios):>6.2f}-{max(ratios):<6.2f}")
        print(f"       ({len(images)} images: {source})")


if __name__ == "__main__":
    main()
