"""Compare eval-c results of several runs (the first is the baseline): Markdown tables and a plot.

Example:

    timm-augmix compare standard=runs/std/eval-c/results.json augmix_jsd=runs/jsd/eval-c/results.json \\
        --per-corruption --plot comparison.png
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``compare`` options."""
    parser.add_argument("runs", nargs="+", metavar="NAME=RESULTS_JSON",
                        help="a name for the run and its eval-c results.json; the first run is the baseline")
    parser.add_argument("--per-corruption", action="store_true",
                        help="also print each corruption's error per run and its change against the baseline")
    parser.add_argument("--plot", help="figure to write: mean error vs severity and error per corruption, per run")


def _parse_run(spec: str) -> tuple[str, str]:
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise ValueError(f"Expected NAME=path/to/results.json, got {spec!r}.")
    return name, path


def run(args: argparse.Namespace) -> int:
    """Print the tables and write the plot; returns 0, or 2 with a message for a bad argument or results file."""
    from ..evaluation.compare import check_comparable, per_corruption_table, plot_comparison, summary_table
    from ..evaluation.results import read_results

    from ..utils.outputs import ensure_writable_file

    try:
        if args.plot:
            ensure_writable_file(args.plot, "--plot")
        runs = [(name, read_results(path)) for name, path in map(_parse_run, args.runs)]
        for warning in check_comparable(runs):
            print(f"timm-augmix compare: warning: {warning}", file=sys.stderr)
        text = summary_table(runs)
        if args.per_corruption:
            text += "\n\n" + per_corruption_table(runs)
        written = plot_comparison(runs, args.plot) if args.plot else None
    except (ValueError, FileNotFoundError) as e:
        print(f"timm-augmix compare: error: {e}", file=sys.stderr)
        return 2
    print(text)
    if written is not None:
        print(f"\nwrote {written}")
    return 0
