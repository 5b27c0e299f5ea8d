"""What the speed benchmarks share: the CIFAR-10 test images from the shared tar (every benchmark), one thread for every
library and best-of-N timings (the -C and -P benchmarks).

The -C and -P scripts set the OMP / MKL / OpenBLAS / numba thread counts to 1 themselves, before numpy loads.
"""
from __future__ import annotations

import io
import math
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image

__all__ = ["CIFAR_TAR", "best_of", "cifar_test_images", "one_thread"]

CIFAR_TAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpeg" / "test.tar"


def cifar_test_images(n: int, tar: Path = CIFAR_TAR) -> list[Image.Image]:
    """The first ``n`` images (RGB) of ``tar``, by default the CIFAR-10 test images (32 px) of the shared tar; fewer,
    or none without it."""
    images: list[Image.Image] = []
    if not tar.is_file():
        return images
    with tarfile.open(tar) as tf:
        for m in tf:
            if m.isfile() and m.name.lower().endswith((".jpg", ".jpeg", ".png")):
                images.append(Image.open(io.BytesIO(tf.extractfile(m).read())).convert("RGB"))
                if len(images) >= n:
                    break
    return images


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Shortest wall time of ``repeat`` calls of ``fn`` (seconds): filters out interference from other jobs."""
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def one_thread() -> None:
    """torch and OpenCV (when it imports) on one thread."""
    torch.set_num_threads(1)
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass
