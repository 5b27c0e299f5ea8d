"""How the command-line entry points print an error the user can act on."""
from __future__ import annotations

__all__ = ["user_message"]


def user_message(err: BaseException) -> str:
    """The error's own message; for one re-raised from a DataLoader worker, without the worker's traceback."""
    text = str(err)
    if "Original Traceback" in text:
        last = [line for line in text.splitlines() if line.strip()][-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return text
