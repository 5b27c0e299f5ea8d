"""timm's own ``create_classification_loss``, kept here whether or not the plugin's hook is installed.

:mod:`.timm_hook` records the functions it replaces in :data:`originals`; :mod:`.factory` builds base losses with
:func:`timm_create_classification_loss`, so the plugin's own code never goes through its own monkeypatch, and the
two modules do not import each other in a cycle (``timm_hook -> factory -> timm_originals``).
"""
from __future__ import annotations

from collections.abc import Callable

import timm.loss._loss_factory as _lf

__all__ = ["originals", "timm_create_classification_loss"]

#: module -> the ``create_classification_loss`` it held before :func:`~.timm_hook.install` (empty when not installed).
originals: dict[object, Callable] = {}


def timm_create_classification_loss() -> Callable:
    """timm's unwrapped factory, whether or not the hook is installed."""
    return originals.get(_lf, _lf.create_classification_loss)
