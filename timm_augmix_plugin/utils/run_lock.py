"""One run per output folder: an advisory ``flock`` on ``<folder>/.lock``, released by the kernel when its holder
exits in any way (SIGKILL included), so a dead run never leaves it behind."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

__all__ = ["FolderInUseError", "FolderLock"]

LOCK_NAME = ".lock"


class FolderInUseError(ValueError):
    """Another live process holds the folder's lock."""


class FolderLock:
    """Exclusive, non-blocking lock of an output folder.

    Args:
        folder: The folder (created if missing).
        what: How the user names it, for the message (``train.output_dir``, ``--out``).
        fix: What to do instead, appended to the message.
    """

    def __init__(self, folder: str | os.PathLike, what: str = "output folder", fix: str = "") -> None:
        self.folder = Path(folder)
        self.what, self.fix = what, fix
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        """Take the lock or raise :class:`FolderInUseError` naming the holder (pid, host, start time)."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise FolderInUseError(
                f"{self.what} {str(self.folder)!r} is in use by a running job ({holder}). Only one run may use a "
                f"folder: wait for it to finish or stop it{self.fix}.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock back (idempotent); the file stays, unlocked."""
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
