"""Convert a checkpoint (e.g. timm train.py's model_best.pth.tar) into a timm save_for_hf folder (safetensors).

The folder (``config.json`` + ``model.safetensors``) loads with ``timm.create_model('local-dir:<folder>',
pretrained=True)`` and is what ``eval-c``, ``card`` and ``validate.py`` take. timm ``train.py`` checkpoints are read
without running pickled code (tensors, containers and its ``argparse.Namespace`` args only); architecture and classes
come from those args. ``--ema`` takes the EMA weights (``state_dict_ema``); ``--trust-pickle`` reads any pickle, for
files from a trusted source that hold other classes.

Example:

    timm-augmix convert output/train/<run>/model_best.pth.tar --out hub/wrn16_1.timm_train --ema
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``convert`` options."""
    parser.add_argument("checkpoint", help="timm train.py checkpoint (.pth.tar), torch state dict, .safetensors file "
                                           "or save_for_hf folder")
    parser.add_argument("--out", required=True, help="save_for_hf folder to write (must not exist)")
    parser.add_argument("--model", default=None,
                        help="timm architecture (default: the one the checkpoint records, e.g. train.py's args.model)")
    parser.add_argument("--num-classes", type=int, default=None, help="classifier size (default: the checkpoint's)")
    parser.add_argument("--ema", action="store_true", help="train.py checkpoints: the EMA weights (state_dict_ema)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="unpickle any class (weights_only=False); only for files from a trusted source")


def run(args: argparse.Namespace) -> int:
    """Write the folder; returns 0, or 2 with a message for a checkpoint that cannot be read or does not fit."""
    from pathlib import Path

    from timm.models import save_for_hf

    from ..utils.checkpoints import load_trained_model

    out = Path(args.out)
    if out.exists():
        print(f"timm-augmix convert: error: {out} exists; pass a new --out folder", file=sys.stderr)
        return 2
    try:
        loaded = load_trained_model(args.checkpoint, model_name=args.model, num_classes=args.num_classes,
                                    use_ema=args.ema, trust_pickle=args.trust_pickle)
    except (ValueError, FileNotFoundError) as e:
        print(f"timm-augmix convert: error: {e}", file=sys.stderr)
        return 2
    cfg = loaded.model.pretrained_cfg
    data_config = {k: cfg[k] for k in ("input_size", "mean", "std", "crop_pct", "interpolation") if k in cfg}
    save_for_hf(loaded.model, str(out), safe_serialization=True, data_config=data_config)
    print(f"wrote {out} ({loaded.architecture}, weights sha256 {loaded.weights_sha256[:12]}...); load it with "
          f"timm.create_model('local-dir:{out}', pretrained=True) or pass it to eval-c / card")
    return 0
