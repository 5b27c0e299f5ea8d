"""Train a small WRN with AugMix + JSD on embedded synthetic data (no download, about a minute on 2 CPU cores).

Writes ``recipe.yaml``, ``metrics.jsonl``, ``metrics.png``, ``checkpoints/`` and ``final/`` (a timm
``save_for_hf`` folder) under ``--out``. The recipe is the one in ``recipes/quickstart.yaml``; it is embedded here
so that the command also works from an installed package.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["QUICKSTART_RECIPE", "add_arguments", "quickstart_recipe", "run"]

#: The quickstart recipe (kept identical to ``recipes/quickstart.yaml``; a test checks it).
QUICKSTART_RECIPE: dict[str, Any] = {
    "name": "quickstart",
    "description": "Quickstart: WRN-16-1, AugMix + JSD, embedded synthetic 10-class 32x32 data",
    "model": {"name": "wrn16_1"},
    "data": {"dataset": "synthetic", "num_classes": 10, "img_size": 32, "preset": "cifar", "batch_size": 32,
             "num_workers": 1, "train_samples": 1536, "eval_samples": 500},
    "augmix": {"enabled": True, "policy": "augmix_paper", "num_splits": 3},
    "loss": {"type": "ce", "jsd": True, "jsd_alpha": 12.0},
    "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4},
    "sched": {"name": "cosine", "min_lr": 1e-6},
    "train": {"epochs": 3, "seed": 1, "output_dir": "runs/quickstart", "log_every_steps": 8,
              "channels_last": True},
    "eval": {"batch_size": 500},
}


def quickstart_recipe(out: str | None = None, overrides: list[str] | tuple[str, ...] = ()):
    """The quickstart :class:`~timm_augmix_plugin.train.Recipe`, optionally writing to ``out`` and overridden."""
    from timm_augmix_plugin.train.recipe import Recipe, apply_overrides

    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in QUICKSTART_RECIPE.items()}
    if out is not None:
        raw["train"]["output_dir"] = str(out)
    return Recipe.from_dict(apply_overrides(raw, overrides), source="quickstart")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``quickstart`` options."""
    parser.add_argument("--out", default="runs/quickstart", help="output directory (default: runs/quickstart)")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value",
                        help="optional recipe overrides, e.g. train.epochs=5 loss.jsd=false augmix.num_splits=1")


def run(args: argparse.Namespace) -> int:
    """Train the quickstart recipe and print where the outputs are; returns the exit code."""
    from timm_augmix_plugin.train import NonFiniteLossError, train
    from timm_augmix_plugin.train.metrics_log import read_metrics

    try:
        recipe = quickstart_recipe(args.out, args.overrides)
        result = train(recipe)
    except (ValueError, TypeError, FileNotFoundError, NonFiniteLossError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(result.output_dir)
    train_records = read_metrics(out / "metrics.jsonl", "train")
    evals = read_metrics(out / "metrics.jsonl", "eval")
    print()
    if train_records:
        print(f"Training loss: {train_records[0]['loss']:.3f} (update {train_records[0]['step']}) -> "
              f"{train_records[-1]['loss']:.3f} (update {train_records[-1]['step']})")
    if evals:
        print("Clean error per epoch: " + ", ".join(f"{e['clean_error']:.1f}%" for e in evals))
    print(f"Outputs in {out}/:")
    print("  recipe.yaml     the resolved recipe (rerun: accelerate launch -m timm_augmix_plugin.train "
          f"--recipe {out}/recipe.yaml)")
    print("  metrics.jsonl   loss parts, lr and throughput per logging step; clean error per epoch")
    print("  metrics.png     the same as a plot")
    print("  checkpoints/    Accelerate state; relaunching the same command resumes from the latest")
    print(f"  final/          weights: timm.create_model('local-dir:{out}/final', pretrained=True)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``quickstart`` on its own (``python -m timm_augmix_plugin.cli.quickstart``)."""
    parser = argparse.ArgumentParser(prog="timm-augmix quickstart", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
