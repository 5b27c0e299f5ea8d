"""Explicit, idempotent and reversible hooks into timm.

Three hooks are installed, each at the narrowest point timm looks up at call time:

* ``timm.data.transforms_factory`` globals: the ``augmix_paper...`` policy strings of ``create_transform``;
* ``timm.loss.create_classification_loss``: the plugin's ``loss_type='jsd_<base>'`` names (and ``jsd_alpha``);
* timm's model registry: the paper's CIFAR architectures (names timm already has are never touched).

Every other name keeps exactly the behaviour timm has without the plugin.
"""
from __future__ import annotations

__all__ = ["install", "is_installed", "uninstall"]

_installed = False


def _parts():
    from .augmix import timm_hook as transform_hook
    from .loss import timm_hook as loss_hook
    from .models import registration as model_registration

    return (
        (transform_hook.install, transform_hook.uninstall),
        (loss_hook.install, loss_hook.uninstall),
        (model_registration.register_models, model_registration.unregister_models),
    )


def install() -> None:
    """Install all hooks into timm. Calling it again is harmless."""
    global _installed
    for do, _ in _parts():
        do()
    _installed = True


def uninstall() -> None:
    """Remove all hooks, restoring timm's original functions and registry. Calling it again is harmless."""
    global _installed
    for _, undo in reversed(_parts()):
        undo()
    _installed = False


def is_installed() -> bool:
    """Whether :func:`install` is in effect."""
    return _installed
