"""Crash-safe training checkpoints on top of Accelerate's ``save_state`` / ``load_state``.

Layout under ``<output_dir>/checkpoints/``::

    step_00000120/      a complete Accelerate state (model, optimizer, scheduler, EMA, RNG, TrainState)
    step_00000240/
    latest              text file naming the newest complete checkpoint directory

A checkpoint is written into a hidden ``.tmp-step_*`` directory, marked complete, and only then renamed into place;
the ``latest`` pointer is replaced atomically afterwards. A crash at any moment therefore leaves either the previous
or the new checkpoint as ``latest``, never a half-written one; stale temporary directories are ignored and cleared.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["CheckpointManager", "TrainState", "empty_log_window"]

_COMPLETE = "checkpoint_complete.json"
_PREFIX = "step_"


def empty_log_window() -> dict:
    """The metrics logging window after a record was written: no loss summed over no micro-batch."""
    return {"loss": 0.0, "parts": {}, "count": 0}


@dataclass
class TrainState:
    """Loop position, checkpointed with the rest of the state (``register_for_checkpointing``).

    Attributes:
        epoch: The epoch in progress.
        step_in_epoch: Micro-batches of ``epoch`` already consumed (0 at an epoch boundary).
        global_step: Optimizer updates done so far (the scheduler's ``num_updates``).
        last_good_loss: The last finite training loss (for messages).
        log_window: Sums over the micro-batches since the last ``metrics.jsonl`` training record (``loss``,
            ``parts``, ``count``), so a resumed run logs the same averages as an uninterrupted one whatever the
            checkpoint and logging intervals.
    """

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    last_good_loss: float = float("nan")
    log_window: dict = field(default_factory=empty_log_window)

    def state_dict(self) -> dict:
        """Plain-data state for Accelerate."""
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        for key, value in state.items():
            setattr(self, key, value)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class CheckpointManager:
    """Write, find and prune checkpoints in ``directory``.

    Args:
        directory: The ``checkpoints/`` folder.
        keep: How many complete checkpoints to keep.
    """

    def __init__(self, directory: str | os.PathLike, keep: int = 2) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}.")
        self.directory = Path(directory)
        self.keep = keep

    # ------------------------------------------------------------------------------------------------------------
    def save(self, accelerator, state: TrainState) -> Path:
        """Save the full Accelerate state as checkpoint ``step_<global_step>``; call on every process.

        Returns:
            The final checkpoint directory.
        """
        name = f"{_PREFIX}{state.global_step:08d}"
        final = self.directory / name
        tmp = self.directory / f".tmp-{name}"
        if accelerator.is_main_process:
            self.directory.mkdir(parents=True, exist_ok=True)
            if tmp.exists():
                shutil.rmtree(tmp)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp), safe_serialization=True)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            marker = dict(global_step=state.global_step, epoch=state.epoch, step_in_epoch=state.step_in_epoch,
                          num_processes=accelerator.num_processes, time=time.time())
            (tmp / _COMPLETE).write_text(json.dumps(marker))
            _fsync_dir(tmp)
            if final.exists():  # the same update saved twice (e.g. step interval hits an epoch end): replace
                old = self.directory / f".old-{name}"
                os.replace(final, old)
                os.replace(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, final)
            self._write_latest(name)
            self._prune()
        accelerator.wait_for_everyone()
        return final

    def _write_latest(self, name: str) -> None:
        pointer = self.directory / "latest"
        tmp = self.directory / ".latest.tmp"
        with open(tmp, "w") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, pointer)
        _fsync_dir(self.directory)

    def _prune(self) -> None:
        complete = self.complete_checkpoints()
        for path in complete[: max(0, len(complete) - self.keep)]:
            shutil.rmtree(path, ignore_errors=True)
        for stale in self.directory.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in self.directory.glob(".old-*"):
            shutil.rmtree(stale, ignore_errors=True)

    # ------------------------------------------------------------------------------------------------------------
    @staticmethod
    def is_complete(path: Path) -> bool:
        """Whether ``path`` is a fully written checkpoint."""
        return path.is_dir() and (path / _COMPLETE).is_file()

    def complete_checkpoints(self) -> list[Path]:
        """All complete checkpoints, oldest first."""
        if not self.directory.is_dir():
            return []
        found = [p for p in self.directory.glob(f"{_PREFIX}*") if self.is_complete(p)]
        return sorted(found, key=lambda p: p.name)

    def latest(self) -> Path | None:
        """The newest complete checkpoint (the ``latest`` pointer, else a scan), or None."""
        pointer = self.directory / "latest"
        if pointer.is_file():
            path = self.directory / pointer.read_text().strip()
            if self.is_complete(path):
                return path
        complete = self.complete_checkpoints()
        return complete[-1] if complete else None

    @staticmethod
    def info(path: Path) -> dict:
        """The completion record of checkpoint ``path`` (step, epoch, number of processes)."""
        return json.loads((Path(path) / _COMPLETE).read_text())
