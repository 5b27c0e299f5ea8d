"""Hook ``augmix_paper...`` policies into ``timm.data.create_transform``.

timm's ``transforms_imagenet_train`` sends every ``auto_augment`` string that starts with ``augmix`` to the module
global ``augment_and_mix_transform``, which it looks up at call time; the plugin wraps that global so its own
strings build :class:`AugMixPaper` and every other string reaches timm's function unchanged. A second, equally
transparent wrapper around ``transforms_imagenet_train`` switches the AugMix output to uint8 when timm's prefetcher
path is used (its collate only takes uint8), which is the one thing the first hook cannot see.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import timm.data.transforms_factory as _tf
from torchvision import transforms

from .config import is_plugin_policy, misspelled_policy_error
from .transform import AugMixPaper

_originals: dict[str, Callable] = {}


def _augment_and_mix_transform(original: Callable) -> Callable:
    @functools.wraps(original)
    def augment_and_mix_transform(config_str: str, hparams: dict | None = None, *args, **kwargs):
        if is_plugin_policy(config_str):
            return AugMixPaper(config_str)
        misspelled = misspelled_policy_error(config_str)  # timm would only raise a bare AssertionError
        if misspelled is not None:
            raise misspelled
        return original(config_str, hparams, *args, **kwargs)

    return augment_and_mix_transform


def _find_augmix(obj: object) -> list[AugMixPaper]:
    if isinstance(obj, AugMixPaper):
        return [obj]
    if isinstance(obj, transforms.Compose):
        return [t for step in obj.transforms for t in _find_augmix(step)]
    if isinstance(obj, (tuple, list)):
        return [t for part in obj for t in _find_augmix(part)]
    return []


def _transforms_imagenet_train(original: Callable) -> Callable:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def transforms_imagenet_train(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        misspelled = misspelled_policy_error(bound.arguments.get("auto_augment"))
        if misspelled is not None:  # timm would only raise a bare AssertionError
            raise misspelled
        result = original(*args, **kwargs)
        if is_plugin_policy(bound.arguments.get("auto_augment")) and (
                bound.arguments.get("use_prefetcher") or not bound.arguments.get("normalize", True)):
            for augment in _find_augmix(result):
                augment.output = "uint8"
        return result

    return transforms_imagenet_train


_WRAPPERS = {
    "augment_and_mix_transform": _augment_and_mix_transform,
    "transforms_imagenet_train": _transforms_imagenet_train,
}


def install() -> None:
    """Wrap timm's transform-factory globals (idempotent)."""
    for name, make_wrapper in _WRAPPERS.items():
        if name not in _originals:
            _originals[name] = getattr(_tf, name)
            setattr(_tf, name, make_wrapper(_originals[name]))


def uninstall() -> None:
    """Restore timm's original functions (idempotent)."""
    for name in list(_originals):
        setattr(_tf, name, _originals.pop(name))
