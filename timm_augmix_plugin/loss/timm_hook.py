"""Hook the JSD consistency loss into ``timm.loss.create_classification_loss``.

With the plugin installed, ``create_classification_loss(loss_type=<any>, jsd_splits>=2, jsd_alpha=...)`` returns
:class:`~timm_augmix_plugin.loss.jsd.JsdLoss` around the base loss timm builds for the same arguments. Calls without
``jsd_splits >= 2`` (and ``loss_type='jsd'`` without ``jsd_alpha``) go to timm's function unchanged.
Note: code that did ``from timm.loss import create_classification_loss`` before the plugin was imported keeps timm's
function; call it as ``timm.loss.create_classification_loss`` or import the plugin first.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import timm.loss
import timm.loss._loss_factory as _lf

_MODULES = (timm.loss, _lf)
_originals: dict[object, Callable] = {}


def original_create_classification_loss() -> Callable:
    """timm's unwrapped factory, whether or not the hook is installed."""
    return _originals.get(_lf, _lf.create_classification_loss)


def _wrap(original: Callable) -> Callable:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def create_classification_loss(*args, jsd_alpha: float | None = None, **kwargs):
        bound = signature.bind(*args, **kwargs)
        splits = bound.arguments.get("jsd_splits", 0)
        loss_type = bound.arguments.get("loss_type")
        if splits < 2:
            if jsd_alpha is not None:
                raise ValueError(f"jsd_alpha={jsd_alpha} needs jsd_splits >= 2 (clean + augmented views), got "
                                 f"jsd_splits={splits}.")
            return original(*args, **kwargs)
        if loss_type == "jsd" and jsd_alpha is None:
            return original(*args, **kwargs)
        from .factory import create_jsd_loss

        base_kwargs = {k: v for k, v in bound.arguments.items() if k not in ("loss_type", "jsd_splits")}
        return create_jsd_loss(loss_type, num_splits=splits, alpha=12.0 if jsd_alpha is None else jsd_alpha,
                               **base_kwargs)

    create_classification_loss.__doc__ = (original.__doc__ or "") + (
        "\n    timm_augmix_plugin: with jsd_splits >= 2 any loss_type is wrapped in the AugMix JSD consistency loss,"
        "\n    weighted by jsd_alpha (default 12).\n")
    return create_classification_loss


def install() -> None:
    """Wrap ``create_classification_loss`` in ``timm.loss`` and ``timm.loss._loss_factory`` (idempotent)."""
    if _originals:
        return
    original = _lf.create_classification_loss
    wrapper = _wrap(original)
    for module in _MODULES:
        _originals[module] = module.create_classification_loss
        module.create_classification_loss = wrapper


def uninstall() -> None:
    """Restore timm's function (idempotent)."""
    for module in list(_originals):
        module.create_classification_loss = _originals.pop(module)
