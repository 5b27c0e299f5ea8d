"""The weights loader (``utils/checkpoints.py``) directly: every checkpoint form it reads, and every refusal."""
from __future__ import annotations

import argparse

import pytest
import timm
import torch
from safetensors.torch import save_file

from timm_augmix_plugin.utils.checkpoints import (
    load_trained_model,
    read_torch_checkpoint,
    strip_wrapper_prefixes,
    weights_in_folder,
)
from timm_augmix_plugin.utils.weights_hash import state_dict_sha256

ARCH = "test_vit"
KWARGS = {"img_size": 16, "patch_size": 4}


class NotAllowed:
    """A class ``torch.load(weights_only=True)`` must refuse to rebuild."""


def _model(num_classes: int = 5, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return timm.create_model(ARCH, num_classes=num_classes, **KWARGS)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_save_for_hf_folder_loads_strictly_in_eval_mode(tmp_path):
    model = _model()
    timm.models.save_for_hf(model, str(tmp_path / "final"), safe_serialization=True,
                            model_args=dict(num_classes=5, **KWARGS))
    loaded = load_trained_model(tmp_path / "final")
    assert loaded.architecture == ARCH and loaded.source == tmp_path / "final" / "model.safetensors"
    assert not loaded.model.training and _same_weights(loaded.model, model)
    assert loaded.weights_sha256 == state_dict_sha256(model.state_dict())
    with pytest.raises(ValueError, match="describes a test_vit"):
        load_trained_model(tmp_path / "final", model_name="resnet18")
    with pytest.raises(ValueError, match="5-class head"):
        load_trained_model(tmp_path / "final", num_classes=7)


def test_bare_safetensors_file_needs_the_architecture_and_reads_the_head_size(tmp_path):
    model = timm.create_model(ARCH, num_classes=5)
    path = tmp_path / "w.safetensors"
    save_file({f"_orig_mod.{k}": v.contiguous() for k, v in model.state_dict().items()}, str(path))
    loaded = load_trained_model(path, model_name=ARCH)
    assert loaded.model.num_classes == 5 and _same_weights(loaded.model, model)
    with pytest.raises(ValueError, match="bare weights file.*--model"):
        load_trained_model(path)
    with pytest.raises(ValueError, match="5-class classifier"):
        load_trained_model(path, model_name=ARCH, num_classes=3)
    with pytest.raises(ValueError, match="unknown timm model"):
        load_trained_model(path, model_name="no_such_net")
    # an accelerate-style folder: its only .safetensors file
    (tmp_path / "acc").mkdir()
    path.rename(tmp_path / "acc" / "model_0.safetensors")
    assert weights_in_folder(tmp_path / "acc").name == "model_0.safetensors"
    assert _same_weights(load_trained_model(tmp_path / "acc", model_name=ARCH).model, model)
    save_file({"x": torch.zeros(1)}, str(tmp_path / "acc" / "other.safetensors"))
    with pytest.raises(ValueError, match="several .safetensors"):
        load_trained_model(tmp_path / "acc", model_name=ARCH)


def test_timm_train_checkpoint_with_args_ema_and_wrappers(tmp_path):
    model, ema = _model(5, 0), _model(5, 1)
    args = argparse.Namespace(model=ARCH, num_classes=5, model_kwargs=dict(KWARGS), mean=(0.1, 0.2, 0.3), std=None,
                              input_size=None, crop_pct=None, interpolation="")
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    state["module.blocks.0.aux_bn.weight"] = torch.ones(2)  # split-BN auxiliary entries are dropped
    path = tmp_path / "model_best.pth.tar"
    torch.save({"state_dict": state, "state_dict_ema": ema.state_dict(), "args": args, "epoch": 3}, path)

    ckpt = read_torch_checkpoint(path)
    assert ckpt.architecture == ARCH and ckpt.num_classes == 5 and ckpt.model_kwargs == KWARGS
    assert ckpt.data_config == {"mean": (0.1, 0.2, 0.3)}  # unset entries (None, '') do not override
    assert not any("aux_bn" in k or k.startswith("module.") for k in ckpt.state_dict)

    loaded = load_trained_model(path)
    assert _same_weights(loaded.model, model) and loaded.model.pretrained_cfg["mean"] == (0.1, 0.2, 0.3)
    assert _same_weights(load_trained_model(path, use_ema=True).model, ema)
    with pytest.raises(ValueError, match="trained as test_vit"):
        load_trained_model(path, model_name="resnet18")
    with pytest.raises(ValueError, match="--ema applies to timm train.py checkpoints"):
        load_trained_model(tmp_path, model_name=ARCH, use_ema=True)


def test_pickled_code_is_never_run_without_trust(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": timm.create_model(ARCH, num_classes=5).state_dict(), "payload": NotAllowed()}, path)
    with pytest.raises(ValueError, match="convert .* --trust-pickle"):
        load_trained_model(path, model_name=ARCH)
    # trusted: the payload is unpickled and ignored, the weights load
    assert load_trained_model(path, model_name=ARCH, num_classes=5, trust_pickle=True).architecture == ARCH


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_trained_model(tmp_path / "missing")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_trained_model(broken, model_name=ARCH)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_trained_model(tmp_path / "empty")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="holds a list"):
        load_trained_model(tmp_path / "list.pt", model_name=ARCH)
    wrong = timm.create_model(ARCH, num_classes=5).state_dict()
    wrong.pop(next(iter(wrong)))
    save_file({k: v.contiguous() for k, v in wrong.items()}, str(tmp_path / "short.safetensors"))
    with pytest.raises(ValueError, match="missing keys"):
        load_trained_model(tmp_path / "short.safetensors", model_name=ARCH)


def test_strip_wrapper_prefixes_only_when_every_key_has_it():
    t = torch.zeros(1)
    assert strip_wrapper_prefixes({"module._orig_mod.a": t}) == {"a": t}
    assert set(strip_wrapper_prefixes({"module.a": t, "b": t})) == {"module.a", "b"}
