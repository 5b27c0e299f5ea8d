"""Write a -C set to disk, resumably: :func:`write_corruptions` (what ``timm-augmix make-c`` runs).

Layouts:
  cifar     <out>/<corruption>.npy, uint8 (5N, H, W, 3), severities 1..5 stacked (severity-major), plus labels.npy (5N,)
  imagenet  <out>/<corruption>/<severity>/<class>/<file>.JPEG, JPEG quality 85 (as the released ImageNet-C)

A finished corruption (its ``.npy``, or ``<corruption>/.done``) is skipped on a rerun, so an interrupted run resumes;
``make_c.json`` records what the folder was made from, and a rerun from other images or settings is refused (or, with
``overwrite``, the old set is removed first).

The work-unit machinery (:class:`UnitPool`, :func:`write_npy_layout`, :func:`write_folder_layout`) is shared with the
-P writer (:mod:`timm_augmix_plugin.perturbations.writer`).
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing as mp
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..utils.outputs import ensure_writable_dir
from ..utils.run_lock import FolderLock
from .api import corrupt

__all__ = ["DONE", "SEVERITIES", "PreparedImages", "UnitPool", "check_existing", "iter_blocks", "label_array",
           "load_all", "source_fingerprint", "worker_images", "write_corruptions", "write_folder_layout",
           "write_npy_layout"]

SEVERITIES = (1, 2, 3, 4, 5)
#: Marker file of a finished folder-layout entry.
DONE = ".done"
_META = "make_c.json"


@dataclass(frozen=True)
class PreparedImages:
    """The images a set is generated from: ``load(k)`` gives image ``k`` prepared (uint8 (S, S, 3)), with its label
    (an index into ``class_names``, -1 for none) and its file name (without extension)."""

    load: Callable[[int], np.ndarray]
    labels: Sequence[int]
    class_names: Sequence[str]
    filenames: Sequence[str]

    def __len__(self) -> int:
        return len(self.labels)

    def class_dir(self, k: int) -> str:
        """The class folder of image ``k`` (``unlabelled`` without a label)."""
        return self.class_names[self.labels[k]] if self.labels[k] >= 0 else "unlabelled"


# ---- work units --------------------------------------------------------------------------------------------------

_IMAGES: np.ndarray | None = None


def _set_images(images: np.ndarray | None) -> None:
    global _IMAGES
    _IMAGES = images


def worker_images() -> np.ndarray:
    """Inside a work unit: the image array its :class:`UnitPool` shares with every worker."""
    if _IMAGES is None:
        raise RuntimeError("worker images were not initialised")
    return _IMAGES


class UnitPool:
    """Runs work units in ``workers`` processes (in this process when 0); each sees ``images`` via
    :func:`worker_images`. Use it as ``with contextlib.closing(UnitPool(...)) as pool``."""

    def __init__(self, workers: int, images: np.ndarray | None = None) -> None:
        self.workers = workers
        if workers <= 0:
            _set_images(images)
            self._pool: cf.Executor | None = None
        else:
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            self._pool = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context(method), initializer=_set_images,
                                                initargs=(images,))

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        """Run ``fn(*args)`` in a worker (at once, in this process, without workers)."""
        if self._pool is None:
            f: cf.Future = cf.Future()
            f.set_result(fn(*args))
            return f
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        """Wait for the submitted units and stop the workers."""
        if self._pool is not None:
            self._pool.shutdown()


def iter_blocks(n: int, batch: int) -> Iterator[tuple[int, int]]:
    """``(lo, hi)`` bounds of consecutive blocks of at most ``batch`` out of ``n`` items."""
    for lo in range(0, n, batch):
        yield lo, min(n, lo + batch)


def label_array(labels: Sequence[int], repeat: int = 1) -> np.ndarray:
    """``labels`` repeated ``repeat`` times as the ``labels.npy`` array: uint8 when every label fits, else int64."""
    return np.asarray(list(labels) * repeat, dtype=np.uint8 if max(labels, default=0) < 256 else np.int64)


def load_all(images: PreparedImages, progress: bool) -> np.ndarray:
    """All of ``images`` in one uint8 (N, S, S, 3) array."""
    out: np.ndarray | None = None
    for k in tqdm(range(len(images)), desc="loading images", disable=not progress, unit="img"):
        image = images.load(k)
        if out is None:
            out = np.empty((len(images), *image.shape), dtype=np.uint8)
        out[k] = image
    return out if out is not None else np.empty((0, 0, 0, 3), dtype=np.uint8)


def write_npy_layout(out: Path, names: Sequence[str], labels: np.ndarray, images: Callable[[], np.ndarray],
                     shape: Callable[[str], tuple[int, ...]], units: Callable[[str], Iterable[tuple]], workers: int,
                     progress: bool, desc: str, unit: str) -> list[str]:
    """Write ``labels.npy`` and each missing ``<name>.npy`` (uint8, ``shape(name)``); returns the names written.

    ``images()`` loads the array the work units share (called only when there is work); ``units(name)`` yields
    ``(fn, *args)`` work units, each returning ``(first_row, rows)`` of the file. A file is written under a temporary
    name and renamed when complete, so an interrupted run leaves no partial ``<name>.npy``.
    """
    todo = [name for name in names if not (out / f"{name}.npy").exists()]
    np.save(out / "labels.npy", labels)
    if not todo:
        return []
    shared = images()
    with closing(UnitPool(workers, shared)) as pool, \
            tqdm(total=sum(shape(name)[0] for name in todo), desc=desc, unit=unit, disable=not progress) as bar:
        for name in todo:
            tmp = out / f".{name}.tmp.npy"
            result = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape(name))
            futures = [pool.submit(*u) for u in units(name)]
            bar.set_postfix_str(name)
            for f in cf.as_completed(futures):
                start, rows = f.result()
                result[start:start + len(rows)] = rows
                bar.update(len(rows))
            result.flush()
            del result
            os.replace(tmp, out / f"{name}.npy")
    return todo


def write_folder_layout(out: Path, names: Sequence[str], units: Callable[[str], Iterable[tuple]], per_name: int,
                        workers: int, progress: bool, desc: str, unit: str) -> list[str]:
    """Write each ``<name>/`` folder without a ``.done`` marker; returns the names written.

    ``units(name)`` yields ``(fn, *args)`` work units (loading their images as they go), each writing its files and
    returning how many of the ``per_name`` progress steps it did. At most ``2 * workers`` units wait at a time, which
    bounds the memory; ``<name>/.done`` is written when all of a name's units are finished.
    """
    todo = [name for name in names if not (out / name / DONE).exists()]
    if not todo:
        return []
    with closing(UnitPool(workers)) as pool, \
            tqdm(total=len(todo) * per_name, desc=desc, unit=unit, disable=not progress) as bar:
        for name in todo:
            bar.set_postfix_str(name)
            pending: list[cf.Future] = []
            for u in units(name):
                pending.append(pool.submit(*u))
                while len(pending) > 2 * max(1, workers):  # wait for the oldest unit
                    bar.update(pending.pop(0).result())
            for f in pending:
                bar.update(f.result())
            (out / name / DONE).write_text("done\n")
    return todo


# ---- the -C layouts ----------------------------------------------------------------------------------------------


def _cifar_unit(name: str, severity: int, lo: int, hi: int, n: int, seed: int, size: int) -> tuple[int, np.ndarray]:
    rows = corrupt(worker_images()[lo:hi], name, severity, seed=seed, size_table=size, start_index=lo)
    return (severity - 1) * n + lo, rows


def _imagenet_unit(name: str, lo: int, images: np.ndarray, seed: int, size: int, targets: list[Path]) -> int:
    for severity in SEVERITIES:
        out = corrupt(images, name, severity, seed=seed, size_table=size, start_index=lo)
        for k, img in enumerate(out):
            target = targets[k].parent.parent.parent / str(severity) / targets[k].parent.name / targets[k].name
            Image.fromarray(img).save(target, format="JPEG", quality=85, optimize=True)
    return len(images) * len(SEVERITIES)


def make_cifar_layout(out: Path, images: PreparedImages, names: Sequence[str], size: int, seed: int, workers: int,
                      batch: int, progress: bool) -> list[str]:
    """Write ``<name>.npy`` (5N, H, W, 3) and ``labels.npy``; returns the corruptions generated in this call."""
    n = len(images)

    def units(name: str) -> Iterator[tuple]:
        for s in SEVERITIES:
            for lo, hi in iter_blocks(n, batch):
                yield _cifar_unit, name, s, lo, hi, n, seed, size

    return write_npy_layout(out, names, label_array(images.labels, len(SEVERITIES)), lambda: load_all(images, progress),
                            lambda name: (len(SEVERITIES) * n, size, size, 3), units, workers, progress,
                            "corrupting", "img")


def make_imagenet_layout(out: Path, images: PreparedImages, names: Sequence[str], size: int, seed: int, workers: int,
                         batch: int, progress: bool) -> list[str]:
    """Write ``<name>/<severity>/<class>/<file>.JPEG``; returns the corruptions generated in this call."""
    n = len(images)

    def units(name: str) -> Iterator[tuple]:
        for s in SEVERITIES:
            for cls in {images.class_dir(k) for k in range(n)}:
                (out / name / str(s) / cls).mkdir(parents=True, exist_ok=True)
        for lo, hi in iter_blocks(n, batch):
            block = np.stack([images.load(k) for k in range(lo, hi)])
            targets = [out / name / "0" / images.class_dir(k) / f"{images.filenames[k]}.JPEG" for k in range(lo, hi)]
            yield _imagenet_unit, name, lo, block, seed, size, targets

    return write_folder_layout(out, names, units, len(SEVERITIES) * n, workers, progress, "corrupting", "img")


# ---- resuming ----------------------------------------------------------------------------------------------------

#: make_c.json keys that must match for a rerun to add to (or resume) an existing folder.
_IDENTITY = ("size", "layout", "seed", "num_images", "classes", "source_sha256")
_LABELS = {
    "size": "--size {there} there, {now} now", "layout": "--layout {there} there, {now} now",
    "seed": "--seed {there} there, {now} now", "num_images": "{there} images there, {now} now (--limit / --data)",
    "classes": "other class names (--data)", "source_sha256": "other source images or labels (--data)",
}


def source_fingerprint(images: PreparedImages) -> str:
    """sha256 of the images' file names and labels: which images, in which order, under which label."""
    digest = hashlib.sha256()
    for name, label in zip(images.filenames, images.labels, strict=True):
        digest.update(f"{name}\t{label}\n".encode())
    return digest.hexdigest()


