"""Export trained weights as a timm ``save_for_hf`` folder (``config.json`` + ``model.safetensors``).

The folder loads with ``timm.create_model('local-dir:<folder>', pretrained=True)`` (for the plugin's architectures,
with ``timm_augmix_plugin`` imported). Split-BN auxiliary statistics are dropped (only the main BN is used at test
time) and the normalisation used in training is recorded in the config, so evaluation preprocesses the same way.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from ..constants import IMAGENET_CROP_PCT
from .recipe import Recipe

__all__ = ["export_weights", "plain_state_dict"]


def plain_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict without split-BN auxiliary entries, on the CPU."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items() if ".aux_bn." not in f".{k}"}


def export_weights(model: torch.nn.Module, recipe: Recipe, mean, std, directory: str | os.PathLike) -> Path:
    """Write ``model``'s weights as a timm ``save_for_hf`` folder at ``directory`` (replaced atomically).

    Args:
        model: The trained (unwrapped) model; split-BN models are fine.
        recipe: The run's recipe (architecture, classes, image size, preset).
        mean: Normalisation mean used in training.
        std: Normalisation std used in training.
        directory: Target folder.
    """
    import timm
    from timm.models import save_for_hf

    m, d = recipe.model, recipe.data
    plain = timm.create_model(m.name, pretrained=False, num_classes=d.num_classes, **m.create_kwargs())
    plain.load_state_dict(plain_state_dict(model), strict=True)
    data_config = dict(input_size=(3, d.img_size, d.img_size), mean=tuple(mean), std=tuple(std),
                       crop_pct=IMAGENET_CROP_PCT if d.preset == "imagenet" else 1.0)
    target = Path(directory)
    tmp = target.with_name(f".tmp-{target.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    save_for_hf(plain, str(tmp), safe_serialization=True, data_config=data_config)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    return target
