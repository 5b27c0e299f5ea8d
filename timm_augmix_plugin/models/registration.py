"""Explicit, idempotent and reversible registration of the plugin's models in timm's model registry.

:func:`register_models` files each entrypoint of :mod:`timm_augmix_plugin.models.augmix_cifar` through timm's own
``register_model`` (so names, module key ``'augmix_cifar'``, pretrained cfgs and tags are filed exactly as for timm's
models) but never overwrites a name timm already knows: such a name is skipped with a warning. :func:`unregister_models`
removes exactly the names this module registered and still owns, with timm's ``_clear_model_entries``.
``timm_augmix_plugin.install()`` / ``uninstall()`` call these two functions.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from timm.models import _registry

from .augmix_cifar import ENTRYPOINTS, MODULE_KEY

__all__ = ["MODULE_KEY", "model_names", "register_models", "unregister_models", "registered_models"]

#: name -> the entrypoint this module registered under that name
_registered: dict[str, Callable[..., Any]] = {}


def model_names() -> tuple[str, ...]:
    """Names of all architectures the plugin provides (registered or not)."""
    return tuple(fn.__name__ for fn in ENTRYPOINTS)


def registered_models() -> tuple[str, ...]:
    """Names the plugin currently has registered in timm (sorted)."""
    return tuple(sorted(name for name in _registered if _owns(name)))


def _owns(name: str) -> bool:
    fn = _registered.get(name)
    return fn is not None and _registry._model_entrypoints.get(name) is fn


def _remove(name: str) -> None:
    _registry._clear_model_entries(name)  # module, tag, pretrained-cfg and deprecation entries
    _registry._model_entrypoints.pop(name, None)


def register_models() -> tuple[str, ...]:
    """Register the plugin's architectures in timm's registry under the module key ``'augmix_cifar'``.

    Names that timm (or another package) already registered are left untouched and reported with a ``UserWarning``.
    Calling it again is harmless.

    Returns:
        The names the plugin has registered after the call.
    """
    for fn in ENTRYPOINTS:
        name = fn.__name__
        existing = _registry._model_entrypoints.get(name)
        if existing is fn:
            _registered[name] = fn
            continue
        if existing is not None:
            warnings.warn(
                f"timm already has a model named {name!r} ({getattr(existing, '__module__', '?')}); the AugMix plugin "
                f"does not overwrite it, so timm.create_model({name!r}) builds timm's model. The plugin's "
                f"architecture stays available as timm_augmix_plugin.models.augmix_cifar.{name}(**kwargs).",
                UserWarning,
                stacklevel=2,
            )
            continue
        _registry.register_model(fn)
        _registered[name] = fn
    return registered_models()


def unregister_models() -> tuple[str, ...]:
    """Remove the plugin's architectures from timm's registry; names owned by others are never touched.

    Calling it again is harmless.

    Returns:
        The names that were removed.
    """
    removed = []
    for name in sorted(_registered):
        if _owns(name):
            _remove(name)
            removed.append(name)
    _registered.clear()
    return tuple(removed)
