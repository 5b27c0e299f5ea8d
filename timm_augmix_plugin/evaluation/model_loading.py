"""Turn a model spec (timm name, ``hf-hub:``, ``local-dir:``, plus an optional checkpoint) into an eval-ready model.

Weights from local files are read with safetensors only (no pickle). The data configuration (input size, mean/std,
crop) comes from the model's ``pretrained_cfg`` via ``timm.data.resolve_model_data_config``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from ..utils.weights_hash import state_dict_sha256

SOURCE_PREFIXES = ("hf-hub:", "local-dir:")
_PICKLE_SUFFIXES = (".bin", ".pth", ".pt", ".pth.tar", ".ckpt")
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


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


def _strip_wrapper_prefixes(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in _WRAPPER_PREFIXES:
        if state_dict and all(k.startswith(prefix) for k in state_dict):
            state_dict = {k[len(prefix):]: v for k, v in state_dict.items()}
    return state_dict


def read_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` state dict (no pickle), stripping ``module.``/``_orig_mod.`` wrapper prefixes.

    Raises:
        FileNotFoundError: missing file.
        ValueError: a file that is not safetensors (e.g. a pickled ``.pth``).
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    if not path.name.endswith(".safetensors"):
        raise ValueError(
            f"{path} is not a .safetensors file; eval-c reads weights only with safetensors (no pickle). Convert it, "
            "e.g. `safetensors.torch.save_file(torch.load(path, weights_only=True), 'model.safetensors')`"
        )
    return _strip_wrapper_prefixes(load_file(str(path)))


def _weights_in_folder(folder: Path) -> Path:
    candidate = folder / "model.safetensors"
    if candidate.is_file():
        return candidate
    others = sorted(folder.glob("*.safetensors"))
    if len(others) == 1:
        return others[0]
    pickled = sorted(p.name for p in folder.iterdir() if p.name.endswith(_PICKLE_SUFFIXES))
    hint = f" (found pickle files {pickled}, which eval-c does not read)" if pickled else ""
    if len(others) > 1:
        raise ValueError(f"{folder} holds several .safetensors files {[p.name for p in others]}; pass the file itself")
    raise FileNotFoundError(
        f"{folder} holds no model.safetensors{hint}; pass a timm `save_for_hf` folder (config.json + "
        "model.safetensors), an accelerate checkpoint folder, or a .safetensors file"
    )


def _classifier_out_features(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> int | None:
    names = model.pretrained_cfg.get("classifier") if hasattr(model, "pretrained_cfg") else None
    if not names:
        return None
    for name in (names,) if isinstance(names, str) else tuple(names):
        weight = state_dict.get(f"{name}.weight")
        if weight is not None and weight.ndim >= 1:
            return int(weight.shape[0])
    return None


def _load_state_dict(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        expected, given = set(model.state_dict()), set(state_dict)
        missing, unexpected = sorted(expected - given), sorted(given - expected)
        detail = []
        if missing:
            detail.append(f"missing keys {missing[:8]}{' ...' if len(missing) > 8 else ''}")
        if unexpected:
            detail.append(f"unexpected keys {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}")
        if not detail:
            detail.append(str(err).split("\n", 1)[-1].strip()[:500])
        raise ValueError(
            f"weights in {source} do not fit the model: {'; '.join(detail)}. Check that --model names the architecture "
            "the checkpoint was trained with, and that --num-classes matches its classifier"
        ) from None


def _read_config(folder: Path) -> dict[str, Any]:
    with open(folder / "config.json", encoding="utf-8") as fh:
        return json.load(fh)


def _create_from_folder(folder: Path, expected_arch: str | None, num_classes: int | None) -> tuple[nn.Module, Path]:
    """A ``save_for_hf`` folder: create the architecture from config.json, then load model.safetensors."""
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder} has no config.json; a local-dir model must be a timm `save_for_hf` folder "
            "(config.json + model.safetensors). For a bare checkpoint pass --model <timm name> --checkpoint <path>"
        )
    config = _read_config(folder)
    arch = config.get("architecture")
    if not arch:
        raise ValueError(f"{folder / 'config.json'} has no 'architecture' entry; it is not a timm model config")
    if expected_arch is not None and timm.models.split_model_name_tag(expected_arch)[0] != arch:
        raise ValueError(
            f"--model {expected_arch} but {folder / 'config.json'} describes a {arch}; pass --model {arch} "
            f"(or --model local-dir:{folder})"
        )
    saved_classes = config.get("num_classes")
    if num_classes is not None and saved_classes is not None and num_classes != saved_classes:
        raise ValueError(
            f"--num-classes {num_classes} but the checkpoint in {folder} has a {saved_classes}-class head; drop "
            "--num-classes or pass the matching value"
        )
    weights = _weights_in_folder(folder)
    model = timm.create_model(f"local-dir:{folder}", pretrained=False)
    _load_state_dict(model, read_safetensors(weights), str(weights))
    return model, weights


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
    weights_file: Path | None = None
    if spec.startswith("local-dir:"):
        if checkpoint is not None:
            raise ValueError("--checkpoint goes with a timm model name, not with a local-dir: model spec")
        model, weights_file = _create_from_folder(Path(spec[len("local-dir:"):]), None, num_classes)
    elif spec.startswith("hf-hub:"):
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
        arch = timm.models.split_model_name_tag(spec)[0]
        if not timm.is_model(arch):
            raise ValueError(
                f"unknown timm model {spec!r}; use a name from timm.list_models() (the plugin adds wrn40_2, "
                "allconvnet, densenet40_12, resnext29_4x32d, ...), hf-hub:org/name or local-dir:DIR"
            )
        if checkpoint is None:
            kwargs = {} if num_classes is None else {"num_classes": num_classes}
            try:
                model = timm.create_model(spec, pretrained=pretrained, **kwargs)
            except Exception as err:  # no pretrained weights for this name, or no network to fetch them
                raise ValueError(
                    f"could not load timm's pretrained weights for {spec}: {err}. Pass --checkpoint with your weights, "
                    "or --no-pretrained for a randomly initialised model"
                ) from None
        else:
            path = Path(checkpoint)
            if path.is_dir() and (path / "config.json").is_file():
                model, weights_file = _create_from_folder(path, spec, num_classes)
            else:
                weights_file = _weights_in_folder(path) if path.is_dir() else path
                state_dict = read_safetensors(weights_file)
                model = timm.create_model(spec, pretrained=False)
                head = _classifier_out_features(model, state_dict)
                wanted = num_classes if num_classes is not None else head
                if num_classes is not None and head is not None and head != num_classes:
                    raise ValueError(
                        f"--num-classes {num_classes} but the checkpoint {weights_file} has a {head}-class classifier; "
                        "drop --num-classes or pass the matching value"
                    )
                if wanted is not None and wanted != model.num_classes:
                    model.reset_classifier(wanted)
                _load_state_dict(model, state_dict, str(weights_file))
    model.eval()
    data_config = resolve_data_config(model, img_size)
    return LoadedModel(
        model=model,
        spec=spec,
        architecture=str(model.pretrained_cfg.get("architecture") or type(model).__name__),
        num_classes=int(model.num_classes),
        data_config=data_config,
        weights_sha256=state_dict_sha256(model.state_dict()),
        weights_file=None if weights_file is None else str(weights_file),
    )


def resolve_data_config(model: nn.Module, img_size: int | None = None) -> dict[str, Any]:
    """timm's data config of ``model`` (input size, interpolation, mean, std, crop), optionally at ``img_size``.

    Raises:
        ValueError: when ``img_size`` differs from a model whose pretrained_cfg declares a fixed input size.
    """
    from timm.data import resolve_model_data_config

    args: dict[str, Any] = {}
    if img_size is not None:
        if img_size < 1:
            raise ValueError(f"--img-size must be positive, got {img_size}")
        cfg = getattr(model, "pretrained_cfg", {}) or {}
        native = tuple(cfg.get("input_size", (3, img_size, img_size)))[1:]
        if cfg.get("fixed_input_size") and native != (img_size, img_size):
            raise ValueError(
                f"the model has a fixed input size {native[0]}x{native[1]} and cannot run at --img-size {img_size}; "
                "use -C data at the model's size"
            )
        channels = tuple(cfg.get("input_size", (3,)))[0]
        args["input_size"] = (channels, img_size, img_size)
    config = dict(resolve_model_data_config(model, args=args))
    config["mean"] = tuple(float(v) for v in config["mean"])
    config["std"] = tuple(float(v) for v in config["std"])
    config["input_size"] = tuple(int(v) for v in config["input_size"])
    return config
