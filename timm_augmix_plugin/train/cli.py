"""Command line of the trainer: ``--recipe FILE`` plus dotted ``section.key=value`` overrides.

Example:
    accelerate launch -m timm_augmix_plugin.train --recipe recipes/cpu_cifar10_wrn16_1_augmix_jsd.yaml optim.lr=0.05
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The trainer's argument parser."""
    parser = argparse.ArgumentParser(
        prog="accelerate launch -m timm_augmix_plugin.train",
        description="Train a timm model with AugMix (+JSD) from a YAML recipe; resumes automatically from the "
                    "newest checkpoint in the output directory.")
    parser.add_argument("--recipe", required=True, help="YAML recipe file, e.g. recipes/quickstart.yaml")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value",
                        help="override recipe values, e.g. optim.lr=0.05 train.epochs=2 train.output_dir=runs/x")
    parser.add_argument("--print-recipe", action="store_true",
                        help="print the resolved recipe as YAML and exit without training")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, load and validate the recipe, train. Returns the process exit code."""
    from ..utils.cpu_processes import maybe_relaunch

    relaunched = maybe_relaunch("timm_augmix_plugin.train", sys.argv[1:] if argv is None else argv)
    if relaunched is not None:
        return relaunched
    args = build_parser().parse_args(argv)
    from .recipe import load_recipe

    try:
        recipe = load_recipe(args.recipe, args.overrides)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.print_recipe:
        import yaml

        print(yaml.safe_dump(recipe.to_dict(), sort_keys=False, default_flow_style=None), end="")
        return 0
    from .engine import NonFiniteLossError, train

    try:
        train(recipe)
    except (ValueError, FileNotFoundError, NonFiniteLossError) as err:
        from ..utils.errors import user_message

        print(f"error: {user_message(err)}", file=sys.stderr)
        return 2 if not isinstance(err, NonFiniteLossError) else 3
    return 0
