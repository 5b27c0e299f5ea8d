"""Compare eval-c results of several runs: a Markdown table and a mean-error-vs-severity plot.

    python scripts/compare_runs.py NAME=path/to/results.json [...] --plot docs/cpu_cifar10_error_vs_severity.png
"""
from __future__ import annotations

import argparse

import numpy as np
from matplotlib.figure import Figure

from timm_augmix_plugin.evaluation.results import read_results
from timm_augmix_plugin.utils.figures import save_figure


def _row(name: str, r: dict, baseline: dict | None) -> str:
    rel = "" if baseline is None else (
        f"{100 * (r['mean_corruption_error'] / baseline['mean_corruption_error'] - 1):+.1f} %")
    return (f"| {name} | {r['clean_error']:.2f} | {r['mean_corruption_error']:.2f} | {rel} | "
            f"{r['clean']['rms_calibration_error']:.2f} | {r['corrupted']['rms_calibration_error']:.2f} |")


def main(argv: list[str] | None = None) -> None:
    """Print the table (first run = baseline for the relative change) and draw the plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="NAME=RESULTS_JSON")
    parser.add_argument("--plot", help="PNG to write: mean error over the corruptions vs severity, one line per run")
    args = parser.parse_args(argv)
    runs = [(spec.split("=", 1)[0], read_results(spec.split("=", 1)[1])) for spec in args.runs]
    print("| run | clean error % | mean corruption error % | vs first | RMS calib. clean % | RMS calib. corrupted % |")
    print("|---|---|---|---|---|---|")
    for i, (name, r) in enumerate(runs):
        print(_row(name, r, runs[0][1] if i else None))
    if args.plot:
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        for name, r in runs:
            sev = [int(s) for s in r["severities"]]
            mean = [np.mean([r["errors"][c][str(s)] for c in r["corruptions"]]) for s in sev]
            ax.plot([0, *sev], [r["clean_error"], *mean], marker="o", label=name)
        ax.set_xlabel("severity (0 = clean)")
        ax.set_ylabel("error % (mean over the corruptions)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        print(f"wrote {save_figure(fig, args.plot, dpi=120)}")


if __name__ == "__main__":
    main()
