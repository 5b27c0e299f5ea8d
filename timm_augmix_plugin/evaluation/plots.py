"""PNG plots of an eval-c / eval-p run (matplotlib, Agg backend): error vs severity, reliability diagrams, and flip
probability per perturbation. The results come typed
(:class:`~timm_augmix_plugin.evaluation.results.RobustnessResults`)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..utils.figures import save_figure
from . import metrics
from .results import RobustnessResults, StabilityResults

__all__ = ["plot_error_vs_severity", "plot_flip_probability", "plot_reliability"]


def plot_error_vs_severity(results: RobustnessResults, path: str | os.PathLike) -> Path:
    """One line per corruption (error % vs severity), the mean over corruptions in bold, clean error at severity 0."""
    import matplotlib
    from matplotlib.figure import Figure

    severities = list(results.severities)
    corruptions = list(results.corruptions)
    clean = results.clean_error
    fig = Figure(figsize=(9, 5.5))
    ax = fig.subplots()
    cmap = matplotlib.colormaps["tab20"]
    xs = ([0] if clean is not None else []) + severities
    for i, c in enumerate(corruptions):
        ys = ([clean] if clean is not None else []) + [results.errors[c][s] for s in severities]
        ax.plot(xs, ys, marker="o", ms=3, lw=1.2, color=cmap(i % 20), label=c)
    averaged = list(results.extra.get("averaged_corruptions") or corruptions)
    mean = [float(np.mean([results.errors[c][s] for c in averaged])) for s in severities]
    label = "mean" if len(averaged) == len(corruptions) else f"mean of the {len(averaged)} benchmark corruptions"
    ax.plot(xs, ([clean] if clean is not None else []) + mean, color="black", lw=3, marker="s", label=label)
    ax.set_xticks(xs)
    ax.set_xticklabels(["clean" if x == 0 else str(x) for x in xs])
    ax.set_xlabel("severity")
    ax.set_ylabel("top-1 error (%)")
    title = f"{results.model} on {results.dataset}: mean corruption error "
    title += f"{results.mean_corruption_error:.2f}%"
    if results.mce is not None:
        title += f", mCE {results.mce:.1f}"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=1, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


def _reliability_panel(ax, hist_ax, confidence: np.ndarray, correct: np.ndarray, title: str, num_bins: int,
                       summary: Mapping[str, float]) -> None:
    bins = metrics.reliability_bins(confidence, correct, num_bins)
    edges = bins["edges"]
    width = edges[1] - edges[0]
    centers = edges[:-1] + width / 2
    filled = bins["count"] > 0
    ax.bar(centers[filled], bins["accuracy"][filled], width=width, edgecolor="black", color="tab:blue",
           label="accuracy")
    gap_bottom = np.minimum(bins["accuracy"], bins["confidence"])[filled]
    gap_height = np.abs(bins["accuracy"] - bins["confidence"])[filled]
    ax.bar(centers[filled], gap_height, bottom=gap_bottom, width=width, color="tab:red", alpha=0.35, hatch="//",
           edgecolor="tab:red", label="gap to mean confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(
        f"{title}\nerror {summary['error']:.2f}%  RMS {summary['rms_calibration_error']:.2f}%  "
        f"ECE {summary['ece']:.2f}%  NLL {summary['nll']:.3f}",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper left")
    hist_ax.bar(centers, bins["count"] / bins["count"].sum(), width=width, color="tab:gray", edgecolor="black")
    hist_ax.set_xlim(0, 1)
    hist_ax.set_xlabel("confidence (max softmax probability)")
    hist_ax.set_ylabel("share", fontsize=8)


def plot_reliability(
    panels: Mapping[str, tuple[np.ndarray, np.ndarray, Mapping[str, float]]],
    path: str | os.PathLike,
    num_bins: int = 15,
) -> Path:
    """Reliability diagrams side by side, e.g. ``{"clean": (conf, correct, summary), "corrupted": (...)}``.

    ``summary`` is the calibration block of results.json shown in the panel title.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5 * len(panels), 6.5))
    axes = fig.subplots(2, len(panels), squeeze=False, sharex="col", gridspec_kw={"height_ratios": [3, 1]})
    for k, (title, (confidence, correct, summary)) in enumerate(panels.items()):
        _reliability_panel(axes[0][k], axes[1][k], np.asarray(confidence), np.asarray(correct), title, num_bins,
                           summary)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


def plot_flip_probability(block: StabilityResults, path: str | os.PathLike, title: str = "") -> Path:
    """-P stability of one run: flip probability (%) per perturbation, the mean over the averaged ones dashed."""
    from matplotlib.figure import Figure

    names = list(block.perturbations)
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    values = [block.flip_probability[n] for n in names]
    ax.bar(np.arange(len(names)), values, color="tab:blue")
    ax.axhline(block.mean_flip_probability, color="black", ls="--", lw=1,
               label=f"mFP {block.mean_flip_probability:.2f}% (over {len(block.averaged_perturbations)})")
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels([n.replace("_", " ") for n in names], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("flip probability (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
