"""Train a small WRN with AugMix + JSD on embedded synthetic data (no download, about a minute on 2 CPU cores).

Writes ``recipe.yaml``, ``metrics.jsonl``, ``metrics.png``, ``checkpoints/`` and ``final/`` (a timm
``save_for_hf`` folder) under ``--out``. The recipe is ``recipes/quickstart.yaml``, installed with the package.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_arguments", "quickstart_recipe", "run"]


def quickstart_recipe(out: str | None = None, overrides: list[str] | tuple[str, ...] = ()):
    """The packaged ``quickstart`` :class:`~timm_augmix_plugin.train.Recipe`, optionally writing to ``out``."""
    from timm_augmix_plugin.train.recipe import load_recipe

    extra = [f"train.output_dir={json.dumps(str(out))}"] if out is not None else []  # quoted: any path is a string
    return load_recipe("quickstart", [*extra, *overrides])


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
