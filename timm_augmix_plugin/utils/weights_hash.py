"""A content hash of model weights that does not depend on the file format they were saved in."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping

import torch

__all__ = ["file_weights_sha256", "state_dict_sha256"]


def state_dict_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """sha256 over the sorted tensor names, dtypes, shapes and contiguous CPU bytes of a state dict.

    The same weights give the same hash whether they come from a safetensors file, a training
    checkpoint or a live model, so evaluation results and model cards can refer to them.
    """
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().to("cpu").contiguous()
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def file_weights_sha256(path: str) -> str:
    """:func:`state_dict_sha256` of the weights in a ``.safetensors`` file (read without pickle)."""
    from safetensors.torch import load_file

    return state_dict_sha256(load_file(path))
