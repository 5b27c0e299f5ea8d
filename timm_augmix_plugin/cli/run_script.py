"""Run a timm script (train.py, validate.py, inference.py, benchmark.py) with the plugin installed.

The script runs as ``__main__`` in this process after ``import timm_augmix_plugin``, so timm's factories know the
plugin's names (``--aa augmix_paper``, ``--train-crop-mode augmix_cifar``, ``--model wrn40_2``, ``local-dir:`` folders
of the plugin's models). Everything after the script path is the script's own argument list, passed unchanged, and
the script's exit status is this command's exit status.

Example:

    timm-augmix run train.py /data/cifar10 --dataset torch/cifar10 --model wrn16_1 --num-classes 10 \\
        --aa augmix_paper --aug-splits 3 --jsd-loss --split-bn --train-crop-mode augmix_cifar
    timm-augmix run validate.py /data/cifar10 --dataset torch/cifar10 --split test \\
        --model local-dir:hub/wrn16_1.augmix_jsd_cifar10_cpu --pretrained
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys

__all__ = ["add_arguments", "exit_code", "run", "run_script"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``run`` arguments (for ``--help``; :func:`run_script` takes the raw argument list)."""
    parser.add_argument("script", help="path of the Python script to run as __main__ (e.g. timm's train.py)")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments passed to the script unchanged")


def exit_code(status: object) -> int:
    """The process exit status ``sys.exit(status)`` would give (None: 0, an int: itself, anything else: 1)."""
    if status is None:
        return 0
    if isinstance(status, int):
        return status
    print(status, file=sys.stderr)
    return 1


def run_script(script: str, script_args: list[str]) -> int:
    """Run ``script`` as ``__main__`` with ``sys.argv = [script, *script_args]`` and the plugin installed.

    Returns:
        The script's exit status (0 when it returns normally). Exceptions other than ``SystemExit`` propagate.
    """
    if not os.path.isfile(script):
        print(f"timm-augmix run: {script} is not a file. timm's scripts (train.py, validate.py, ...) are not part of "
              "its wheel: take them from https://github.com/huggingface/pytorch-image-models at the tag of your timm "
              "version (`python -c 'import timm; print(timm.__version__)'`).", file=sys.stderr)
        return 2
    import timm_augmix_plugin

    timm_augmix_plugin.install()
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [script, *script_args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))  # as `python script.py` does
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        return exit_code(stop.code)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point of ``timm-augmix run``."""
    return run_script(args.script, list(args.script_args))
