"""Hook ``augmix_paper...`` policies (and the ``augmix_cifar`` crop) into ``timm.data.create_transform``.

Two module globals of ``timm.data.transforms_factory`` are wrapped; both are looked up by timm at call time, and
every name that is not the plugin's reaches timm's function unchanged:

* ``augment_and_mix_transform``, which timm's ``transforms_imagenet_train`` calls for every ``auto_augment`` string
  that starts with ``augmix``: the plugin's strings build :class:`AugMixPaper`. It reads the calling
  ``transforms_imagenet_train``'s own arguments, so the output type fits the steps timm puts after it: uint8 for the
  prefetcher / ``normalize=False`` path (timm's ``fast_collate`` only takes uint8), float in [0, 1] otherwise. This
  holds whatever was imported first, even for a ``transforms_imagenet_train`` imported before the plugin.
* ``transforms_imagenet_train`` itself (reached through ``create_transform``), for two things the first hook cannot
  do: ``train_crop_mode='augmix_cifar'`` (the paper's CIFAR crop: random crop with zero padding, 4 px at 32 px,
  instead of the random resized crop), and, for the plugin's policies on the normalised path, normalising the AugMix
  views in the mixing pass and the clean view in one pass (:class:`NormalizedToTensor` replaces timm's
  ``MaybeToTensor() + Normalize``; same numbers up to float32 rounding).
"""
from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable

import timm.data.transforms_factory as _tf
from timm.data.transforms import MaybeToTensor, RandomResizedCropAndInterpolation
from torchvision import transforms

from .config import is_plugin_policy, misspelled_policy_error
from .factory import cifar_crop_padding
from .transform import AugMixPaper, NormalizedToTensor

__all__ = ["CIFAR_CROP_MODE", "install", "uninstall"]

#: The plugin's value of timm's ``train_crop_mode``: the paper's CIFAR crop (zero padding + random crop).
CIFAR_CROP_MODE = "augmix_cifar"

_originals: dict[str, Callable] = {}


def _timm_train_arguments() -> dict | None:
    """The arguments of timm's own ``transforms_imagenet_train`` when it is the caller's caller, else None."""
    original = _originals.get("transforms_imagenet_train", _tf.transforms_imagenet_train)
    code = inspect.unwrap(original).__code__
    frame = sys._getframe(2)
    while frame is not None and frame.f_code is not code:
        frame = frame.f_back if frame.f_code.co_name == "augment_and_mix_transform" else None
    return None if frame is None else frame.f_locals


def _augment_and_mix_transform(original: Callable) -> Callable:
    @functools.wraps(original)
    def augment_and_mix_transform(config_str: str, hparams: dict | None = None, *args, **kwargs):
        if not is_plugin_policy(config_str):
            misspelled = misspelled_policy_error(config_str)  # timm would only raise a bare AssertionError
            if misspelled is not None:
                raise misspelled
            return original(config_str, hparams, *args, **kwargs)
        caller = _timm_train_arguments()
        uint8 = caller is not None and (caller.get("use_prefetcher") or not caller.get("normalize", True))
        return AugMixPaper(config_str, output="uint8" if uint8 else "float")

    return augment_and_mix_transform


def _find(obj: object, kind: type) -> list:
    if isinstance(obj, kind):
        return [obj]
    if isinstance(obj, transforms.Compose):
        return [t for step in obj.transforms for t in _find(step, kind)]
    if isinstance(obj, (tuple, list)):
        return [t for part in obj for t in _find(part, kind)]
    return []


def _composes(result: object) -> list[transforms.Compose]:
    return [t for t in (result if isinstance(result, tuple) else (result,)) if isinstance(t, transforms.Compose)]


def _use_cifar_crop(result: object, img_size) -> None:
    side = min(img_size) if isinstance(img_size, (tuple, list)) else img_size
    for compose in _composes(result):
        compose.transforms = [
            transforms.RandomCrop(img_size, padding=cifar_crop_padding(side))
            if isinstance(t, RandomResizedCropAndInterpolation) else t for t in compose.transforms]


def _fuse_normalization(result: object, mean, std) -> None:
    """AugMix views normalised in the mixing pass; timm's ``MaybeToTensor() + Normalize`` -> NormalizedToTensor."""
    augments = _find(result, AugMixPaper)
    if not augments or any(a.output != "float" or a.mean is not None for a in augments):
        return
    for compose in _composes(result):
        steps = compose.transforms
        for i in range(len(steps) - 1):
            if isinstance(steps[i], MaybeToTensor) and isinstance(steps[i + 1], transforms.Normalize):
                final = NormalizedToTensor(mean, std)
                compose.transforms = steps[:i] + [final] + steps[i + 2:]
                for augment in augments:
                    augment.set_normalization(final.mean, final.std)
                return


def _transforms_imagenet_train(original: Callable) -> Callable:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def transforms_imagenet_train(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        misspelled = misspelled_policy_error(arguments.get("auto_augment"))
        if misspelled is not None:  # timm would only raise a bare AssertionError
            raise misspelled
        cifar_crop = arguments.get("train_crop_mode") == CIFAR_CROP_MODE
        if cifar_crop:
            if arguments.get("naflex"):
                raise ValueError(f"train_crop_mode={CIFAR_CROP_MODE!r} (the paper's CIFAR crop) does not apply to "
                                 "NaFlex sequence inputs; use timm's crop modes there.")
            arguments["train_crop_mode"] = "rrc"
        result = original(*bound.args, **bound.kwargs)
        if cifar_crop:
            _use_cifar_crop(result, arguments["img_size"])
        if is_plugin_policy(arguments.get("auto_augment")) and arguments.get("normalize", True) and not arguments.get(
                "use_prefetcher"):
            _fuse_normalization(result, arguments["mean"], arguments["std"])
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
