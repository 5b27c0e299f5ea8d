"""``perturb()``: validate input, resolve the table, run a batched -P sequence generator, crop."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..corruptions.api import MIN_SIDE, as_numpy_images, resolve_seed
from ..utils.seeds import indexed_generators
from .params import check_name, context_size, resolve_p_params
from .sequences import SEQUENCE_FUNCTIONS

__all__ = ["perturb"]

# Frames per internal chunk: about a million pixels (33 CIFAR sequences of 31 frames, one 224 px sequence).
_CHUNK_PIXELS = 1 << 20


def _centre(arr: np.ndarray, crop: int) -> np.ndarray:
    side = arr.shape[-2]
    if side == crop:
        return arr
    top = int(round((side - crop) / 2.0))
    return arr[..., top:top + crop, top:top + crop, :]


def perturb(images: Any, name: str, seed: int | None = None, size_table: int | None = None, *,
            start_index: int = 0, indices: Any = None, crop: int | None = None) -> Any:
    """Make the -P perturbation sequence of each image.

    Args:
        images: uint8 RGB squares, channels last: (S, S, 3) or (N, S, S, 3), numpy array or torch tensor.
        name: one of ``TEST_PERTURBATIONS`` or ``VALIDATION_PERTURBATIONS`` (reference names, e.g. ``'translate'``).
        seed: makes the result deterministic; ``None`` draws fresh OS entropy. Image ``i`` draws from the stream
            keyed by ``(seed, name, table, start_index + i)``, so results do not depend on batching.
        size_table: reference table (32, 64 or 224); default: nearest to ``crop``.
        start_index: global index of the first image (for making a dataset in pieces with identical results).
        indices: the global index of every image instead (e.g. an evenly spread subset of a dataset).
        crop: side of the output frames, centre-cropped from the input (default: the input side). For ImageNet-P
            pass the 256 px square of :func:`~timm_augmix_plugin.corruptions.prepare.prepare_context_image` with
            ``crop=224``: geometric sequences are computed on the square, the others on its 224 px centre.

    Returns:
        Frames (T, crop, crop, 3) or (N, T, crop, crop, 3), uint8, of the input's type (tensors on their device).

    Example:
        >>> import numpy as np
        >>> x = np.full((2, 32, 32, 3), 128, np.uint8)
        >>> perturb(x, "translate", seed=0).shape
        (2, 16, 32, 32, 3)
    """
    check_name(name)
    seed = resolve_seed(seed)
    if isinstance(start_index, bool) or not isinstance(start_index, (int, np.integer)) or start_index < 0:
        raise ValueError(f"start_index must be a non-negative integer, got {start_index!r}")
    arr, kind, device = as_numpy_images(images)
    if arr.ndim not in (3, 4) or arr.shape[-1] != 3:
        raise ValueError(f"images must be RGB channels-last with shape (S, S, 3) or (N, S, S, 3), got shape "
                         f"{tuple(arr.shape)} (for CHW tensors use .permute(1, 2, 0))")
    single = arr.ndim == 3
    batch = arr[None] if single else arr
    n, h, w, _ = batch.shape
    if h != w:
        raise ValueError(f"-P sequences are made from square images, got {h}x{w}; centre-crop first (make-p and "
                         "eval-p --generate prepare images as the reference does)")
    keys = np.arange(int(start_index), int(start_index) + n) if indices is None else np.asarray(indices, np.int64)
    if keys.shape != (n,) or (keys < 0).any():
        raise ValueError(f"indices must hold one non-negative index per image ({n}), got shape {keys.shape}")
    crop = h if crop is None else int(crop)
    if not MIN_SIDE <= crop <= h:
        raise ValueError(f"crop must be in {MIN_SIDE}..{h} (the input side), got {crop}")
    params = resolve_p_params(name, crop, size_table)
    need = context_size(name, crop, params.table)
    if need > h:
        raise ValueError(f"{name} at {crop} px is computed on a {need} px square around the crop (as the reference "
                         f"perturbs the Resize(256) image), got {h} px images; prepare them with "
                         "timm_augmix_plugin.corruptions.prepare.prepare_context_image")
    work = _centre(batch, need)
    fn = SEQUENCE_FUNCTIONS[name]
    out = np.empty((n, params.frames, crop, crop, 3), dtype=np.uint8)
    chunk = max(1, _CHUNK_PIXELS // (need * need * params.frames))
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        rngs = indexed_generators(seed, f"p:{name}", params.table, keys[lo:hi])
        out[lo:hi] = _centre(fn(np.ascontiguousarray(work[lo:hi]), params, rngs), crop)
    if single:
        out = out[0]
    if kind == "torch":
        return torch.from_numpy(out).to(device)
    return out
