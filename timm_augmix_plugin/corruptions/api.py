"""``corrupt()``: the public entry point that validates input, resolves parameters and runs a batched corruption."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..utils.seeds import fresh_seed, image_generators
from . import blur, digital, noise, spatter, weather
from .params import ALL_CORRUPTIONS, SizeParams, resolve_params

__all__ = ["corrupt", "get_corruption", "CORRUPTION_FUNCTIONS", "MIN_SIDE", "as_numpy_images", "resolve_seed"]

CorruptionFn = Callable[[np.ndarray, SizeParams, list], np.ndarray]

CORRUPTION_FUNCTIONS: dict[str, CorruptionFn] = {
    "gaussian_noise": noise.gaussian_noise,
    "shot_noise": noise.shot_noise,
    "impulse_noise": noise.impulse_noise,
    "defocus_blur": blur.defocus_blur,
    "glass_blur": blur.glass_blur,
    "motion_blur": blur.motion_blur,
    "zoom_blur": blur.zoom_blur,
    "snow": weather.snow,
    "frost": weather.frost,
    "fog": weather.fog,
    "brightness": weather.brightness,
    "contrast": digital.contrast,
    "elastic_transform": digital.elastic_transform,
    "pixelate": digital.pixelate,
    "jpeg_compression": digital.jpeg_compression,
    "speckle_noise": noise.speckle_noise,
    "gaussian_blur": blur.gaussian_blur,
    "spatter": spatter.spatter,
    "saturate": digital.saturate,
}

# Images per internal chunk: keeps temporaries around 64k pixels (64 CIFAR images, one 224 px image) so they stay in
# cache; larger chunks were up to 1.25x slower at 224 px and no faster at 32 px.
_CHUNK_PIXELS = 1 << 16
MIN_SIDE = 8


def get_corruption(name: str) -> CorruptionFn:
    """The batched function behind ``name``; raises ``ValueError`` listing the valid names."""
    if not isinstance(name, str) or name not in CORRUPTION_FUNCTIONS:
        raise ValueError(f"Unknown corruption {name!r}. Valid names: {', '.join(ALL_CORRUPTIONS)}")
    return CORRUPTION_FUNCTIONS[name]


def resolve_seed(seed: int | None) -> int:
    """A user seed as an int, or fresh OS entropy for ``None`` (:func:`corrupt`,
    :func:`~timm_augmix_plugin.perturbations.perturb`).

    Raises:
        ValueError: not a non-negative integer or None.
    """
    if seed is None:
        return fresh_seed()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def as_numpy_images(images: Any) -> tuple[np.ndarray, str, Any]:
    """``images`` (uint8 numpy array or torch tensor) as a numpy array, with ``'numpy'`` / ``'torch'`` and the tensor's
    device, to return results of the input's type (:func:`corrupt`, :func:`~timm_augmix_plugin.perturbations.perturb`).

    Raises:
        TypeError: not uint8, or neither a numpy array nor a torch tensor (the message says how to convert).
    """
    if isinstance(images, torch.Tensor):
        if images.dtype != torch.uint8:
            raise TypeError(f"images must be uint8, got torch tensor of dtype {images.dtype}; convert with "
                            "(img * 255).round().clamp(0, 255).to(torch.uint8) for float images in [0, 1]")
        return images.detach().cpu().contiguous().numpy(), "torch", images.device
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8:
            raise TypeError(f"images must be uint8, got numpy array of dtype {images.dtype}; convert with "
                            "np.clip(np.rint(img * 255), 0, 255).astype(np.uint8) for float images in [0, 1]")
        return images, "numpy", None
    raise TypeError(f"images must be a numpy array or torch tensor of dtype uint8, got {type(images).__name__}; "
                    "for a PIL image use np.asarray(img.convert('RGB'))")


def corrupt(images: Any, name: str, severity: int, seed: int | None = None, size_table: int | None = None, *,
            start_index: int = 0) -> Any:
    """Apply a -C benchmark corruption to one image or a batch.

    Args:
        images: uint8 RGB, channels last: (H, W, 3) or (N, H, W, 3), numpy array or torch tensor (CPU or not).
        name: one of ``BENCHMARK_CORRUPTIONS`` or ``EXTRA_CORRUPTIONS`` (reference names, e.g. ``'gaussian_noise'``).
        severity: 1..5.
        seed: makes the result deterministic; ``None`` draws fresh OS entropy. Image ``i`` of the batch uses the
            random stream keyed by ``(seed, name, severity, start_index + i)``, so results do not depend on batching.
        size_table: reference table to use (32, 64 or 224); default: nearest to ``min(H, W)`` (see ``params``).
        start_index: global index of the first image (for generating a dataset in pieces with identical results).

    Returns:
        The corrupted images with the input's shape, dtype and type (a tensor comes back on its device).

    Example:
        >>> import numpy as np
        >>> x = np.full((4, 32, 32, 3), 128, np.uint8)
        >>> corrupt(x, "gaussian_noise", 3, seed=0).shape
        (4, 32, 32, 3)
    """
    fn = get_corruption(name)
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 1 <= int(severity) <= 5:
        raise ValueError(f"severity must be an integer in 1..5, got {severity!r}")
    severity = int(severity)
    seed = resolve_seed(seed)
    if not isinstance(start_index, (int, np.integer)) or start_index < 0:
        raise ValueError(f"start_index must be a non-negative integer, got {start_index!r}")
    arr, kind, device = as_numpy_images(images)
    single = arr.ndim == 3
    if arr.ndim not in (3, 4) or arr.shape[-1] != 3:
        raise ValueError(f"images must be RGB channels-last with shape (H, W, 3) or (N, H, W, 3), got shape "
                         f"{tuple(arr.shape)}; stack grayscale to 3 channels or drop the alpha channel first "
                         "(for CHW tensors use .permute(1, 2, 0))")
    batch = arr[None] if single else arr
    n, h, w, _ = batch.shape
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"images must be at least {MIN_SIDE}x{MIN_SIDE} pixels, got {h}x{w}")
    params = resolve_params(name, severity, h, w, size_table)
    out = np.empty_like(batch)
    chunk = max(1, _CHUNK_PIXELS // (h * w))
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        rngs = image_generators(seed, name, severity, int(start_index) + lo, hi - lo)
        out[lo:hi] = fn(np.ascontiguousarray(batch[lo:hi]), params, rngs)
    if single:
        out = out[0]
    if kind == "torch":
        return torch.from_numpy(out).to(device)
    return out
