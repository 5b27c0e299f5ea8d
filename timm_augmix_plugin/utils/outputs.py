"""Check that output locations are writable before any work starts (every command that writes calls it first)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["ensure_writable_dir", "ensure_writable_file"]


def ensure_writable_dir(folder: str | os.PathLike, what: str) -> Path:
    """Create ``folder`` (and its parents) if needed and check a file can be written in it.

    Args:
        folder: The output folder.
        what: How the user named it, for the message (e.g. ``--out`` or ``train.output_dir``).

    Raises:
        ValueError: The folder cannot be created or written to, naming it and the fix.
    """
    folder = Path(folder).expanduser()
    try:
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"{folder} exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as err:
        raise ValueError(f"{what} {str(folder)!r} is not a writable folder ({err.strerror or err}). Choose a folder "
                         f"you can write to, or fix its permissions; nothing was done.") from None
    return folder


def ensure_writable_file(path: str | os.PathLike, what: str) -> Path:
    """Check that ``path`` can be written: its folder is writable and ``path`` is not a folder or read-only file.

    Raises:
        ValueError: naming ``what`` and the problem; nothing is written besides the parent folders.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a folder; give a file path, e.g. {path / 'out'}.")
    ensure_writable_dir(path.parent, f"the folder of {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{what} {str(path)!r} exists and is read-only; choose another path or fix its permissions.")
    return path
