"""A picture of a run: training loss (and its parts) per update and clean error per epoch, from ``metrics.jsonl``."""
from __future__ import annotations

import os
from pathlib import Path

from .metrics_log import read_metrics

__all__ = ["plot_metrics"]


def plot_metrics(metrics_path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Draw ``metrics.jsonl`` into a two-panel PNG (loss vs update, clean error vs epoch); returns ``out_path``."""
    import matplotlib.ticker
    from matplotlib.figure import Figure

    from ..utils.figures import save_figure

    train = read_metrics(metrics_path, "train")
    evals = read_metrics(metrics_path, "eval")
    fig = Figure(figsize=(10, 3.8))
    ax_loss, ax_err = fig.subplots(1, 2)
    steps = [r["step"] for r in train]
    labels = {"loss": "total loss", "loss_base": "base loss", "loss_consistency": "JSD term"}
    keys = ["loss", "loss_base", "loss_consistency"] if train and "loss_consistency" in train[0] else ["loss"]
    for key in keys:
        ax_loss.plot(steps, [float(r[key]) for r in train], label=labels[key])
    ax_loss.set_xlabel("update")
    ax_loss.set_ylabel("training loss")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    if evals:
        epochs = [e["epoch"] for e in evals]
        ax_err.plot(epochs, [e["clean_error"] for e in evals], marker="o", label="model")
        if "ema_clean_error" in evals[0]:
            ax_err.plot(epochs, [e["ema_clean_error"] for e in evals], marker="s", label="EMA")
        ax_err.legend()
    ax_err.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax_err.set_xlabel("epoch")
    ax_err.set_ylabel("clean error (%)")
    ax_err.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out_path, dpi=100)
