"""Generate a -C corruption benchmark (CIFAR-10-C / ImageNet-C layouts) from an image folder, a tar or CIFAR.

Layouts:
  cifar     <out>/<corruption>.npy, uint8 (5N, H, W, 3), severities 1..5 stacked (severity-major), plus labels.npy (5N,)
  imagenet  <out>/<corruption>/<severity>/<class>/<file>.JPEG, JPEG quality 85 (as the released ImageNet-C)

Images are prepared as the reference generators do: CIFAR is used as is, --size 64 resizes to 64x64, --size 224
resizes the shorter side to 256 then centre-crops 224. Finished corruptions are skipped when the command is rerun
(a cifar file exists, or <corruption>/.done exists), so an interrupted run resumes where it stopped. A rerun into a
folder made from other images or with other settings (--data, --limit, --seed, --size, --layout) is refused; pass
--overwrite to remove what no longer matches and generate it again.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from timm_augmix_plugin.corruptions import ALL_CORRUPTIONS, BENCHMARK_CORRUPTIONS, EXTRA_CORRUPTIONS
from timm_augmix_plugin.corruptions.prepare import prepare_clean_image
from timm_augmix_plugin.corruptions.writer import SEVERITIES, PreparedImages, write_corruptions
from timm_augmix_plugin.utils.images import to_rgb

__all__ = ["add_arguments", "run", "prepare_image", "load_source", "Source"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the make-c options on ``parser``."""
    from .shared_options import add_generator_options

    add_generator_options(
        parser, size_help="image size and parameter table (default: 32 for CIFAR, 224 otherwise)",
        layouts=("auto", "cifar", "imagenet"),
        layout_help="output layout (auto: cifar for --size 32, imagenet otherwise)",
        names_flag="--corruptions", names_default="benchmark",
        names_help="'benchmark' (15), 'extra' (4), 'all' (19) or a comma-separated list of names",
        batch_help="images per work unit (default: 1000 at 32 px, 250 at 64 px, 32 at 224 px)",
        limit_help="use only the first N images (quick trials)")
    parser.add_argument("--overwrite", action="store_true",
                        help="--out holds a set made from other images or settings: remove it and generate anew")


def parse_corruptions(spec: str) -> tuple[str, ...]:
    """Expand 'benchmark' / 'extra' / 'all' / 'a,b,c' into validated corruption names."""
    from .shared_options import expand_names

    groups = {"benchmark": BENCHMARK_CORRUPTIONS, "extra": EXTRA_CORRUPTIONS, "all": ALL_CORRUPTIONS}
    return expand_names(spec, groups, ALL_CORRUPTIONS, "--corruptions", "corruption")


def prepare_image(img: Image.Image, size: int) -> np.ndarray:
    """The reference preprocessing for ``size`` as a uint8 array (see :func:`prepare_clean_image`), after the RGB
    policy (:func:`~timm_augmix_plugin.utils.images.to_rgb`: alpha refused, grayscale converted)."""
    return np.asarray(prepare_clean_image(to_rgb(img, "make-c"), size))


@dataclass
class Source:
    """Images of the input dataset, read lazily: ``load(i)`` gives the PIL image, plus label/class/file per index."""

    length: int
    load: Callable[[int], Image.Image]
    labels: list[int]
    class_names: list[str]
    filenames: list[str]


def load_source(data: str, download_root: Path) -> Source:
    """Open ``data`` (folder, tar, 'cifar10' or 'cifar100') without decoding the images.

    Opened with :func:`~timm_augmix_plugin.utils.clean_data.open_image_dataset` ('cifar10' is torchvision's test
    split, downloaded into ``download_root``); images are read strictly and under the RGB policy.
    """
    from timm_augmix_plugin.utils.clean_data import dataset_classes, dataset_labels, open_image_dataset
    from timm_augmix_plugin.utils.images import load_rgb_sample

    if data in ("cifar10", "cifar100"):
        try:
            ds = open_image_dataset(f"torch/{data}", download_root, split="validation", download=True)
        except Exception as e:  # network errors come in many types
            raise RuntimeError(f"Could not download {data} into {download_root} ({e}). Without network access, "
                               "pass an image folder or a tar with --data instead.") from e
        files, where = [f"{i:05d}.png" for i in range(len(ds))], data
    else:
        path = Path(data).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"--data {data!r} is neither 'cifar10', 'cifar100' nor an existing folder or tar file")
        ds = open_image_dataset(path)
        if len(ds) == 0:
            raise ValueError(f"No images found in {path}; expected class sub-folders of images (ImageFolder layout)")
        files, where = [Path(f).stem for f in ds.filenames(basename=True)], path
    targets = dataset_labels(ds)
    labels = [] if targets is None else [max(int(t), -1) for t in targets]
    if len(labels) != len(ds) or any(t < 0 for t in labels):
        raise ValueError(f"{where} has images without a class; make-c expects class sub-folders (ImageFolder layout)")
    classes = dataset_classes(ds) or []
    names = [classes[i] if i < len(classes) else str(i) for i in range(max(labels) + 1)] if labels else []
    # a truncated file raises (timm's dataset would read the next one instead); alpha is refused
    return Source(len(ds), lambda i: load_rgb_sample(ds, i)[0], labels, names, files)


def run(args: argparse.Namespace) -> int:
    """Run make-c with parsed ``args``; returns the exit code."""
    try:
        from .shared_options import resolve_generation

        names = parse_corruptions(args.corruptions)
        size, layout, batch = resolve_generation(args, "imagenet", {32: 1000, 64: 250, 224: 32})
        src = load_source(args.data, args.download_root)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"make-c: error: {e}", file=sys.stderr)
        return 2
    n = min(src.length, args.limit) if args.limit else src.length
    out: Path = args.out
    images = PreparedImages(lambda i: prepare_image(src.load(i), size), src.labels[:n], src.class_names,
                            src.filenames[:n])
    from .shared_options import write_generated

    return write_generated(
        "make-c", names,
        lambda: write_corruptions(out, images, names, size=size, layout=layout, seed=args.seed, batch=batch,
                                  workers=args.workers, overwrite=args.overwrite, progress=not args.no_progress,
                                  data=str(args.data)),
        lambda done: f"make-c: wrote {len(done)} corruption(s) x {len(SEVERITIES)} severities x {n} images to {out}")