def _existing_outputs(out: Path) -> list[Path]:
    return sorted([*out.glob("*.npy"), *(p for p in out.iterdir() if p.is_dir() and (p / "1").is_dir())])


def check_existing(out: Path, meta: dict[str, Any], overwrite: bool) -> list[str]:
    """Refuse (or with ``overwrite`` remove) an existing set in ``out`` made from other images or settings.

    Returns the corruptions already recorded there (kept), so make_c.json lists everything the folder holds.

    Raises:
        ValueError: what differs and how to proceed.
    """
    existing = _existing_outputs(out) if out.is_dir() else []
    meta_path = out / _META
    previous: dict[str, Any] | None = None
    if meta_path.is_file():
        try:
            previous = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            previous = None
    if not existing:
        return []
    if previous is None or not isinstance(previous, dict):
        differences = ["no readable make_c.json describes the files already there"]
    else:
        differences = [_LABELS.get(k, k).format(there=previous.get(k), now=meta[k]) for k in _IDENTITY
                       if k in previous and previous.get(k) != meta[k]]
    if not differences:
        return [c for c in previous.get("corruptions", []) if c not in meta["corruptions"]]
    if not overwrite:
        raise ValueError(
            f"{out} already holds a -C set made differently ({'; '.join(differences)}). Mixing the two would give a "
            f"wrong benchmark. Use another --out, or pass --overwrite to remove the existing set "
            f"({len(existing)} entries) and generate it again.")
    for path in existing:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return []


