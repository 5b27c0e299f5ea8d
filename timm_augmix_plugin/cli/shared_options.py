"""Command-line options that several subcommands share, defined once, and the evaluations' run skeleton.

``eval-c`` and ``eval-p`` load a model the same way (:func:`add_model_options`), share their data and run/output
options (:func:`add_data_options`, :func:`add_run_output_options`) and run the same way (:func:`config_from_args`,
:func:`run_evaluation`, :func:`standalone_main`); ``make-c`` and ``make-p`` read their source images and split their
work the same way (:func:`add_generator_options`).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "add_data_options",
    "add_generator_options",
    "add_model_options",
    "add_run_output_options",
    "config_from_args",
    "expand_names",
    "resolve_generation",
    "run_evaluation",
    "standalone_main",
    "write_generated",
]

_ConfigT = TypeVar("_ConfigT")


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


def add_data_options(parser: argparse.ArgumentParser, *, data_flag: str, data_help: str, layouts: tuple[str, ...],
                     clean_help: str, generate_help: str, seed_help: str, size_table_help: str,
                     size_table_choices: tuple[int, ...] | None = None) -> argparse._ArgumentGroup:
    """The "data" group's options that eval-c and eval-p share: the -C / -P folder (``data_flag``), ``--layout``,
    ``--clean-data``, ``--clean-split``, ``--download``, ``--generate``, ``--seed`` and ``--size-table``; returns the
    group for the evaluation's own options."""
    d = parser.add_argument_group("data")
    d.add_argument(data_flag, default=None, help=data_help)
    d.add_argument("--layout", choices=layouts, default="auto", help=f"layout of {data_flag}")
    d.add_argument("--clean-data", default=None, help=clean_help)
    d.add_argument("--clean-split", default="validation", help="split for a named --clean-data dataset")
    d.add_argument("--download", action="store_true", help="allow a named --clean-data dataset to download")
    d.add_argument("--generate", action="store_true", help=generate_help)
    d.add_argument("--seed", type=int, default=0, help=seed_help)
    d.add_argument("--size-table", type=int, default=None, choices=size_table_choices, help=size_table_help)
    return d


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


def add_generator_options(parser: argparse.ArgumentParser, *, size_help: str, layouts: tuple[str, ...],
                          layout_help: str, names_flag: str, names_default: str, names_help: str, batch_help: str,
                          limit_help: str) -> None:
    """The options of the generators (make-c, make-p), in their ``--help`` order: ``--data``, ``--out``, ``--size``,
    ``--layout``, the names option (``--corruptions`` / ``--perturbations``), ``--seed``, ``--workers``,
    ``--batch-size``, ``--limit``, ``--download-root``, ``--no-progress``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the layout list in --help readable
    parser.add_argument("--data", required=True,
                        help="image folder (class sub-folders), .tar of one, or 'cifar10' / 'cifar100' (test split, "
                             "downloaded by torchvision into --download-root)")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--size", type=int, default=None, choices=(32, 64, 224), help=size_help)
    parser.add_argument("--layout", choices=layouts, default="auto", help=layout_help)
    parser.add_argument(names_flag, default=names_default, help=names_help)
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
    """``(size, layout, batch)`` of a generator run from :func:`add_generator_options`.

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


def write_generated(command: str, names: tuple[str, ...], write: Callable[[], list[str]],
                    summary: Callable[[list[str]], str]) -> int:
    """make-c / make-p's last step: ``write()`` returns the names generated now; prints the skipped ones (finished
    by an earlier run) and ``summary(done)``; a ``ValueError`` (an unreadable image, a mismatching earlier set) is
    printed as ``<command>: error: ...`` with exit code 2."""
    try:
        done = write()
    except ValueError as e:
        print(f"{command}: error: {e}", file=sys.stderr)
        return 2
    skipped = [name for name in names if name not in done]
    if skipped:
        print(f"{command}: skipped already finished: {', '.join(skipped)}")
    print(summary(done))
    return 0


def config_from_args(config_cls: type[_ConfigT], args: argparse.Namespace) -> _ConfigT:
    """The ``config_cls`` dataclass of parsed arguments: each of its fields from the option of the same name (fields
    without an option keep their defaults)."""
    given = vars(args)
    return config_cls(**{f.name: given[f.name] for f in dataclasses.fields(config_cls) if f.name in given})


def run_evaluation(args: argparse.Namespace, command: str, config_cls: type,
                   evaluate: Callable[..., dict[str, Any]], summary: Callable[[dict[str, Any]], str]) -> int:
    """Run an evaluation command: arguments -> ``config_cls`` -> ``evaluate(config, accelerator=...)`` -> the
    ``summary`` of its results and ``wrote OUT`` on stdout (main process).

    Returns:
        0 on success; 2 for bad input (``ValueError``, ``FileNotFoundError``, ``TypeError``), whose message goes to
        stderr as ``timm-augmix COMMAND: error: ...``.
    """
    from accelerate import Accelerator

    from ..utils.cpu_processes import use_cpu
    from ..utils.errors import user_message

    accelerator = Accelerator(cpu=use_cpu(args.cpu))
    try:
        results = evaluate(config_from_args(config_cls, args), accelerator=accelerator)
    except (ValueError, FileNotFoundError, TypeError) as err:
        if accelerator.is_main_process:
            print(f"timm-augmix {command}: error: {user_message(err)}", file=sys.stderr)
        return 2
    finally:
        # destroy the process group: with several processes, gloo threads still alive at interpreter exit abort it
        accelerator.end_training()
    if accelerator.is_main_process:
        print(summary(results))
        print(f"wrote {args.out}")
    return 0


def standalone_main(module_name: str, command: str, argv: list[str] | None = None) -> int:
    """Entry point of the subcommand module ``module_name`` run on its own (``python -m``, ``accelerate launch -m``):
    ends with its launcher, restarts as several CPU processes when asked, then parses ``argv`` with the module's
    ``add_arguments`` and calls its ``run``."""
    import importlib

    from ..utils.cpu_processes import maybe_relaunch

    relaunched = maybe_relaunch(module_name, sys.argv[1:] if argv is None else argv)
    if relaunched is not None:
        return relaunched
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"timm-augmix {command}", description=module.__doc__)
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))
