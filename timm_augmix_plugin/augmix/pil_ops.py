"""AugMix op kernels on PIL images: pure functions of (image, op parameters), no randomness."""
from __future__ import annotations

from PIL import Image, ImageEnhance, ImageOps

from .sampling import OpParams

_ENHANCERS = {
    "color": ImageEnhance.Color,
    "contrast": ImageEnhance.Contrast,
    "brightness": ImageEnhance.Brightness,
    "sharpness": ImageEnhance.Sharpness,
}


def _affine(img: Image.Image, coeffs: tuple[float, ...], fill: int) -> Image.Image:
    return img.transform(img.size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR,
                         fillcolor=(fill,) * len(img.getbands()))


def apply_op(img: Image.Image, op: OpParams, fill: int = 0) -> Image.Image:
    """Apply one AugMix op to an RGB PIL image, exactly as the paper's ``augmentations.py`` does.

    Args:
        img: RGB image.
        op: the op and its argument (see :func:`~timm_augmix_plugin.augmix.ops.op_argument`).
        fill: border value of rotate/shear/translate (the paper's code leaves 0).
    """
    name, arg = op.name, op.argument
    if name == "autocontrast":
        return ImageOps.autocontrast(img)
    if name == "equalize":
        return ImageOps.equalize(img)
    if name == "posterize":
        return ImageOps.posterize(img, int(arg))
    if name == "solarize":
        return ImageOps.solarize(img, int(arg))
    if name == "rotate":
        return img.rotate(arg, resample=Image.Resampling.BILINEAR, fillcolor=(fill,) * len(img.getbands()))
    if name == "shear_x":
        return _affine(img, (1, arg, 0, 0, 1, 0), fill)
    if name == "shear_y":
        return _affine(img, (1, 0, 0, arg, 1, 0), fill)
    if name == "translate_x":
        return _affine(img, (1, 0, arg, 0, 1, 0), fill)
    if name == "translate_y":
        return _affine(img, (1, 0, 0, 0, 1, arg), fill)
    if name in _ENHANCERS:
        return _ENHANCERS[name](img).enhance(arg)
    raise ValueError(f"Unknown AugMix op {name!r}.")