def write_corruptions(out: Path, images: PreparedImages, names: Sequence[str], *, size: int, layout: str, seed: int,
                      batch: int, workers: int = 0, overwrite: bool = False, progress: bool = False,
                      data: str = "") -> list[str]:
    """Generate the -C set of ``names`` x :data:`SEVERITIES` from ``images`` into ``out``; resumable.

    Args:
        out: output folder (created; locked while writing).
        images: the clean images, prepared for ``size``.
        names: corruption names.
        size: image size and parameter table.
        layout: ``'cifar'`` or ``'imagenet'`` (see the module docstring).
        seed: user seed (each image's noise is keyed by its index, see :mod:`timm_augmix_plugin.utils.seeds`).
        batch: images per work unit.
        workers: worker processes (0: in this process).
        overwrite: remove an existing set made from other images or settings instead of refusing.
        progress: show progress bars.
        data: what the images came from, recorded in ``make_c.json``.

    Returns:
        The corruptions generated in this call (the others were finished already).

    Raises:
        ValueError: ``out`` is not writable, or holds a set made differently (without ``overwrite``).
    """
    meta = {"data": data, "size": size, "layout": layout, "seed": seed, "num_images": len(images),
            "corruptions": list(names), "severities": list(SEVERITIES), "classes": list(images.class_names),
            "source_sha256": source_fingerprint(images)}
    ensure_writable_dir(out, "--out")
    with FolderLock(out, "--out", fix=", or use another --out"):
        kept = check_existing(out, meta, overwrite)
        meta["corruptions"] = [*kept, *names]
        (out / _META).write_text(json.dumps(meta, indent=1) + "\n")
        maker = make_cifar_layout if layout == "cifar" else make_imagenet_layout
        return maker(out, images, names, size, seed, workers, batch, progress)
