"""Build a Hub-ready folder (weights, timm config, results, plots, model card) for a robust checkpoint.

The results must have been computed for exactly these weights (their sha256 is checked). Example:

    timm-augmix card --checkpoint runs/wrn40_2/final --results runs/wrn40_2/eval-c/results.json \\
        --recipe runs/wrn40_2/recipe.yaml --out hub/wrn40_2.augmix_cifar10 --repo-id my-org/wrn40_2.augmix_cifar10
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["COMMIT_LIMIT_MB", "add_arguments", "run"]

#: Weights above this size are published to the Hub but not committed under the repository's ``hub/`` folder.
COMMIT_LIMIT_MB = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``card`` options."""
    parser.add_argument("--checkpoint", required=True,
                        help="training's <out>/final folder (config.json + model.safetensors), a .safetensors file, or "
                             "a timm train.py checkpoint (.pth.tar; for its EMA weights `timm-augmix convert --ema`)")
    parser.add_argument("--results", required=True,
                        help="results.json written by `timm-augmix eval-c` for these weights")
    parser.add_argument("--recipe", default=None,
                        help="resolved recipe.yaml of the training run (default: looked up beside the checkpoint)")
    parser.add_argument("--out", required=True, help="folder to create, e.g. hub/<name>")
    parser.add_argument("--model", default=None,
                        help="timm architecture of a bare .safetensors file (default: the results' architecture)")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classes of a bare .safetensors file (default: the results' num_classes)")
    parser.add_argument("--name", default=None, help="model name in the card (default: the --out folder name)")
    parser.add_argument("--repo-id", default=None, help="org/name shown in the card's loading example")
    parser.add_argument("--dataset", default=None,
                        help="-C set named in the card, e.g. cifar10-c or cifar10-c-generated (default: the results')")
    parser.add_argument("--description", default=None, help="free text put at the top of the card body")
    parser.add_argument("--license", default="apache-2.0", help="license id for the card metadata")
    parser.add_argument("--input-size", type=int, nargs=3, default=None, metavar=("C", "H", "W"),
                        help="override the preprocessing input size recorded in config.json")
    parser.add_argument("--mean", type=float, nargs="+", default=None, help="override the normalisation mean")
    parser.add_argument("--std", type=float, nargs="+", default=None, help="override the normalisation std")
    parser.add_argument("--crop-pct", type=float, default=None, help="override the eval centre-crop fraction")
    parser.add_argument("--interpolation", default=None, help="override the resize interpolation (bilinear, bicubic)")
    parser.add_argument("--overwrite", action="store_true", help="rebuild an existing generated folder")


def run(args: argparse.Namespace) -> int:
    """Build the folder; returns 0, or 2 with a message when the inputs do not fit together."""
    from ..hub import build_hub_folder
    from ..utils.checkpoints import WEIGHTS_FILE

    data_config = {k: v for k, v in (("input_size", tuple(args.input_size) if args.input_size else None),
                                     ("mean", tuple(args.mean) if args.mean else None),
                                     ("std", tuple(args.std) if args.std else None),
                                     ("crop_pct", args.crop_pct), ("interpolation", args.interpolation))
                   if v is not None}
    try:
        out = build_hub_folder(
            args.checkpoint, args.results, args.out,
            recipe=args.recipe, model_name=args.model, num_classes=args.num_classes, card_name=args.name,
            repo_id=args.repo_id, license=args.license, description=args.description, dataset=args.dataset,
            data_config=data_config or None, overwrite=args.overwrite,
        )
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"timm-augmix card: error: {e}", file=sys.stderr)
        return 2
    files = sorted(p.name for p in out.iterdir())
    print(f"wrote {out}: {', '.join(files)}")
    size_mb = (out / WEIGHTS_FILE).stat().st_size / 2**20
    if size_mb > COMMIT_LIMIT_MB:
        print(f"note: {WEIGHTS_FILE} is {size_mb:.1f} MB (> {COMMIT_LIMIT_MB} MB): publish it, but do not commit it "
              "to the repository's hub/ folder.")
    print(f"check it offline: timm.create_model('local-dir:{out}', pretrained=True)")
    return 0
