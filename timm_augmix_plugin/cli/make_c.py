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
import concurrent.futures as cf
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from timm_augmix_plugin.corruptions import ALL_CORRUPTIONS, BENCHMARK_CORRUPTIONS, EXTRA_CORRUPTIONS, corrupt
from timm_augmix_plugin.corruptions.prepare import prepare_clean_image
from timm_augmix_plugin.utils.images import to_rgb
from timm_augmix_plugin.utils.outputs import ensure_writable_dir
from timm_augmix_plugin.utils.run_lock import FolderLock

__all__ = ["add_arguments", "run", "prepare_image", "load_source", "Source"]

SEVERITIES = (1, 2, 3, 4, 5)
_DONE = ".done"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the make-c options on ``parser``."""
    from .shared_options import add_source_options, add_work_options

    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the layout list in --help readable
    add_source_options(parser, size_help="image size and parameter table (default: 32 for CIFAR, 224 otherwise)")
    parser.add_argument("--layout", choices=("auto", "cifar", "imagenet"), default="auto",
                        help="output layout (auto: cifar for --size 32, imagenet otherwise)")
    parser.add_argument("--corruptions", default="benchmark",
                        help="'benchmark' (15), 'extra' (4), 'all' (19) or a comma-separated list of names")
    add_work_options(parser, batch_help="images per work unit (default: 1000 at 32 px, 250 at 64 px, 32 at 224 px)",
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
    loader: Any
    labels: list[int]
    class_names: list[str]
    filenames: list[str]

    def load(self, index: int) -> Image.Image:
        return self.loader(index)


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


# ---- worker side -------------------------------------------------------------------------------------------------

_IMAGES: np.ndarray | None = None


def _set_images(images: np.ndarray | None) -> None:
    global _IMAGES
    _IMAGES = images


def _cifar_unit(name: str, severity: int, lo: int, hi: int, seed: int, size: int) -> tuple[str, int, int, np.ndarray]:
    if _IMAGES is None:
        raise RuntimeError("worker images were not initialised")
    return name, severity, lo, corrupt(_IMAGES[lo:hi], name, severity, seed=seed, size_table=size, start_index=lo)


def _imagenet_unit(name: str, lo: int, images: np.ndarray, seed: int, size: int,
                   targets: list[Path]) -> tuple[str, int]:
    for severity in SEVERITIES:
        out = corrupt(images, name, severity, seed=seed, size_table=size, start_index=lo)
        for k, img in enumerate(out):
            target = targets[k].parent.parent.parent / str(severity) / targets[k].parent.name / targets[k].name
            Image.fromarray(img).save(target, format="JPEG", quality=85, optimize=True)
    return name, len(images)


# ---- driver ------------------------------------------------------------------------------------------------------


def _executor(workers: int, images: np.ndarray | None) -> cf.Executor | None:
    if workers <= 0:
        _set_images(images)
        return None
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    return cf.ProcessPoolExecutor(workers, mp_context=mp.get_context(method), initializer=_set_images,
                                  initargs=(images,))


def _submit(pool: cf.Executor | None, fn: Any, *args: Any) -> cf.Future:
    if pool is None:
        f: cf.Future = cf.Future()
        f.set_result(fn(*args))
        return f
    return pool.submit(fn, *args)


def _iter_blocks(n: int, batch: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, batch):
        yield lo, min(n, lo + batch)


def _load_all(src: Source, n: int, size: int, progress: bool) -> np.ndarray:
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in tqdm(range(n), desc="loading images", disable=not progress, unit="img"):
        images[i] = prepare_image(src.load(i), size)
    return images


def make_cifar_layout(src: Source, out: Path, names: tuple[str, ...], size: int, seed: int, workers: int,
                      batch: int, n: int, progress: bool) -> list[str]:
    """Write ``<name>.npy`` (5N, H, W, 3) and ``labels.npy``; returns the corruptions generated in this call."""
    todo = [name for name in names if not (out / f"{name}.npy").exists()]
    labels = np.asarray(src.labels[:n] * len(SEVERITIES), dtype=np.uint8 if max(src.labels[:n], default=0) < 256
                        else np.int64)
    np.save(out / "labels.npy", labels)
    if not todo:
        return []
    images = _load_all(src, n, size, progress)
    pool = _executor(workers, images)
    bar = tqdm(total=len(todo) * len(SEVERITIES) * n, desc="corrupting", unit="img", disable=not progress)
    try:
        for name in todo:
            result = np.empty((len(SEVERITIES) * n, size, size, 3), dtype=np.uint8)
            futures = [_submit(pool, _cifar_unit, name, s, lo, hi, seed, size)
                       for s in SEVERITIES for lo, hi in _iter_blocks(n, batch)]
            for f in cf.as_completed(futures):
                _, s, lo, arr = f.result()
                start = (s - 1) * n + lo
                result[start:start + len(arr)] = arr
                bar.update(len(arr))
                bar.set_postfix_str(name)
            tmp = out / f".{name}.tmp.npy"
            np.save(tmp, result)
            os.replace(tmp, out / f"{name}.npy")
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    return todo


def make_imagenet_layout(src: Source, out: Path, names: tuple[str, ...], size: int, seed: int, workers: int,
                         batch: int, n: int, progress: bool) -> list[str]:
    """Write ``<name>/<severity>/<class>/<file>.JPEG``; returns the corruptions generated in this call."""
    todo = [name for name in names if not (out / name / _DONE).exists()]
    if not todo:
        return []
    pool = _executor(workers, None)
    bar = tqdm(total=len(todo) * len(SEVERITIES) * n, desc="corrupting", unit="img", disable=not progress)
    pending: list[cf.Future] = []
    try:
        for name in todo:
            for s in SEVERITIES:
                for cls in set(src.class_names[src.labels[i]] if src.labels[i] >= 0 else "unlabelled"
                               for i in range(n)):
                    (out / name / str(s) / cls).mkdir(parents=True, exist_ok=True)
            for lo, hi in _iter_blocks(n, batch):
                images = np.stack([prepare_image(src.load(i), size) for i in range(lo, hi)])
                targets = [out / name / "0" / (src.class_names[src.labels[i]] if src.labels[i] >= 0 else "unlabelled")
                           / f"{src.filenames[i]}.JPEG" for i in range(lo, hi)]
                pending.append(_submit(pool, _imagenet_unit, name, lo, images, seed, size, targets))
                while len(pending) > 2 * max(1, workers):  # bound memory: wait for the oldest unit
                    _, count = pending.pop(0).result()
                    bar.update(count * len(SEVERITIES))
            for f in pending:
                _, count = f.result()
                bar.update(count * len(SEVERITIES))
            pending = []
            (out / name / _DONE).write_text("done\n")
            bar.set_postfix_str(name)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    return todo


#: make_c.json keys that must match for a rerun to add to (or resume) an existing folder.
_IDENTITY = ("size", "layout", "seed", "num_images", "classes", "source_sha256")
_LABELS = {
    "size": "--size {there} there, {now} now", "layout": "--layout {there} there, {now} now",
    "seed": "--seed {there} there, {now} now", "num_images": "{there} images there, {now} now (--limit / --data)",
    "classes": "other class names (--data)", "source_sha256": "other source images or labels (--data)",
}


def source_fingerprint(src: Source, n: int) -> str:
    """sha256 of the first ``n`` images' file names and labels: which images, in which order, under which label."""
    digest = hashlib.sha256()
    for i in range(n):
        digest.update(f"{src.filenames[i]}\t{src.labels[i]}\n".encode())
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
    meta_path = out / "make_c.json"
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
    meta = {"data": str(args.data), "size": size, "layout": layout, "seed": args.seed, "num_images": n,
            "corruptions": list(names), "severities": list(SEVERITIES), "classes": src.class_names,
            "source_sha256": source_fingerprint(src, n)}
    try:
        ensure_writable_dir(out, "--out")
        with FolderLock(out, "--out", fix=", or use another --out"):
            kept = check_existing(out, meta, args.overwrite)
            meta["corruptions"] = [*kept, *names]
            (out / "make_c.json").write_text(json.dumps(meta, indent=1) + "\n")
            maker = make_cifar_layout if layout == "cifar" else make_imagenet_layout
            done = maker(src, out, names, size, args.seed, args.workers, batch, n, not args.no_progress)
    except ValueError as e:
        print(f"make-c: error: {e}", file=sys.stderr)
        return 2
    skipped = [name for name in names if name not in done]
    if skipped:
        print(f"make-c: skipped already finished: {', '.join(skipped)}")
    print(f"make-c: wrote {len(done)} corruption(s) x {len(SEVERITIES)} severities x {n} images to {out}")
    return 0
