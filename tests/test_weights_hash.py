"""The weights hash is format-independent and handles 0-d tensors (BatchNorm's num_batches_tracked)."""
from __future__ import annotations

import torch
from safetensors.torch import save_file

from timm_augmix_plugin.utils.weights_hash import file_weights_sha256, state_dict_sha256


def test_hash_is_stable_across_formats_and_sensitive_to_changes(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    sd = model.state_dict()
    assert sd["1.num_batches_tracked"].dim() == 0
    h = state_dict_sha256(sd)
    save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / "w.safetensors")
    assert file_weights_sha256(str(tmp_path / "w.safetensors")) == h
    assert state_dict_sha256(dict(reversed(list(sd.items())))) == h  # order-independent
    sd2 = {k: v.clone() for k, v in sd.items()}
    sd2["0.weight"][0, 0, 0, 0] += 1e-3
    assert state_dict_sha256(sd2) != h
    sd3 = dict(sd)
    sd3["0.bias"] = sd["0.bias"].double()
    assert state_dict_sha256(sd3) != h  # dtype is part of the identity
