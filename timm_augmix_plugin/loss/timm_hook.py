"""Hook the JSD consistency loss into ``timm.loss.create_classification_loss`` under names the plugin owns.

timm's arguments keep their timm meaning: every call timm itself accepts returns what timm returns (``jsd_splits``
is timm's "'jsd' only" argument, so ``loss_type='ce', jsd_splits=3`` is plain cross-entropy, as in timm). The plugin
adds two things timm does not have:

* ``loss_type='jsd_<base>'`` (``'jsd_ce'``, ``'jsd_bce'``, ``'jsd_poly'``, ... any of timm's ``LOSS_TYPES`` but
  ``'jsd'``) with ``jsd_splits >= 2``: :class:`~timm_augmix_plugin.loss.jsd.JsdLoss` around the base loss timm builds
  for the other arguments, weighted by ``jsd_alpha`` (default 12, the paper's lambda);
* ``jsd_alpha=`` for timm's own ``loss_type='jsd'``: timm's ``JsdCrossEntropy`` with that alpha.

Note: code that did ``from timm.loss import create_classification_loss`` before the plugin was imported keeps timm's
function; call it as ``timm.loss.create_classification_loss`` or import the plugin first. The plugin's own code
calls :func:`timm_augmix_plugin.loss.create_jsd_loss` directly.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import timm.loss
import timm.loss._loss_factory as _lf

from .factory import DEFAULT_JSD_ALPHA, create_jsd_loss
from .timm_originals import originals as _originals
from .timm_originals import timm_create_classification_loss

__all__ = ["DEFAULT_JSD_ALPHA", "JSD_PREFIX", "install", "is_plugin_loss_type", "original_create_classification_loss",
           "uninstall"]

_MODULES = (timm.loss, _lf)

#: Prefix of the plugin's loss types: ``'jsd_' + <timm base loss type>``.
JSD_PREFIX = "jsd_"


#: timm's unwrapped factory, whether or not the hook is installed (owned by :mod:`.timm_originals`).
original_create_classification_loss = timm_create_classification_loss


def is_plugin_loss_type(loss_type: object) -> bool:
    """Whether ``loss_type`` is one of the plugin's ``'jsd_<base>'`` names."""
    return isinstance(loss_type, str) and loss_type.startswith(JSD_PREFIX)


def _wrap(original: Callable) -> Callable:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def create_classification_loss(*args, jsd_alpha: float | None = None, **kwargs):
        bound = signature.bind(*args, **kwargs)
        loss_type = bound.arguments.get("loss_type")
        plugin_type = is_plugin_loss_type(loss_type)
        if not plugin_type and jsd_alpha is None:
            return original(*args, **kwargs)
        splits = bound.arguments.get("jsd_splits", 0)
        base_kwargs = {k: v for k, v in bound.arguments.items() if k not in ("loss_type", "jsd_splits")}
        if plugin_type:
            if splits < 2:
                raise ValueError(
                    f"loss_type={loss_type!r} needs jsd_splits >= 2 (clean + augmented views, 3 for the paper), "
                    f"got jsd_splits={splits}; e.g. create_classification_loss(loss_type={loss_type!r}, "
                    f"jsd_splits=3).")
            return create_jsd_loss(loss_type[len(JSD_PREFIX):], num_splits=splits,
                                   alpha=DEFAULT_JSD_ALPHA if jsd_alpha is None else jsd_alpha, **base_kwargs)
        if loss_type != "jsd":
            raise ValueError(
                f"jsd_alpha={jsd_alpha} applies to loss_type='jsd' (timm's JsdCrossEntropy) or the plugin's "
                f"'jsd_<base>' types ('jsd_ce', 'jsd_bce', ...), got loss_type={loss_type!r}. For AugMix's JSD "
                f"around {loss_type or 'ce'!r} use loss_type='{JSD_PREFIX}{loss_type or 'ce'}' with jsd_splits=3.")
        return create_jsd_loss("jsd", num_splits=splits, alpha=jsd_alpha, **base_kwargs)

    create_classification_loss.__doc__ = (original.__doc__ or "") + (
        "\n    timm_augmix_plugin: loss_type='jsd_<base>' ('jsd_ce', 'jsd_bce', ...) with jsd_splits >= 2 wraps the"
        "\n    base loss in the AugMix JSD consistency loss weighted by jsd_alpha (default 12); jsd_alpha also sets"
        "\n    the alpha of loss_type='jsd'. timm's own loss types are unchanged.\n")
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
