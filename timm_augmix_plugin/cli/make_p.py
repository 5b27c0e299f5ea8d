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
import concurrent.futures as cf
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from timm_augmix_plugin.cli import make_c
from timm_augmix_plugin.corruptions.prepare import prepare_context_image
from timm_augmix_plugin.perturbations import ALL_PERTURBATIONS, TEST_PERTURBATIONS, VALIDATION_PERTURBATIONS, perturb
from timm_augmix_plugin.perturbations.params import frame_count

__all__ = ["add_arguments", "run", "parse_perturbations"]

_DONE = ".done"
_META = "make_p.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the make-p options on ``parser``."""
    from .shared_options import add_source_options, add_work_options

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_source_options(parser, size_help="frame size and parameter table (default: 32 for CIFAR, 224 otherwise)")
    parser.add_argument("--layout", choices=("auto", "cifar", "frames"), default="auto",
                        help="output layout (auto: cifar for --size 32, frames otherwise)")
    parser.add_argument("--perturbations", default="test",
                        help="'test' (10), 'validation' (4), 'all' (14) or a comma-separated list of names")
    add_work_options(parser, batch_help="images per work unit (default: 250 at 32 px, 50 at 64 px, 4 at 224 px)",
                     limit_help="use only N images, evenly spread over the dataset (quick or CPU-sized sets)")


def parse_perturbations(spec: str) -> tuple[str, ...]:
    """Expand 'test' / 'validation' / 'all' / 'a,b,c' into validated perturbation names."""
    from .shared_options import expand_names

    groups = {"test": TEST_PERTURBATIONS, "validation": VALIDATION_PERTURBATIONS, "all": ALL_PERTURBATIONS}
    return expand_names(spec, groups, ALL_PERTURBATIONS, "--perturbations", "perturbation")


def _cifar_unit(name: str, lo: int, hi: int, seed: int, size: int, indices: np.ndarray) -> tuple[int, np.ndarray]:
    images = make_c._IMAGES
    if images is None:
        raise RuntimeError("worker images were not initialised")
    # each image's random stream is keyed by its dataset index (the same frames whatever --limit selects)
    return lo, perturb(images[lo:hi], name, seed=seed, size_table=size, indices=indices[lo:hi], crop=size)


def _frames_unit(name: str, images: np.ndarray, dataset_indices: list[int], seed: int, size: int,
                 targets: list[Path]) -> int:
    sequences = perturb(images, name, seed=seed, size_table=size, indices=dataset_indices, crop=size)
    for frames, target in zip(sequences, targets, strict=True):
        target.mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(frames):
            Image.fromarray(frame).save(target / f"{t}.png")
    return len(images)


def _context(src: make_c.Source, i: int, size: int) -> np.ndarray:
    return np.asarray(prepare_context_image(src.load(i), size))  # RGB already (make_c.load_source's RGB policy)


def make_cifar_p(src: make_c.Source, out: Path, names: tuple[str, ...], size: int, seed: int, workers: int,
                 batch: int, indices: np.ndarray, progress: bool) -> list[str]:
    """Write ``<name>.npy`` (N, T, S, S, 3) and ``labels.npy``; returns the perturbations generated in this call."""
    todo = [name for name in names if not (out / f"{name}.npy").exists()]
    labels = np.asarray([src.labels[i] for i in indices])
    np.save(out / "labels.npy", labels.astype(np.uint8 if labels.max(initial=0) < 256 else np.int64))
    if not todo:
        return []
    n = len(indices)
    side = prepare_context_image(Image.new("RGB", (size, size)), size).size[0]
    images = np.empty((n, side, side, 3), dtype=np.uint8)
    for k, i in enumerate(tqdm(indices, desc="loading images", disable=not progress, unit="img")):
        images[k] = _context(src, int(i), size)
    pool = make_c._executor(workers, images)
    bar = tqdm(total=len(todo) * n, desc="perturbing", unit="seq", disable=not progress)
    try:
        for name in todo:
            tmp = out / f".{name}.tmp.npy"
            result = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                               shape=(n, frame_count(name, size), size, size, 3))
            futures = [make_c._submit(pool, _cifar_unit, name, lo, hi, seed, size, indices)
                       for lo, hi in make_c._iter_blocks(n, batch)]
            bar.set_postfix_str(name)
            for f in cf.as_completed(futures):
                lo, arr = f.result()
                result[lo:lo + len(arr)] = arr
                bar.update(len(arr))
            result.flush()
            del result
            os.replace(tmp, out / f"{name}.npy")
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    return todo


