"""Generate a -P perturbation benchmark (CIFAR-10-P layout, or frame folders for larger images) from images.

Layouts:
  cifar   <out>/<perturbation>.npy, uint8 (N, T, H, W, 3) (T frames per image, as the released CIFAR-10-P),
          plus labels.npy (N,)
  frames  <out>/<perturbation>/<class>/<file>/<t>.png, t = 0..T-1 (lossless; the reference wrote x264 videos)

Images are prepared as the reference generators do: CIFAR is used as is, --size 64 resizes to 64x64, --size 224
resizes the shorter side to 256 and perturbs the 256 px centre square for the geometric sequences (then crops 224),
its 224 px centre for the others. Finished perturbations are skipped when the command is rerun (the .npy exists, or
<perturbation>/.done), so an interrupted run resumes; a rerun with other --size, --seed, --limit or --data is refused.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from timm_augmix_plugin.cli import make_c
from timm_augmix_plugin.corruptions.prepare import prepare_context_image
from timm_augmix_plugin.corruptions.writer import PreparedImages
from timm_augmix_plugin.perturbations.params import ALL_PERTURBATIONS, PERTURBATION_GROUPS
from timm_augmix_plugin.perturbations.writer import write_perturbations

__all__ = ["add_arguments", "run", "parse_perturbations"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the make-p options on ``parser``."""
    from .shared_options import add_generator_options

    add_generator_options(
        parser, size_help="frame size and parameter table (default: 32 for CIFAR, 224 otherwise)",
        layouts=("auto", "cifar", "frames"),
        layout_help="output layout (auto: cifar for --size 32, frames otherwise)",
        names_flag="--perturbations", names_default="test",
        names_help="'test' (10), 'validation' (4), 'all' (14) or a comma-separated list of names",
        batch_help="images per work unit (default: 250 at 32 px, 50 at 64 px, 4 at 224 px)",
        limit_help="use only N images, evenly spread over the dataset (quick or CPU-sized sets)")


def parse_perturbations(spec: str) -> tuple[str, ...]:
    """Expand 'test' / 'validation' / 'all' / 'a,b,c' into validated perturbation names."""
    from .shared_options import expand_names

    return expand_names(spec, PERTURBATION_GROUPS, ALL_PERTURBATIONS, "--perturbations", "perturbation")


def _context(src: make_c.Source, i: int, size: int) -> np.ndarray:
    return np.asarray(prepare_context_image(src.load(i), size))  # RGB already (make_c.load_source's RGB policy)


def run(args: argparse.Namespace) -> int:
    """Run make-p with parsed ``args``; returns the exit code."""
    try:
        from .shared_options import resolve_generation

        names = parse_perturbations(args.perturbations)
        size, layout, batch = resolve_generation(args, "frames", {32: 250, 64: 50, 224: 4})
        src = make_c.load_source(args.data, args.download_root)
        from timm_augmix_plugin.evaluation.datasets import subset_indices

        indices = subset_indices(src.length, args.limit)
        data = args.data if args.data in ("cifar10", "cifar100") else os.path.abspath(os.path.expanduser(args.data))
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"make-p: error: {e}", file=sys.stderr)
        return 2
    out: Path = args.out
    images = PreparedImages(lambda k: _context(src, int(indices[k]), size), [src.labels[i] for i in indices],
                            src.class_names, [src.filenames[i] for i in indices])
    from .shared_options import write_generated

    return write_generated(
        "make-p", names,
        lambda: write_perturbations(out, images, indices, names, size=size, layout=layout, seed=args.seed,
                                    batch=batch, workers=args.workers, progress=not args.no_progress, data=data,
                                    limit=args.limit),
        lambda done: f"make-p: wrote {len(done)} perturbation(s) x {len(indices)} sequences to {out}")
