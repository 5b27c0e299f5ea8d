"""Saving matplotlib figures made with ``matplotlib.figure.Figure`` (no pyplot state, no global backend switch)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["save_figure"]


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix), creating the parent folder; returns the path.

    Figures built as ``matplotlib.figure.Figure(...)`` need no backend and no ``plt.close``: they are freed with
    their last reference, so library code does not touch the caller's pyplot session.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
