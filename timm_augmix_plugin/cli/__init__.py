"""The ``timm-augmix`` command line: :func:`main` (the console script), one module per subcommand."""
from __future__ import annotations

from .main import main as main

__all__ = ["main"]
