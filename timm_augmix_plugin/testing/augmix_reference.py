"""The AugMix ops through PIL's own calls only, as the paper's ``augmentations.py`` makes them: the oracle that the
fast PIL kernels (:mod:`timm_augmix_plugin.augmix.pil_ops`) and the batched tensor kernels are checked against."""
from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageEnhance, ImageOps

from ..augmix.sampling import OpParams

__all__ = ["apply_op_reference"]


def _affine(coeffs: Callable[[float], tuple[float, ...]]) -> Callable[[Image.Image, float, int], Image.Image]:
    def op(img: Image.Image, arg: float, fill: int) -> Image.Image:
        return img.transform(img.size, Image.Transform.AFFINE, coeffs(arg), resample=Image.Resampling.BILINEAR,
                             fillcolor=(fill,) * len(img.getbands()))
    return op


def _enhance(enhancer: type) -> Callable[[Image.Image, float, int], Image.Image]:
    return lambda img, arg, fill: enhancer(img).enhance(arg)


_REFERENCE: dict[str, Callable[[Image.Image, float, int], Image.Image]] = {
    "autocontrast": lambda img, arg, fill: ImageOps.autocontrast(img),
    "equalize": lambda img, arg, fill: ImageOps.equalize(img),
    "posterize": lambda img, arg, fill: ImageOps.posterize(img, int(arg)),
    "solarize": lambda img, arg, fill: ImageOps.solarize(img, int(arg)),
    "rotate": lambda img, arg, fill: img.rotate(arg, resample=Image.Resampling.BILINEAR,
                                                fillcolor=(fill,) * len(img.getbands())),
    "shear_x": _affine(lambda a: (1, a, 0, 0, 1, 0)),
    "shear_y": _affine(lambda a: (1, 0, 0, a, 1, 0)),
    "translate_x": _affine(lambda a: (1, 0, a, 0, 1, 0)),
    "translate_y": _affine(lambda a: (1, 0, 0, 0, 1, a)),
    "color": _enhance(ImageEnhance.Color),
    "contrast": _enhance(ImageEnhance.Contrast),
    "brightness": _enhance(ImageEnhance.Brightness),
    "sharpness": _enhance(ImageEnhance.Sharpness),
}


def apply_op_reference(img: Image.Image, op: OpParams, fill: int = 0) -> Image.Image:
    """The op through PIL's own functions only (``ImageOps`` / ``transform``): the reference the fast kernels match.

    Raises:
        ValueError: an unknown op name.
    """
    try:
        reference = _REFERENCE[op.name]
    except KeyError:
        raise ValueError(f"Unknown AugMix op {op.name!r}.") from None
    return reference(img, op.argument, fill)
