"""Synthetic images and eval-c results for the tests (no downloads, no shared data)."""
from __future__ import annotations

import numpy as np
from PIL import Image

CORRUPTIONS = ("gaussian_noise", "fog", "jpeg_compression")


def make_image(size: int = 32, seed: int = 0) -> Image.Image:
    """A structured RGB test image (gradients plus a square), so geometric ops visibly move content."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    arr = np.stack([xx * 255 // max(size - 1, 1), yy * 255 // max(size - 1, 1), (xx + yy) * 127 // max(size - 1, 1)],
                   axis=-1).astype(np.uint8)
    q = size // 4
    arr[q:2 * q, q:2 * q] = rng.integers(0, 256, 3, dtype=np.uint8)
    return Image.fromarray(arr, "RGB")


def make_results(weights_sha256: str, architecture: str, *, style: str = "cifar", dataset: str = "cifar10-c",
                 num_classes: int = 10, offset: float = 0.0) -> dict:
    """A schema-1 eval-c results document with distinct, checkable numbers (``offset`` is added to every -C error)."""
    errors = {c: {str(s): round(10.0 + 3 * s + 1.5 * i + offset, 2) for s in range(1, 6)}
              for i, c in enumerate(CORRUPTIONS)}
    corruption_errors = {c: sum(v.values()) / 5 for c, v in errors.items()}
    imagenet = style == "imagenet"
    return {
        "schema_version": 1, "model": "run/final", "architecture": architecture, "num_classes": num_classes,
        "weights_sha256": weights_sha256, "dataset": dataset, "benchmark_style": style,
        "corruptions": list(CORRUPTIONS), "severities": [1, 2, 3, 4, 5], "clean_error": 5.17,
        "errors": errors, "corruption_errors": corruption_errors,
        "mean_corruption_error": sum(corruption_errors.values()) / len(CORRUPTIONS),
        "mce": 68.41 if imagenet else None, "relative_mce": 70.12 if imagenet else None,
        "mce_normalizer": "alexnet" if imagenet else None,
        "clean": {"error": 5.17, "rms_calibration_error": 3.25, "ece": 2.11, "nll": 0.21},
        "corrupted": {"error": 19.5, "rms_calibration_error": 9.87, "ece": 7.04, "nll": 0.73},
        "num_clean_samples": 100, "num_corrupted_samples": 1500, "plugin_version": "0.1.0",
        "created": "2026-11-25T18:00:00Z",
    }
