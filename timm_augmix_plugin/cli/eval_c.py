"""Evaluate a model on a corruption benchmark (CIFAR-10/100-C, ImageNet-C, or generated) and write results.json + plots.

Reads released -C sets (CIFAR layout <corruption>.npy + labels.npy; ImageNet-C layout
<corruption>/<severity>/<class>/*.JPEG) or generates the corruptions on the fly from clean data (--generate).
Reports errors per corruption and severity, the CIFAR-style mean corruption error, mCE / relative mCE (AlexNet-
normalised for ImageNet-C, or normalised by --baseline results), and RMS calibration error, ECE and NLL on clean and
corrupted data. Runs on several processes under `accelerate launch`.
"""
from __future__ import annotations

import argparse
import sys

from ..corruptions import BENCHMARK_CORRUPTIONS, EXTRA_CORRUPTIONS

__all__ = ["EPILOG", "add_arguments", "config_from_args", "format_summary", "main", "run"]


def _corruption_list(value: str) -> list[str]:
    if value == "benchmark":
        return list(BENCHMARK_CORRUPTIONS)
    if value == "all":
        return list(BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS)
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated corruption names, 'benchmark' or 'all'")
    return names


def _severity_list(value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers in 1..5, got {value!r}") from None


EPILOG = """examples:
  timm-augmix eval-c --model wrn40_2 --checkpoint runs/wrn40_2/final --c-data data/CIFAR-10-C \\
      --clean-data data/cifar10/test.tar --out eval/wrn40_2/results.json
  timm-augmix eval-c --model local-dir:runs/wrn40_2/final --generate --clean-data data/cifar10/test.tar \\
      --limit 1000 --out eval/quick/results.json
  accelerate launch --num_processes 2 -m timm_augmix_plugin.cli.eval_c --model ... --c-data ... --out ...
      (2 GPUs; `accelerate launch --cpu --num_processes 2 ...` starts 2 CPU processes)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register eval-c's options on ``parser`` (and its examples as the epilog)."""
    from .shared_options import add_data_options, add_model_options, add_run_output_options

    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_model_options(parser, img_size_help="input size to evaluate at, overriding the model's pretrained_cfg "
                                            "(must match the -C images)")

    d = add_data_options(
        parser, data_flag="--c-data", data_help="-C set folder (CIFAR .npy layout or ImageNet-C folder layout)",
        layouts=("auto", "cifar", "imagenet"),
        clean_help="clean test images: folder or .tar of class folders, or a timm dataset name (torch/cifar10)",
        generate_help="corrupt --clean-data on the fly with timm_augmix_plugin.corruptions.corrupt instead of reading "
                      "--c-data",
        seed_help="seed of the generated corruptions (per sample derived)",
        size_table_help="--generate: corruption parameter table (32, 64 or 224; default: by image size)")
    d.add_argument("--corruptions", type=_corruption_list, default=None,
                   help="comma-separated names, 'benchmark' (the 15, default) or 'all' (15 + 4 extra)")
    d.add_argument("--severities", type=_severity_list, default=[1, 2, 3, 4, 5], help="comma-separated, default 1..5")
    d.add_argument("--limit", type=int, default=None,
                   help="at most N images per split (evenly spread; the same indices for clean and every severity)")
    d.add_argument("--dataset-name", default=None, help="name recorded in results.json (default: the folder name)")

    r = parser.add_argument_group("metrics")
    r.add_argument("--benchmark-style", choices=("auto", "cifar", "imagenet"), default="auto",
                   help="imagenet: mCE normalised by AlexNet; cifar: unnormalised mean error, mCE only with --baseline "
                        "(auto: imagenet for 1000-class 224px models on folder/generated data)")
    r.add_argument("--baseline", default=None,
                   help="results.json of a baseline model to normalise CE/mCE and relative mCE by (instead of AlexNet)")
    r.add_argument("--rms-reference-quirk", action="store_true",
                   help="RMS calibration error as the reference code computes it (skips the last adaptive bin); "
                        "default counts all bins")
    r.add_argument("--rms-bin-size", type=int, default=100, help="samples per adaptive RMS bin (default 100)")
    r.add_argument("--ece-bins", type=int, default=15, help="equal-width bins for ECE and reliability plots")

    add_run_output_options(parser, out_help="results.json path", plots_help="the PNG plots", batch_default=256,
                           batch_help="per-process batch size")


def config_from_args(args: argparse.Namespace):
    """The :class:`~timm_augmix_plugin.evaluation.pipeline.EvalCConfig` of parsed arguments."""
    from ..evaluation.pipeline import EvalCConfig
    from .shared_options import config_from_args as build

    return build(EvalCConfig, args)


def format_summary(results: dict) -> str:
    """Plain-text summary of eval-c results: errors, mCE and calibration."""
    lines = [f"{results['model']} on {results['dataset']} ({results['num_corrupted_samples']} corrupted samples)"]
    if results["clean_error"] is not None:
        lines.append(f"  clean error               {results['clean_error']:7.2f} %")
    averaged = results.get("averaged_corruptions") or results["corruptions"]
    over = f"  (over {len(averaged)} corruptions)" if len(averaged) != len(BENCHMARK_CORRUPTIONS) else ""
    lines.append(f"  mean corruption error     {results['mean_corruption_error']:7.2f} %{over}")
    if results["mce"] is not None:
        lines.append(f"  mCE ({results['mce_normalizer']})".ljust(28) + f"{results['mce']:7.2f}")
    if results["relative_mce"] is not None:
        lines.append(f"  relative mCE              {results['relative_mce']:7.2f}")
    for name in ("clean", "corrupted"):
        block = results[name]
        if block is not None:
            lines.append(f"  {name:9s} RMS calib {block['rms_calibration_error']:6.2f} %  ECE {block['ece']:6.2f} %  "
                         f"NLL {block['nll']:.4f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run eval-c; returns 0 on success, 2 for bad input (the message goes to stderr)."""
    from ..evaluation.pipeline import EvalCConfig, evaluate_corruptions
    from .shared_options import run_evaluation

    return run_evaluation(args, "eval-c", EvalCConfig, evaluate_corruptions, format_summary)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m timm_augmix_plugin.cli.eval_c``, ``accelerate launch -m ...``)."""
    from .shared_options import standalone_main

    return standalone_main("timm_augmix_plugin.cli.eval_c", "eval-c", argv)


if __name__ == "__main__":
    sys.exit(main())
