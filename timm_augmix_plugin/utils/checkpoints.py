"""Loading trained weights into timm models without executing pickled code.

One loader serves every command that takes a checkpoint (``eval-c``, ``card``, ``convert``): a timm ``save_for_hf``
folder (``config.json`` + ``model.safetensors``, e.g. training's ``<out>/final``), a bare ``.safetensors`` file, or a
folder holding one (an accelerate checkpoint folder), the last two together with the timm architecture name; and a
checkpoint written by timm's ``train.py`` (``model_best.pth.tar``, ``last.pth.tar``, ``checkpoint-N.pth.tar``).

Torch files are read with ``torch.load(weights_only=True)``, which only rebuilds tensors and plain containers, plus
the one harmless class timm's ``train.py`` stores, ``argparse.Namespace`` (its ``args``; :data:`SAFE_PICKLE_TYPES`).
The architecture, classifier size and ``model_kwargs`` come from those ``args``; the weights from ``state_dict``
(``use_ema=True``: ``state_dict_ema``). Split-BN auxiliary statistics are dropped (evaluation uses the main BN).
Weights load strictly, and the result carries :func:`~timm_augmix_plugin.utils.weights_hash.state_dict_sha256` of
the loaded model.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .weights_hash import state_dict_sha256

__all__ = [
    "CONFIG_FILE", "LoadedCheckpoint", "PICKLE_SUFFIXES", "SAFE_PICKLE_TYPES", "TorchCheckpoint", "WEIGHTS_FILE",
    "load_state_dict_strict", "load_trained_model", "read_model_config", "read_safetensors", "read_torch_checkpoint",
    "require_known_model", "strip_wrapper_prefixes", "weights_in_folder"
]

#: The weights and config files of a timm ``save_for_hf`` folder (training's ``<out>/final``, a card folder); every
#: module that names them imports them from here.
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
PICKLE_SUFFIXES = (".bin", ".pth", ".pt", ".pth.tar", ".ckpt")
#: Classes ``torch.load(weights_only=True)`` may rebuild besides tensors and plain containers: timm train.py's ``args``.
SAFE_PICKLE_TYPES: tuple[type, ...] = (argparse.Namespace,)
#: Data-config entries of timm train.py's ``args`` that override the model's pretrained cfg when set.
_ARGS_DATA_CONFIG = ("mean", "std", "input_size", "crop_pct", "interpolation")
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


@dataclass
class LoadedCheckpoint:
    """A timm model holding a checkpoint's weights.

    Attributes:
        model: The model in eval mode on CPU, with ``pretrained_cfg`` describing its preprocessing.
        architecture: timm model name without pretrained tag (``config.json``'s ``architecture`` for folders).
        weights_sha256: :func:`~timm_augmix_plugin.utils.weights_hash.state_dict_sha256` of the model's weights as
            loaded (the hash eval-c records and model cards check).
        source: The ``.safetensors`` file the weights came from.
    """

    model: nn.Module
    architecture: str
    weights_sha256: str
    source: Path


def strip_wrapper_prefixes(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop a ``module.`` (DDP) or ``_orig_mod.`` (torch.compile) prefix shared by every key."""
    for prefix in _WRAPPER_PREFIXES:
        if state_dict and all(k.startswith(prefix) for k in state_dict):
            state_dict = {k[len(prefix):]: v for k, v in state_dict.items()}
    return state_dict


def read_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` state dict on CPU (no pickle), stripping ``module.``/``_orig_mod.`` prefixes.

    Raises:
        FileNotFoundError: missing file.
        ValueError: a file that is not safetensors (e.g. a pickled ``.pth``).
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"weights file {path} does not exist; pass training's <out>/final folder (config.json + "
            "model.safetensors) or a .safetensors file"
        )
    if not path.name.endswith(".safetensors"):
        raise ValueError(
            f"{path} is not a .safetensors file. Pass a .safetensors file, a timm train.py checkpoint (.pth.tar, "
            ".pth, .pt, .bin, .ckpt), or a timm save_for_hf folder (config.json + model.safetensors)"
        )
    try:
        state_dict = load_file(str(path), device="cpu")
    except Exception as err:  # safetensors raises its own SafetensorError (and OSError / ValueError) on bad files
        raise ValueError(
            f"{path} is not a readable safetensors file ({type(err).__name__}: {err}); it is truncated or corrupt. "
            "Copy or export it again (training writes <out>/final/model.safetensors)"
        ) from None
    return strip_wrapper_prefixes(state_dict)


def weights_in_folder(folder: Path) -> Path:
    """The weights file of a checkpoint folder: ``model.safetensors``, else its only ``.safetensors`` file.

    Raises:
        FileNotFoundError: no safetensors weights (pickled files found there are named in the message).
        ValueError: several ``.safetensors`` files and none named ``model.safetensors``.
    """
    candidate = folder / WEIGHTS_FILE
    if candidate.is_file():
        return candidate
    others = sorted(folder.glob("*.safetensors"))
    if len(others) == 1:
        return others[0]
    if len(others) > 1:
        raise ValueError(f"{folder} holds several .safetensors files {[p.name for p in others]}; pass the file itself")
    pickled = sorted(p.name for p in folder.iterdir() if p.name.endswith(PICKLE_SUFFIXES))
    if pickled:
        best = "model_best.pth.tar" if "model_best.pth.tar" in pickled else pickled[0]
        raise FileNotFoundError(
            f"{folder} holds no {WEIGHTS_FILE} but torch checkpoint files {pickled}; pass one of them itself, e.g. "
            f"--checkpoint {folder / best}"
        )
    raise FileNotFoundError(
        f"{folder} holds no {WEIGHTS_FILE}. Pass a timm `save_for_hf` folder (config.json + model.safetensors), an "
        "accelerate checkpoint folder, a .safetensors file or a timm train.py checkpoint (.pth.tar)"
    )


def require_known_model(name: str, *, hint: str = "") -> None:
    """Raise ``ValueError`` unless ``name`` (tag allowed) is a registered timm architecture."""
    import timm

    if not timm.is_model(timm.models.split_model_name_tag(name)[0]):
        raise ValueError(
            f"unknown timm model {name!r}; use a name from timm.list_models() (the paper's CIFAR models wrn40_2, "
            f"allconvnet, densenet40_12, resnext29_4x32d, ... need `import timm_augmix_plugin`){hint}"
        )


def load_state_dict_strict(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """``model.load_state_dict(state_dict, strict=True)`` with a ``ValueError`` naming the keys that do not fit."""
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
        arch = getattr(model, "pretrained_cfg", {}).get("architecture") or type(model).__name__
        raise ValueError(
            f"weights in {source} do not fit the model ({arch}, num_classes={getattr(model, 'num_classes', '?')}): "
            f"{'; '.join(detail)}. Check that --model names the architecture the checkpoint was trained with, and "
            "that --num-classes matches its classifier (a folder's config.json decides both)"
        ) from None


def read_model_config(folder: Path) -> dict[str, Any]:
    """The ``config.json`` of a timm ``save_for_hf`` folder.

    Raises:
        FileNotFoundError: no ``config.json``.
        ValueError: it is not JSON or has no ``architecture``.
    """
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} has no {CONFIG_FILE}; pass a timm `save_for_hf` folder (config.json + model.safetensors, e.g. "
            "training's <out>/final), or a bare checkpoint (.safetensors file or accelerate checkpoint folder) "
            "together with --model <timm name> (and --num-classes)"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); re-save the model with timm's save_for_hf") from None
    if not isinstance(config, dict) or not config.get("architecture"):
        raise ValueError(f"{path} has no 'architecture' entry; it was not written by timm's save_for_hf")
    return config


def _classifier_out_features(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> int | None:
    names = model.pretrained_cfg.get("classifier") if hasattr(model, "pretrained_cfg") else None
    if not names:
        return None
    for name in (names,) if isinstance(names, str) else tuple(names):
        weight = state_dict.get(f"{name}.weight")
        if weight is not None and weight.ndim >= 1:
            return int(weight.shape[0])
    return None


def _from_folder(folder: Path, model_name: str | None, num_classes: int | None) -> tuple[nn.Module, str, Path]:
    import timm

    config = read_model_config(folder)
    arch = str(config["architecture"])
    if model_name is not None and timm.models.split_model_name_tag(model_name)[0] != arch:
        raise ValueError(
            f"--model {model_name} but {folder / CONFIG_FILE} describes a {arch}; pass --model {arch} "
            f"(or --model local-dir:{folder})"
        )
    saved_classes = config.get("num_classes")
    if num_classes is not None and saved_classes is not None and num_classes != saved_classes:
        raise ValueError(
            f"--num-classes {num_classes} but the checkpoint in {folder} has a {saved_classes}-class head; drop "
            "--num-classes or pass the matching value"
        )
    require_known_model(arch)
    weights = weights_in_folder(folder)
    # architecture, model_args and pretrained_cfg come from config.json; the weights are loaded strictly below
    model = timm.create_model(f"local-dir:{folder}", pretrained=False)
    load_state_dict_strict(model, read_safetensors(weights), str(weights))
    return model, arch, weights


def _from_weights_file(weights: Path, model_name: str, num_classes: int | None) -> tuple[nn.Module, str]:
    import timm

    state_dict = read_safetensors(weights)
    model = timm.create_model(model_name, pretrained=False)
    head = _classifier_out_features(model, state_dict)
    if num_classes is not None and head is not None and head != num_classes:
        raise ValueError(
            f"--num-classes {num_classes} but the checkpoint {weights} has a {head}-class classifier; "
            "drop --num-classes or pass the matching value"
        )
    wanted = num_classes if num_classes is not None else head
    if wanted is not None and wanted != model.num_classes:
        model.reset_classifier(wanted)
    load_state_dict_strict(model, state_dict, str(weights))
    arch = model.pretrained_cfg.get("architecture") or timm.models.split_model_name_tag(model_name)[0]
    return model, str(arch)


@dataclass
class TorchCheckpoint:
    """Weights and model description read from a torch checkpoint file (timm ``train.py`` or a bare state dict).

    Attributes:
        state_dict: The weights (wrapper prefixes and split-BN auxiliary entries removed).
        architecture: ``args.model`` (or ``arch``) of a timm train.py checkpoint, else None.
        num_classes: ``args.num_classes`` when recorded, else None.
        model_kwargs: ``args.model_kwargs`` (and ``in_chans``) of the training run.
        data_config: the ``mean``/``std``/``input_size``/``crop_pct``/``interpolation`` set in ``args``.
    """

    state_dict: dict[str, torch.Tensor]
    architecture: str | None
    num_classes: int | None
    model_kwargs: dict[str, Any]
    data_config: dict[str, Any]


def _torch_load(path: Path, trust_pickle: bool) -> object:
    if trust_pickle:
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        with torch.serialization.safe_globals(list(SAFE_PICKLE_TYPES)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        reason = f"e.g. {found.group(1)}" if found else "see torch.load(weights_only=True)"
        raise ValueError(
            f"{path} holds pickled objects other than tensors, plain containers and argparse.Namespace ({reason}); "
            "they are not unpickled, because unpickling can run code. If you trust the file, convert it once: "
            f"`timm-augmix convert {path} --out <folder> --trust-pickle` (add --model NAME if it does not record "
            "its architecture), then pass the folder"
        ) from None
    except (RuntimeError, EOFError) as err:
        raise ValueError(f"{path} is not a readable torch checkpoint ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from None


def read_torch_checkpoint(path: str | os.PathLike, *, use_ema: bool = False,
                          trust_pickle: bool = False) -> TorchCheckpoint:
    """Read a timm ``train.py`` checkpoint (or a torch file holding a bare state dict) without running pickled code.

    Args:
        path: ``.pth.tar`` / ``.pth`` / ``.pt`` / ``.bin`` / ``.ckpt`` file.
        use_ema: take ``state_dict_ema`` (the EMA weights of ``train.py --model-ema``) instead of ``state_dict``.
        trust_pickle: unpickle any class (``weights_only=False``); only for files from a trusted source.

    Raises:
        ValueError: other pickled classes than :data:`SAFE_PICKLE_TYPES` (without ``trust_pickle``), no weights, or
            no ``state_dict_ema`` with ``use_ema``.
    """
    path = Path(path)
    obj = _torch_load(path, trust_pickle)
    if not isinstance(obj, dict):
        raise ValueError(  # noqa: TRY004  (a bad input file, reported like the other checkpoint errors)
            f"{path} holds a {type(obj).__name__}, not a state dict or a timm train.py checkpoint")
    key = "state_dict_ema" if use_ema else "state_dict"
    if "state_dict" in obj or "state_dict_ema" in obj:
        if key not in obj:
            raise ValueError(f"{path} has no {key!r} (it holds {sorted(obj)}); "
                             + ("drop --ema to use 'state_dict'" if use_ema else "pass --ema to use 'state_dict_ema'"))
        state_dict = obj[key]
    elif obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        if use_ema:
            raise ValueError(f"{path} is a bare state dict without EMA weights; drop --ema")
        state_dict = obj
    else:
        raise ValueError(f"{path} has neither 'state_dict' nor only tensors (keys {sorted(obj)[:10]}); it is not a "
                         "timm train.py checkpoint or a state dict")
    state_dict = {k: v for k, v in strip_wrapper_prefixes(dict(state_dict)).items() if ".aux_bn." not in f".{k}"}
    args = obj.get("args")
    args = vars(args) if isinstance(args, argparse.Namespace) else (args if isinstance(args, dict) else {})
    arch = args.get("model") or (obj.get("arch") if isinstance(obj.get("arch"), str) else None)
    model_kwargs = dict(args.get("model_kwargs") or {})
    if args.get("in_chans") is not None:
        model_kwargs.setdefault("in_chans", int(args["in_chans"]))
    data_config = {k: args[k] for k in _ARGS_DATA_CONFIG if args.get(k)}  # unset: None, or '' for interpolation
    num_classes = args.get("num_classes")
    return TorchCheckpoint(state_dict=state_dict, architecture=arch,
                           num_classes=int(num_classes) if num_classes is not None else None,
                           model_kwargs=model_kwargs, data_config=data_config)


def _from_torch_file(path: Path, model_name: str | None, num_classes: int | None,
                     use_ema: bool, trust_pickle: bool) -> tuple[nn.Module, str]:
    import timm

    ckpt = read_torch_checkpoint(path, use_ema=use_ema, trust_pickle=trust_pickle)
    if model_name is None:
        if ckpt.architecture is None:
            raise ValueError(
                f"{path} does not record its architecture (no train.py args); say which timm model it belongs to "
                "with --model (e.g. --model wrn40_2)"
            )
        model_name = ckpt.architecture
    elif ckpt.architecture is not None and (timm.models.split_model_name_tag(model_name)[0]
                                            != timm.models.split_model_name_tag(ckpt.architecture)[0]):
        raise ValueError(f"--model {model_name} but {path} was trained as {ckpt.architecture}; pass "
                         f"--model {ckpt.architecture} or drop --model")
    if num_classes is not None and ckpt.num_classes is not None and num_classes != ckpt.num_classes:
        raise ValueError(f"--num-classes {num_classes} but {path} was trained with {ckpt.num_classes} classes; drop "
                         "--num-classes or pass the matching value")
    require_known_model(model_name)
    model = timm.create_model(model_name, pretrained=False, **ckpt.model_kwargs)
    head = _classifier_out_features(model, ckpt.state_dict)
    wanted = next((n for n in (num_classes, ckpt.num_classes, head) if n is not None), None)
    if wanted is not None and wanted != model.num_classes:
        model.reset_classifier(wanted)
    load_state_dict_strict(model, ckpt.state_dict, str(path))
    if ckpt.data_config:
        cfg = dict(ckpt.data_config)
        for key in ("mean", "std", "input_size"):
            if key in cfg:
                cfg[key] = tuple(cfg[key])
        model.pretrained_cfg = {**model.pretrained_cfg, **cfg}
    arch = model.pretrained_cfg.get("architecture") or timm.models.split_model_name_tag(model_name)[0]
    return model, str(arch)


def load_trained_model(
    checkpoint: str | os.PathLike,
    *,
    model_name: str | None = None,
    num_classes: int | None = None,
    use_ema: bool = False,
    trust_pickle: bool = False,
) -> LoadedCheckpoint:
    """Build the timm model of a checkpoint and load its safetensors weights strictly, in eval mode on CPU.

    Args:
        checkpoint: A ``save_for_hf`` folder (``config.json`` + ``model.safetensors``), a ``.safetensors`` file, a
            folder without ``config.json`` holding one (e.g. an accelerate checkpoint folder), or a timm train.py
            checkpoint (``.pth.tar``; architecture and classes from its ``args``).
        model_name: timm name (tag allowed) of the architecture. Required for a bare file or folder without
            ``config.json`` (and a torch file without train.py ``args``); otherwise it must agree with the checkpoint.
        num_classes: Classifier size; by default ``config.json``'s, or read off the classifier weights of a bare file.
            A value that contradicts the checkpoint is refused.
        use_ema: timm train.py checkpoints only: load ``state_dict_ema`` instead of ``state_dict``.
        trust_pickle: torch files only: unpickle any class (only for files from a trusted source).

    Raises:
        FileNotFoundError: the checkpoint, its ``config.json`` (no ``model_name``) or its weights do not exist.
        ValueError: pickled classes beyond :data:`SAFE_PICKLE_TYPES`, an unknown architecture, or weights that do not
            fit the architecture.
    """
    path = Path(checkpoint)
    if not path.exists():
        raise FileNotFoundError(
            f"checkpoint {path} does not exist; pass training's <out>/final folder (config.json + model.safetensors) "
            "or a .safetensors file"
        )
    if path.is_file() and path.name.endswith(PICKLE_SUFFIXES):
        model, arch = _from_torch_file(path, model_name, num_classes, use_ema, trust_pickle)
        weights = path
    elif use_ema:
        raise ValueError(f"--ema applies to timm train.py checkpoints (.pth.tar), not to {path}")
    elif path.is_dir() and (model_name is None or (path / CONFIG_FILE).is_file()):
        model, arch, weights = _from_folder(path, model_name, num_classes)
    else:
        if path.is_file() and not path.name.endswith(".safetensors"):
            read_safetensors(path)  # raises its "not a .safetensors file" error, naming the accepted forms
        if not model_name:
            raise ValueError(
                f"{path} is a bare weights file; say which timm architecture it belongs to with --model "
                "(e.g. --model wrn40_2), or pass a save_for_hf folder (config.json + model.safetensors) instead"
            )
        require_known_model(model_name)
        weights = weights_in_folder(path) if path.is_dir() else path
        model, arch = _from_weights_file(weights, model_name, num_classes)
    model.eval()
    return LoadedCheckpoint(model=model, architecture=arch, weights_sha256=state_dict_sha256(model.state_dict()),
                            source=weights)
