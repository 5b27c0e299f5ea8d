"""Command-line options that several subcommands share, defined once.

``eval-c`` and ``eval-p`` load a model the same way (:func:`add_model_options`) and share their run/output options
(:func:`add_run_output_options`); ``make-c`` and ``make-p`` read their source images and split their work the same way
(:func:`add_source_options`, :func:`add_work_options`).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["add_model_options", "add_run_output_options", "add_source_options", "add_work_options",
           "expand_names", "resolve_generation"]


def add_model_options(parser: argparse.ArgumentParser, img_size_help: str) -> None:
    """The "model" group: ``--model``, ``--checkpoint``, ``--num-classes``, ``--img-size``, ``--no-pretrained``."""
    m = parser.add_argument_group("model")
    m.add_argument("--model", required=True,
                   help="timm model name (e.g. wrn40_2, resnet50.a1_in1k), hf-hub:org/name or local-dir:DIR")
    m.add_argument("--checkpoint", default=None,
                   help="with a timm name: .safetensors file, folder with model.safetensors (training final/ or "
                        "checkpoint folder), or timm train.py checkpoint (.pth.tar; EMA weights: `timm-augmix convert "
                        "--ema`)")
    m.add_argument("--num-classes", type=int, default=None, help="classifier size (default: from the checkpoint)")
    m.add_argument("--img-size", type=int, default=None, help=img_size_help)
    m.add_argument("--no-pretrained", dest="pretrained", action="store_false",
                   help="timm name without --checkpoint: random weights instead of timm's pretrained ones")


def add_run_output_options(parser: argparse.ArgumentParser, *, out_help: str, plots_help: str, batch_default: int,
                           batch_help: str) -> None:
    """The "run and output" group: ``--out``, ``--plots-dir``, ``--no-plots``, ``--batch-size``, ``--workers``,
    ``--cpu``."""
    o = parser.add_argument_group("run and output")
    o.add_argument("--out", required=True, help=out_help)
    o.add_argument("--plots-dir", default=None, help=f"folder for {plots_help} (default: next to --out)")
    o.add_argument("--no-plots", dest="plots", action="store_false", help=f"skip {plots_help}")
    o.add_argument("--batch-size", type=int, default=batch_default, help=batch_help)
    o.add_argument("--workers", type=int, default=2, help="data loader workers per process")
    o.add_argument("--cpu", action="store_true", help="run on CPU even when an accelerator is available")


def add_source_options(parser: argparse.ArgumentParser, size_help: str) -> None:
    """``--data``, ``--out`` and ``--size`` of the generators (make-c, make-p)."""
    parser.add_argument("--data", required=True,
                        help="image folder (class sub-folders), .tar of one, or 'cifar10' / 'cifar100' (test split, "
                             "downloaded by torchvision into --download-root)")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--size", type=int, default=None, choices=(32, 64, 224), help=size_help)


def add_work_options(parser: argparse.ArgumentParser, *, batch_help: str, limit_help: str) -> None:
    """``--seed``, ``--workers``, ``--batch-size``, ``--limit``, ``--download-root``, ``--no-progress`` of the
    generators."""
    parser.add_argument("--seed", type=int, default=0, help="base seed (results do not depend on --workers)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="worker processes (default: min(2, CPUs)); 0 runs in this process")
    parser.add_argument("--batch-size", type=int, default=None, help=batch_help)
    parser.add_argument("--limit", type=int, default=None, help=limit_help)
    parser.add_argument("--download-root", type=Path, default=Path("~/.cache/timm_augmix/data").expanduser(),
                        help="where torchvision keeps CIFAR for --data cifar10/cifar100")
    parser.add_argument("--no-progress", action="store_true", help="disable the progress bar")


def expand_names(spec: str, groups: dict[str, tuple[str, ...]], valid: tuple[str, ...], flag: str,
                 what: str) -> tuple[str, ...]:
    """A group name (``groups``' keys) or ``'a,b,c'`` as validated names.

    Raises:
        ValueError: unknown or no names, listing the groups and the valid names.
    """
    if spec in groups:
        return groups[spec]
    names = tuple(s.strip() for s in spec.split(",") if s.strip())
    bad = [n for n in names if n not in valid]
    if bad or not names:
        choices = ", ".join(repr(g) for g in groups)
        raise ValueError(f"Unknown {what}(s) {bad or spec!r} in {flag}. Use {choices} or names from: "
                         f"{', '.join(valid)}")
    return names


def resolve_generation(args: argparse.Namespace, other_layout: str,
                       batch_by_size: dict[int, int]) -> tuple[int, str, int]:
    """``(size, layout, batch)`` of a generator run from :func:`add_source_options` / :func:`add_work_options`.

    The size defaults to 32 for ``--data cifar10/cifar100`` and 224 otherwise; layout ``auto`` is ``cifar`` at 32 px
    and ``other_layout`` otherwise; the batch defaults to ``batch_by_size[size]``.

    Raises:
        ValueError: ``--batch-size`` or ``--limit`` below 1.
    """
    size = args.size or (32 if args.data in ("cifar10", "cifar100") else 224)
    layout = args.layout if args.layout != "auto" else ("cifar" if size == 32 else other_layout)
    batch = args.batch_size or batch_by_size[size]
    if batch < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch}")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    return size, layout, batch
