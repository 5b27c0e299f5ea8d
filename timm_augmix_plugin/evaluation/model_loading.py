"""Turn a model spec (timm name, ``hf-hub:``, ``local-dir:``, plus an optional checkpoint) into an eval-ready model.

Weights from local files are read with safetensors only (no pickle), by the checkpoint loader shared with the Hub
card builder (:mod:`timm_augmix_plugin.utils.checkpoints`). The data configuration (input size, mean/std, crop)
comes from the model's ``pretrained_cfg`` via :func:`~timm_augmix_plugin.data_config.model_data_config`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import timm
from torch import nn

from ..data_config import model_data_config as resolve_data_config  # the one owner; name kept for callers
from ..utils.checkpoints import LoadedCheckpoint, load_trained_model, read_safetensors, require_known_model
from ..utils.weights_hash import state_dict_sha256

__all__ = ["SOURCE_PREFIXES", "LoadedModel", "load_model", "read_safetensors", "resolve_data_config"]

SOURCE_PREFIXES = ("hf-hub:", "local-dir:")
_SPEC_HINT = ", hf-hub:org/name or local-dir:DIR"


@dataclass
class LoadedModel:
    """A model in eval mode with what evaluation needs to know about it."""

    model: nn.Module
    spec: str
    architecture: str
    num_classes: int
    data_config: dict[str, Any]
    weights_sha256: str
    weights_file: str | None


def load_model(
    spec: str,
    *,
    checkpoint: str | os.PathLike | None = None,
    num_classes: int | None = None,
    img_size: int | None = None,
    pretrained: bool = True,
) -> LoadedModel:
    """Create a model from ``spec`` and its weights, in eval mode on CPU.

    Args:
        spec: a timm model name (``wrn40_2``, ``resnet50.a1_in1k``), ``hf-hub:org/name`` or ``local-dir:DIR``.
        checkpoint: with a timm name only: a ``.safetensors`` file, or a folder holding ``model.safetensors``
            (training ``final/``/``save_for_hf`` folder with config.json, or an accelerate checkpoint folder).
        num_classes: classifier size; by default taken from the checkpoint (config.json or classifier weight shape).
        img_size: override the input size of the model's pretrained_cfg (for models that work at several sizes).
        pretrained: with a timm name and no checkpoint, load timm's pretrained weights (False: random init).

    Raises:
        FileNotFoundError, ValueError: unreadable/mismatched weights, unknown model names, conflicting options.
    """
    if spec.startswith("local-dir:"):
        if checkpoint is not None:
            raise ValueError("--checkpoint goes with a timm model name, not with a local-dir: model spec")
        return _evaluation_model(spec, load_trained_model(spec[len("local-dir:"):], num_classes=num_classes), img_size)
    if spec.startswith("hf-hub:"):
        if checkpoint is not None:
            raise ValueError("--checkpoint goes with a timm model name, not with an hf-hub: model spec")
        try:
            model = timm.create_model(spec, pretrained=True)
        except Exception as err:  # network, authentication, missing repo or config: all surface as one clear error
            raise ValueError(
                f"could not load {spec} from the Hugging Face Hub ({type(err).__name__}: {err}). Check the repo name, "
                "the network and HF_TOKEN for private repos, or download the repo and pass local-dir:<folder>"
            ) from None
        if num_classes is not None and num_classes != model.num_classes:
            raise ValueError(
                f"--num-classes {num_classes} but {spec} has a {model.num_classes}-class head; drop --num-classes"
            )
    else:
        require_known_model(spec, hint=_SPEC_HINT)
        if checkpoint is not None:
            return _evaluation_model(
                spec, load_trained_model(checkpoint, model_name=spec, num_classes=num_classes), img_size
            )
        kwargs = {} if num_classes is None else {"num_classes": num_classes}
        try:
            model = timm.create_model(spec, pretrained=pretrained, **kwargs)
        except Exception as err:  # no pretrained weights for this name, or no network to fetch them
            raise ValueError(
                f"could not load timm's pretrained weights for {spec}: {err}. Pass --checkpoint with your weights, "
                "or --no-pretrained for a randomly initialised model"
            ) from None
    model.eval()
    return LoadedModel(
        model=model,
        spec=spec,
        architecture=str(model.pretrained_cfg.get("architecture") or type(model).__name__),
        num_classes=int(model.num_classes),
        data_config=resolve_data_config(model, img_size),
        weights_sha256=state_dict_sha256(model.state_dict()),
        weights_file=None,
    )


def _evaluation_model(spec: str, loaded: LoadedCheckpoint, img_size: int | None) -> LoadedModel:
    return LoadedModel(
        model=loaded.model,
        spec=spec,
        architecture=loaded.architecture,
        num_classes=int(loaded.model.num_classes),
        data_config=resolve_data_config(loaded.model, img_size),
        weights_sha256=loaded.weights_sha256,
        weights_file=str(loaded.source),
    )
