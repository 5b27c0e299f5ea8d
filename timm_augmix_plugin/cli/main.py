"""``timm-augmix``: one entry point, one module per subcommand.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``; its docstring's
first line is the help text. Modules are imported lazily so ``timm-augmix --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

SUBCOMMANDS: dict[str, str] = {
    "quickstart": "timm_augmix_plugin.cli.quickstart",
    "make-c": "timm_augmix_plugin.cli.make_c",
    "eval-c": "timm_augmix_plugin.cli.eval_c",
    "card": "timm_augmix_plugin.cli.card",
    "publish": "timm_augmix_plugin.cli.publish",
    "show": "timm_augmix_plugin.cli.show",
    "compare": "timm_augmix_plugin.cli.compare",
    "convert": "timm_augmix_plugin.cli.convert",
    "run": "timm_augmix_plugin.cli.run_script",
    "make-p": "timm_augmix_plugin.cli.make_p",
    "eval-p": "timm_augmix_plugin.cli.eval_p",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="timm-augmix", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        help_text = (module.__doc__ or name).strip().splitlines()[0]
        sp = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) >= 2 and argv[0] == "run" and argv[1] not in ("-h", "--help"):
        # everything after the script belongs to the script (its own --help, options named like ours, ...)
        from .run_script import run_script

        return run_script(argv[1], argv[2:])
    args = build_parser().parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
