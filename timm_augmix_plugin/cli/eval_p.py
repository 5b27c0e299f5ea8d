"""Evaluate a model's prediction stability on -P perturbation sequences (CIFAR-10-P, ImageNet-P, or generated).

Reads released CIFAR-10-P / CIFAR-100-P folders (<perturbation>.npy of shape (N, T, H, W, 3) + labels.npy), the frame
folders `timm-augmix make-p` writes for larger images, or makes the sequences on the fly from clean images
(--generate). Reports the flip probability per perturbation and its mean (mFP), the top-5 distance and its mean,
and mFR / mT5D against --baseline results. Writes them into the `perturbation` section of results.json (added to an
existing eval-c results.json of the same weights). Runs on several processes under `accelerate launch`.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["EPILOG", "add_arguments", "config_from_args", "format_summary", "main", "run"]

EPILOG = """examples:
  timm-augmix eval-p --model local-dir:runs/wrn40_2/final --p-data data/CIFAR-10-P --out eval/wrn40_2/results.json
  timm-augmix eval-p --model local-dir:runs/wrn40_2/final --generate --clean-data data/cifar10/test.tar \\
      --limit 1000 --out eval/quick/results.json
  timm-augmix eval-p --model local-dir:runs/augmix/final --p-data data/CIFAR-10-P \\
      --baseline eval/standard/results.json --out eval/augmix/results.json     (mFR / mT5D vs the baseline)
  accelerate launch --cpu --num_processes 2 -m timm_augmix_plugin.cli.eval_p --model ... --p-data ... --out ...
"""


def _names(value: str) -> list[str]:
    from ..perturbations.params import PERTURBATION_GROUPS

    if value in PERTURBATION_GROUPS:
        return list(PERTURBATION_GROUPS[value])
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated perturbation names, 'test', 'validation' or 'all'")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register eval-p's options on ``parser``."""
    from .shared_options import add_data_options, add_model_options, add_run_output_options

    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_options(parser, img_size_help="input size, overriding the model's pretrained_cfg")
    d = add_data_options(
        parser, data_flag="--p-data", data_help="-P folder: CIFAR-P .npy layout or make-p frame folders",
        layouts=("auto", "cifar", "frames"),
        clean_help="--generate: clean test images (folder or .tar of class folders, or a timm dataset name)",
        generate_help="make the sequences on the fly from --clean-data (the same as `make-p --seed`)",
        seed_help="seed of the generated sequences",
        size_table_help="--generate: parameter table (default: the model's input size)",
        size_table_choices=(32, 64, 224))
    d.add_argument("--perturbations", type=_names, default=None,
                   help="comma-separated names, 'test' (the 10, default), 'validation' (4) or 'all'")
    d.add_argument("--limit", type=int, default=None, help="at most N videos per perturbation (evenly spread)")
    d.add_argument("--dataset-name", default=None, help="name recorded in results.json (default: the folder name)")
    r = parser.add_argument_group("metrics")
    r.add_argument("--difficulty", type=int, default=1,
                   help="step between compared frames of the non-noise sequences (ImageNet-P: 1, 2 or 3; CIFAR-P: 1)")
    r.add_argument("--baseline", default=None,
                   help="results.json of a baseline model with -P results: mFR / mT5D normalised by it")
    add_run_output_options(parser, out_help="results.json path (an eval-c file of the same weights is extended)",
                           plots_help="flip_probability.png", batch_default=8,
                           batch_help="videos per batch and process")


def config_from_args(args: argparse.Namespace):
    """The :class:`~timm_augmix_plugin.evaluation.p_pipeline.EvalPConfig` of parsed arguments."""
    from ..evaluation.p_pipeline import EvalPConfig
    from .shared_options import config_from_args as build

    return build(EvalPConfig, args)


def format_summary(block: dict) -> str:
    """Plain-text table of a results ``perturbation`` section."""
    lines = [f"-P stability on {block['dataset']} ({block['num_videos']} videos per perturbation, difficulty "
             f"{block['difficulty']})", "  perturbation        flip prob. %   top-5 dist."]
    for n in block["perturbations"]:
        lines.append(f"  {n:18s} {block['flip_probability'][n]:10.2f}   {block['top5_distance'][n]:11.3f}")
    lines.append(f"  mFP {block['mean_flip_probability']:.2f} %, mean top-5 distance {block['mean_top5_distance']:.3f}"
                 f" (over {len(block['averaged_perturbations'])} perturbations)")
    if block.get("mfr") is not None:
        lines.append(f"  mFR {block['mfr']:.1f} %, mT5D {block['mt5d']:.1f} % (normalised by {block['normalizer']})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run eval-p; returns 0 on success, 2 for bad input (the message goes to stderr)."""
    from ..evaluation.p_pipeline import EvalPConfig, evaluate_perturbations
    from .shared_options import run_evaluation

    return run_evaluation(args, "eval-p", EvalPConfig, evaluate_perturbations,
                          lambda results: format_summary(results["perturbation"]))


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m timm_augmix_plugin.cli.eval_p``, ``accelerate launch -m ...``)."""
    from .shared_options import standalone_main

    return standalone_main("timm_augmix_plugin.cli.eval_p", "eval-p", argv)


if __name__ == "__main__":
    sys.exit(main())
