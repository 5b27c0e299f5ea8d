"""The run's metrics log: one JSON object per line in ``<output_dir>/metrics.jsonl``, written by the main process.

Records carry ``"kind"``: ``"train"`` (global ``step``, ``epoch``, ``loss`` and its parts, ``lr``,
``images_per_s``) or ``"eval"`` (``epoch``, ``step``, ``clean_error`` in percent, ``clean_loss`` and, with EMA,
``ema_clean_error``). When a run resumes from a checkpoint, records written after that checkpoint by the interrupted
run are dropped, so the log reads like one uninterrupted run.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["MetricsLog", "read_metrics"]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN / inf
    return value


class MetricsLog:
    """Append-only JSON-lines writer; a no-op on processes other than the main one.

    Args:
        path: The ``metrics.jsonl`` file.
        enabled: Whether this process writes (pass ``accelerator.is_main_process``).
    """

    def __init__(self, path: str | os.PathLike, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled

    def write(self, kind: str, **fields: Any) -> None:
        """Append one record ``{"kind": kind, **fields, "time": <unix time>}``."""
        if not self.enabled:
            return
        record = {"kind": kind, **{k: _clean(v) for k, v in fields.items()}, "time": round(time.time(), 3)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def truncate_after(self, step: int) -> None:
        """Drop records whose ``step`` is greater than ``step`` (used when resuming from the checkpoint at ``step``)."""
        if not self.enabled or not self.path.is_file():
            return
        kept = [r for r in read_metrics(self.path) if int(r.get("step", 0)) <= step]
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(tmp, self.path)


def read_metrics(path: str | os.PathLike, kind: str | None = None) -> list[dict]:
    """Read a ``metrics.jsonl`` file, optionally only records of one ``kind``; a torn last line is skipped."""
    records = []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        if kind is None or record.get("kind") == kind:
            records.append(record)
    return records