def make_frames_p(src: make_c.Source, out: Path, names: tuple[str, ...], size: int, seed: int, workers: int,
                  batch: int, indices: np.ndarray, progress: bool) -> list[str]:
    """Write ``<name>/<class>/<file>/<t>.png``; returns the perturbations generated in this call."""
    todo = [name for name in names if not (out / name / _DONE).exists()]
    if not todo:
        return []
    pool = make_c._executor(workers, None)
    bar = tqdm(total=len(todo) * len(indices), desc="perturbing", unit="seq", disable=not progress)
    pending: list[cf.Future] = []
    try:
        for name in todo:
            bar.set_postfix_str(name)
            for lo, hi in make_c._iter_blocks(len(indices), batch):
                chosen = [int(i) for i in indices[lo:hi]]
                images = np.stack([_context(src, i, size) for i in chosen])
                targets = [out / name / src.class_names[src.labels[i]] / src.filenames[i] for i in chosen]
                pending.append(make_c._submit(pool, _frames_unit, name, images, chosen, seed, size, targets))
                while len(pending) > 2 * max(1, workers):
                    bar.update(pending.pop(0).result())
            for f in pending:
                bar.update(f.result())
            pending = []
            (out / name / _DONE).write_text("done\n")
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    return todo


def _check_resume(out: Path, meta: dict) -> None:
    path = out / _META
    if not path.is_file():
        return
    old = json.loads(path.read_text())
    keys = ("data", "size", "layout", "seed", "num_images", "limit")
    changed = [k for k in keys if old.get(k) != meta.get(k)]
    if changed:
        diff = ", ".join(f"{k}: {old.get(k)!r} -> {meta.get(k)!r}" for k in changed)
        raise ValueError(f"{out} was made with other settings ({diff}); resuming would mix two -P sets. Use another "
                         "--out or the original settings")


def run(args: argparse.Namespace) -> int:
    """Run make-p with parsed ``args``; returns the exit code."""
    try:
        from .shared_options import resolve_generation

        names = parse_perturbations(args.perturbations)
        size, layout, batch = resolve_generation(args, "frames", {32: 250, 64: 50, 224: 4})
        src = make_c.load_source(args.data, args.download_root)
        from timm_augmix_plugin.evaluation.datasets import subset_indices

        indices = subset_indices(src.length, args.limit)
        out: Path = args.out
        data = args.data if args.data in ("cifar10", "cifar100") else os.path.abspath(os.path.expanduser(args.data))
        meta = {"data": data, "size": size, "layout": layout, "seed": args.seed, "limit": args.limit,
                "num_images": len(indices), "perturbations": list(names),
                "frames": {n: frame_count(n, size) for n in names}, "classes": src.class_names}
        _check_resume(out, meta)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"make-p: error: {e}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / _META).write_text(json.dumps(meta, indent=1) + "\n")
    maker = make_cifar_p if layout == "cifar" else make_frames_p
    try:
        done = maker(src, out, names, size, args.seed, args.workers, batch, indices, not args.no_progress)
    except ValueError as e:  # an unreadable or refused (alpha) source image, named
        print(f"make-p: error: {e}", file=sys.stderr)
        return 2
    skipped = [name for name in names if name not in done]
    if skipped:
        print(f"make-p: skipped already finished: {', '.join(skipped)}")
    print(f"make-p: wrote {len(done)} perturbation(s) x {len(indices)} sequences to {out}")
    return 0
