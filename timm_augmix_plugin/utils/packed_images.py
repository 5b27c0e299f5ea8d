"""JPEG packs: every image of an ImageFolder-style dataset (folder or tar) as its JPEG bytes in one ``.npz`` file.

Small JPEGs written by one encoder share their header (quantisation and Huffman tables: the first 623 of ~900 bytes
of each CIFAR-10 image of the shared copy), so a pack stores that common prefix once and, per image, only the bytes
after it: CIFAR-10's 60k images take ~18 MB instead of 92 MB of tar, small enough to travel with a working tree.
Unpacking restores every file byte for byte, so decoding gives exactly the pixels of the original dataset.

Example:
    >>> info = pack_jpegs("../shared/data/cifar10-jpeg/test.tar", "packs/cifar10-test.npz")
    >>> pack = read_pack("packs/cifar10-test.npz")
    >>> images = pack.decode()            # (N, H, W, 3) uint8, in timm's dataset order
    >>> pack.write_folder("data/test")    # the original files, <class>/<file>, for tools that read folders
"""
from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["JpegPack", "pack_jpegs", "read_pack"]

_JPEG_MAGIC = b"\xff\xd8"


@dataclass(frozen=True)
class JpegPack:
    """The content of a pack (see the module docstring).

    Attributes:
        prefix: the bytes every file starts with.
        blob: the rest of every file, concatenated.
        offsets: (N + 1,) int64 start of each file's rest in ``blob``.
        labels: (N,) int64 class index per image.
        classes: class names, index = label.
        names: per image, its path inside the dataset (``<class>/<file>``).
    """

    prefix: bytes
    blob: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def jpeg_bytes(self, index: int) -> bytes:
        """The original file of image ``index``, byte for byte."""
        return self.prefix + self.blob[self.offsets[index]:self.offsets[index + 1]].tobytes()

    def decode(self, threads: int | None = None, indices: Sequence[int] | None = None) -> np.ndarray:
        """All images, or those at ``indices`` in that order, as (N, H, W, 3) uint8 RGB (PIL's decoder and the RGB
        policy of :func:`.images.to_rgb`, several threads; every image must have one size)."""
        from .images import open_rgb

        def one(i: int) -> np.ndarray:
            return np.asarray(open_rgb(io.BytesIO(self.jpeg_bytes(i)), self.names[i]))

        threads = threads or min(16, os.cpu_count() or 1)
        with ThreadPoolExecutor(threads) as pool:
            images = list(pool.map(one, range(len(self)) if indices is None else indices, chunksize=256))
        shapes = {im.shape for im in images}
        if len(shapes) != 1:
            raise ValueError(f"The pack holds images of several sizes {sorted(shapes)[:4]}; decode() stacks one size "
                             "only. Read them one by one with jpeg_bytes(i).")
        return np.stack(images)

    def write_folder(self, directory: str | os.PathLike) -> Path:
        """Write the original files as ``directory/<class>/<file>`` (ImageFolder layout); returns ``directory``."""
        root = Path(directory)
        for i, name in enumerate(self.names):
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.jpeg_bytes(i))
        return root


def _read_files(source: Path):
    """(name, label, bytes) per image in timm's dataset order (:func:`.clean_data.open_image_dataset`), plus the
    class names. The bytes come through the dataset's reader, which has already indexed the folder or tar."""
    from .clean_data import dataset_classes, dataset_labels, open_image_dataset

    dataset = open_image_dataset(source)
    labels = [int(t) for t in dataset_labels(dataset)]
    classes = tuple(dataset_classes(dataset) or ())
    names = [dataset.reader.filename(i) for i in range(len(labels))]

    def file_bytes(index: int) -> bytes:
        with dataset.reader[index][0] as f:
            return f.read()

    data = [file_bytes(i) for i in range(len(labels))]
    return [n.removeprefix("./") for n in names], labels, data, classes


def pack_jpegs(source: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Pack the JPEG files of an ImageFolder-style folder or tar into ``out`` (``.npz``).

    Returns:
        A summary: ``images``, ``prefix_bytes``, ``source_bytes`` (sum of the files) and ``pack_bytes``.

    Raises:
        FileNotFoundError: ``source`` does not exist.
        ValueError: no images, or a file that is not a JPEG.
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist; pass an ImageFolder-style folder or a tar of one.")
    names, labels, data, classes = _read_files(source)
    if not data:
        raise ValueError(f"No images in {source}; expected <class>/<image> files.")
    not_jpeg = [n for n, d in zip(names, data) if not d.startswith(_JPEG_MAGIC)]
    if not_jpeg:
        raise ValueError(f"{len(not_jpeg)} files of {source} are not JPEGs (first: {not_jpeg[0]}); a JPEG pack "
                         "stores JPEG files only.")
    first = data[0]
    size = len(os.path.commonprefix(data))
    lengths = np.array([len(d) - size for d in data], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    blob = np.frombuffer(b"".join(d[size:] for d in data), dtype=np.uint8)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{out.name}")
    with open(tmp, "wb") as f:
        np.savez(f, prefix=np.frombuffer(first[:size], dtype=np.uint8), blob=blob, offsets=offsets,
                 labels=np.asarray(labels, dtype=np.int64), classes=np.asarray(classes), names=np.asarray(names))
    os.replace(tmp, out)
    return dict(images=len(data), prefix_bytes=size, source_bytes=int(sum(len(d) for d in data)),
                pack_bytes=out.stat().st_size)


def read_pack(path: str | os.PathLike) -> JpegPack:
    """Open a pack written by :func:`pack_jpegs`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a complete JPEG pack.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"JPEG pack {path} not found; make one with pack_jpegs(SOURCE, {path}).")
    keys = ("prefix", "blob", "offsets", "labels", "classes", "names")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise ValueError(f"{path} is not a JPEG pack (missing {missing}); make one with pack_jpegs().")
            arrays = {k: z[k] for k in keys}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        if "JPEG pack" in str(err):
            raise
        raise ValueError(f"{path} is not a readable JPEG pack ({err}); rebuild it with pack_jpegs().") from err
    offsets = arrays["offsets"]
    if len(offsets) != len(arrays["labels"]) + 1 or offsets[-1] != len(arrays["blob"]):
        raise ValueError(f"{path} is a truncated or inconsistent JPEG pack; rebuild it with pack_jpegs().")
    return JpegPack(arrays["prefix"].tobytes(), arrays["blob"], offsets, arrays["labels"],
                    tuple(str(c) for c in arrays["classes"]), tuple(str(n) for n in arrays["names"]))
