"""Compare eval-c results of several runs (the first is the baseline): Markdown tables and a plot.

Example:

    timm-augmix compare standard=runs/std/eval-c/results.json augmix_jsd=runs/jsd/eval-c/results.json \\
        --per-corruption --plot comparison.png
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``compare`` options."""
    parser.add_argument("runs", nargs="+", metavar="NAME=RESULTS_JSON",
                        help="a name for the run and its eval-c results.json; the first run is the baseline")
    parser.add_argument("--per-corruption", action="store_true",
                        help="also print each corruption's error per run and its change against the baseline")
    parser.add_argument("--plot", help="figure to write: mean error vs severity and error per corruption, per run")
    parser.add_argument("--per-perturbation", action="store_true",
                        help="also print each -P perturbation's flip probability per run (results with eval-p)")
    parser.add_argument("--plot-p", help="figure to write: flip probability per perturbation, one bar per run")


def _parse_run(spec: str) -> tuple[str, str]:
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise ValueError(f"Expected NAME=path/to/results.json, got {spec!r}.")
    return name, path


def run(args: argparse.Namespace) -> int:
    """Print the tables and write the plot; returns 0, or 2 with a message for a bad argument or results file."""
    from ..evaluation import compare
    from ..evaluation.results import load_results
    from ..utils.outputs import ensure_writable_file

    try:
        for flag, path in (("--plot", args.plot), ("--plot-p", args.plot_p)):
            if path:
                ensure_writable_file(path, flag)
        runs = [(name, load_results(path)) for name, path in map(_parse_run, args.runs)]
        with_c = all(r.has_corruption_results for _, r in runs)
        with_p = all(r.perturbation is not None for _, r in runs)
        parts = []
        if with_c or not with_p:  # -C tables whenever every run has them (and their error otherwise)
            for warning in compare.check_comparable(runs):  # the same -C images, or a warning for old files
                print(f"timm-augmix compare: warning: {warning}", file=sys.stderr)
            parts.append(compare.summary_table(runs))
            if args.per_corruption:
                parts.append(compare.per_corruption_table(runs))
        if with_p or args.per_perturbation or args.plot_p:
            parts.append(compare.stability_table(runs))
            if args.per_perturbation:
                parts.append(compare.per_perturbation_table(runs))
        written = [compare.plot_comparison(runs, args.plot)] if args.plot else []
        if args.plot_p:
            written.append(compare.plot_stability_comparison(runs, args.plot_p))
    except (ValueError, FileNotFoundError) as e:
        print(f"timm-augmix compare: error: {e}", file=sys.stderr)
        return 2
    print("\n\n".join(parts))
    for path in written:
        print(f"\nwrote {path}")
    return 0
