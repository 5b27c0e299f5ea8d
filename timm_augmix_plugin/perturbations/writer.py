"""Write a -P set to disk, resumably: :func:`write_perturbations` (what ``timm-augmix make-p`` runs).

Layouts:
  cifar   <out>/<perturbation>.npy, uint8 (N, T, H, W, 3) (T frames per image, as the released CIFAR-10-P),
          plus labels.npy (N,)
  frames  <out>/<perturbation>/<class>/<file>/<t>.png, t = 0..T-1 (lossless; the reference wrote x264 videos)

A finished perturbation (its ``.npy``, or ``<perturbation>/.done``) is skipped on a rerun, so an interrupted run
resumes; ``make_p.json`` records the settings, and a rerun with others is refused. The work units run through the
-C writer's machinery (:mod:`timm_augmix_plugin.corruptions.writer`).
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..corruptions.writer import (
    PreparedImages,
    iter_blocks,
    label_array,
    load_all,
    worker_images,
    write_folder_layout,
    write_npy_layout,
)
from .api import perturb
from .params import frame_count

__all__ = ["write_perturbations"]

_META = "make_p.json"
#: make_p.json keys that must match for a rerun to resume an existing folder.
_IDENTITY = ("data", "size", "layout", "seed", "num_images", "limit")


def _cifar_unit(name: str, lo: int, hi: int, seed: int, size: int, indices: np.ndarray) -> tuple[int, np.ndarray]:
    # each image's random stream is keyed by its dataset index (the same frames whatever --limit selects)
    return lo, perturb(worker_images()[lo:hi], name, seed=seed, size_table=size, indices=indices[lo:hi], crop=size)


def _frames_unit(name: str, images: np.ndarray, dataset_indices: list[int], seed: int, size: int,
                 targets: list[Path]) -> int:
    sequences = perturb(images, name, seed=seed, size_table=size, indices=dataset_indices, crop=size)
    for frames, target in zip(sequences, targets, strict=True):
        target.mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(frames):
            Image.fromarray(frame).save(target / f"{t}.png")
    return len(images)


def _make_cifar(out: Path, images: PreparedImages, indices: np.ndarray, names: Sequence[str], size: int, seed: int,
                workers: int, batch: int, progress: bool) -> list[str]:
    n = len(images)

    def units(name: str) -> Iterator[tuple]:
        for lo, hi in iter_blocks(n, batch):
            yield _cifar_unit, name, lo, hi, seed, size, indices

    return write_npy_layout(out, names, label_array(images.labels), lambda: load_all(images, progress),
                            lambda name: (n, frame_count(name, size), size, size, 3), units, workers, progress,
                            "perturbing", "seq")


def _make_frames(out: Path, images: PreparedImages, indices: np.ndarray, names: Sequence[str], size: int, seed: int,
                 workers: int, batch: int, progress: bool) -> list[str]:
    def units(name: str) -> Iterator[tuple]:
        for lo, hi in iter_blocks(len(images), batch):
            block = np.stack([images.load(k) for k in range(lo, hi)])
            targets = [out / name / images.class_dir(k) / images.filenames[k] for k in range(lo, hi)]
            yield _frames_unit, name, block, [int(i) for i in indices[lo:hi]], seed, size, targets

    return write_folder_layout(out, names, units, len(images), workers, progress, "perturbing", "seq")


def _check_resume(out: Path, meta: dict[str, Any]) -> None:
    path = out / _META
    if not path.is_file():
        return
    old = json.loads(path.read_text())
    changed = [k for k in _IDENTITY if old.get(k) != meta.get(k)]
    if changed:
        diff = ", ".join(f"{k}: {old.get(k)!r} -> {meta.get(k)!r}" for k in changed)
        raise ValueError(f"{out} was made with other settings ({diff}); resuming would mix two -P sets. Use another "
                         "--out or the original settings")


def write_perturbations(out: Path, images: PreparedImages, indices: np.ndarray, names: Sequence[str], *, size: int,
                        layout: str, seed: int, batch: int, workers: int = 0, progress: bool = False, data: str = "",
                        limit: int | None = None) -> list[str]:
    """Generate the -P sequences of ``names`` for ``images`` into ``out``; resumable.

    Args:
        out: output folder (created).
        images: the clean images, prepared as -P context images for ``size``.
        indices: each image's index in its dataset (keys its random stream).
        names: perturbation names.
        size: frame size and parameter table.
        layout: ``'cifar'`` or ``'frames'`` (see the module docstring).
        seed: user seed.
        batch: images per work unit.
        workers: worker processes (0: in this process).
        progress: show progress bars.
        data: what the images came from; with ``limit``, recorded in ``make_p.json``.
        limit: the requested number of images (None: all).

    Returns:
        The perturbations generated in this call (the others were finished already).

    Raises:
        ValueError: ``out`` holds a set made with other settings.
    """
    meta = {"data": data, "size": size, "layout": layout, "seed": seed, "limit": limit, "num_images": len(images),
            "perturbations": list(names), "frames": {n: frame_count(n, size) for n in names},
            "classes": list(images.class_names)}
    _check_resume(out, meta)
    out.mkdir(parents=True, exist_ok=True)
    (out / _META).write_text(json.dumps(meta, indent=1) + "\n")
    maker = _make_cifar if layout == "cifar" else _make_frames
    return maker(out, images, indices, names, size, seed, workers, batch, progress)
