"""The paper's AugMix operations: names, op sets and the severity-level -> argument mapping.

Every op's argument is a pure function of the sampled level (uniform in [0.1, severity)), a random sign for the
geometric ops, and the image size for translate (reference-facts 1.1). Application lives in :mod:`.pil_ops`
(PIL images) and the batched tensor kernels; sampling lives in :mod:`.sampling`.
"""
from __future__ import annotations

#: ``augmentations`` of the paper's code (the default 9 ops).
PAPER_OPS: tuple[str, ...] = (
    "autocontrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y", "translate_x", "translate_y",
)
#: ``augmentations_all`` (13 ops): adds the four ops that overlap with ImageNet-C's test corruptions.
ALL_OPS: tuple[str, ...] = PAPER_OPS + ("color", "contrast", "brightness", "sharpness")
#: Ops whose argument gets a random sign.
SIGNED_OPS: frozenset[str] = frozenset({"rotate", "shear_x", "shear_y", "translate_x", "translate_y"})
#: Ops that take no argument.
PARAMETERLESS_OPS: frozenset[str] = frozenset({"autocontrast", "equalize"})
ENHANCE_OPS: frozenset[str] = frozenset({"color", "contrast", "brightness", "sharpness"})


def op_set(all_ops: bool) -> tuple[str, ...]:
    """The op list the paper's ``aug()`` picks from."""
    return ALL_OPS if all_ops else PAPER_OPS


def int_parameter(level: float, maxval: float) -> int:
    """``int(level * maxval / 10)``, as in the paper's code."""
    return int(level * maxval / 10)


def float_parameter(level: float, maxval: float) -> float:
    """``level * maxval / 10``, as in the paper's code."""
    return float(level) * maxval / 10


def op_argument(name: str, level: float, negate: bool, image_size: tuple[int, int]) -> float | int | None:
    """The argument the op ``name`` is applied with for a sampled ``level``.

    Args:
        name: op name from :data:`ALL_OPS`.
        level: sampled level in [0.1, severity).
        negate: the random sign draw (only used by :data:`SIGNED_OPS`).
        image_size: ``(width, height)``; translate ranges are a third of the image size.

    Returns:
        degrees (rotate), shear factor, translate pixels, bits kept (posterize), threshold (solarize),
        enhance factor (color/contrast/brightness/sharpness) or None (autocontrast, equalize).
    """
    sign = -1 if negate else 1
    if name in PARAMETERLESS_OPS:
        return None
    if name == "posterize":
        return 4 - int_parameter(level, 4)
    if name == "solarize":
        return 256 - int_parameter(level, 256)
    if name == "rotate":
        return sign * int_parameter(level, 30)
    if name in ("shear_x", "shear_y"):
        return sign * float_parameter(level, 0.3)
    if name == "translate_x":
        return sign * int_parameter(level, image_size[0] / 3)
    if name == "translate_y":
        return sign * int_parameter(level, image_size[1] / 3)
    if name in ENHANCE_OPS:
        return float_parameter(level, 1.8) + 0.1
    raise ValueError(f"Unknown AugMix op {name!r}; valid ops: {', '.join(ALL_OPS)}.")
