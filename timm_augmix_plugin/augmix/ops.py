"""The paper's AugMix operations: one table of op records that every kernel reads.

Each :class:`AugMixOp` record says what an op means: whether its argument gets a random sign, whether the argument is
an int, a float or absent, whether the op is geometric (an affine map) or a PIL enhance blend, and the formula that
maps a sampled level (uniform in [0.1, severity)) to the argument (reference-facts 1.1). The PIL kernels
(:mod:`.pil_ops`), the compiled affine path and the batched tensor kernels (:mod:`.batched`) all look ops up in
:data:`OPS`, as timm's ``NAME_TO_OP`` does; the sampling lives in :mod:`.sampling`.

The formula is written once, for Python numbers and for torch tensors alike: ``parameter = trunc?(level * maxval /
10)`` (``int_parameter`` / ``float_parameter`` of the paper's code), then ``sign * parameter`` (signed ops),
``base - parameter`` (posterize, solarize) or ``parameter + offset`` (the enhance ops).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ALL_OPS",
    "ENHANCE_OPS",
    "GEOMETRIC_OPS",
    "OPS",
    "PAPER_OPS",
    "PARAMETERLESS_OPS",
    "SIGNED_OPS",
    "AugMixOp",
    "get_op",
    "op_argument",
    "op_set",
]

ArgumentKind = Literal["none", "int", "float"]


@dataclass(frozen=True)
class AugMixOp:
    """What one AugMix op means; the kernels dispatch on these fields, never on the op's name.

    Attributes:
        name: the op's name in the paper's ``augmentations.py``.
        kind: ``'int'`` / ``'float'`` argument (``int_parameter`` / ``float_parameter``), or ``'none'``.
        maxval: the paper's ``maxval`` of the level -> parameter mapping (for translate: divides the image side).
        signed: the parameter gets a random sign (the geometric ops).
        geometric: the op is an affine map of the image (bilinear, ``fill`` outside).
        enhance: the op is a PIL ``ImageEnhance`` blend with factor = the argument.
        base: the argument is ``base - parameter`` (posterize: bits kept, solarize: threshold).
        offset: the argument is ``parameter + offset`` (the enhance ops' factor).
        size_axis: translate: ``maxval`` is ``image_size[size_axis] / maxval`` (a third of the width or height).
        affine_column: shear / translate: the entry of the identity inverse matrix ``(1, 0, 0, 0, 1, 0)`` that the
            argument replaces (rotation builds PIL's rotation matrix instead).
        neutral: an argument that leaves every image unchanged (batched kernels run it on rows of other ops).
    """

    name: str
    kind: ArgumentKind
    maxval: float = 0.0
    signed: bool = False
    geometric: bool = False
    enhance: bool = False
    base: int | None = None
    offset: float | None = None
    size_axis: int | None = None
    affine_column: int | None = None
    neutral: float | None = None

    @property
    def takes_argument(self) -> bool:
        """Whether the op has an argument (all but autocontrast and equalize)."""
        return self.kind != "none"

    def argument(self, level: Any, sign: Any, image_size: tuple[int, int], trunc: Any = int) -> Any:
        """The argument for a sampled ``level`` and ``sign`` (+1 / -1), for numbers or (with ``trunc``) tensors.

        Args:
            level: the sampled level (a float, or a float64 tensor).
            sign: +1 / -1 (used by signed ops only), of the same kind as ``level``.
            image_size: ``(width, height)``; translate ranges are a third of the image side.
            trunc: ``int`` for numbers, ``torch.trunc`` for tensors: the paper's ``int()`` of ``int_parameter``.

        Returns:
            None for argument-free ops.
        """
        if self.kind == "none":
            return None
        maxval = image_size[self.size_axis] / self.maxval if self.size_axis is not None else self.maxval
        parameter = level * maxval / 10
        if self.kind == "int":
            parameter = trunc(parameter)
        if self.signed:
            return sign * parameter
        if self.base is not None:
            return self.base - parameter
        if self.offset is not None:
            return parameter + self.offset
        return parameter

    def affine_coeffs(self, argument: float) -> tuple[float, ...]:
        """The inverse affine matrix ``(a, b, c, d, e, f)`` of a shear / translate with ``argument``."""
        if self.affine_column is None:
            raise ValueError(f"AugMix op {self.name!r} has no single-entry affine matrix "
                             "(rotation uses pil_ops.rotation_matrix).")
        coeffs = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        coeffs[self.affine_column] = float(argument)
        return tuple(coeffs)


def _enhance(name: str) -> AugMixOp:
    return AugMixOp(name, "float", 1.8, enhance=True, offset=0.1, neutral=1.0)


#: Every AugMix op, in the paper's order (``augmentations_all``).
OPS: dict[str, AugMixOp] = {op.name: op for op in (
    AugMixOp("autocontrast", "none"),
    AugMixOp("equalize", "none"),
    AugMixOp("posterize", "int", 4, base=4, neutral=8.0),
    AugMixOp("rotate", "int", 30, signed=True, geometric=True),
    AugMixOp("solarize", "int", 256, base=256, neutral=256.0),
    AugMixOp("shear_x", "float", 0.3, signed=True, geometric=True, affine_column=1),
    AugMixOp("shear_y", "float", 0.3, signed=True, geometric=True, affine_column=3),
    AugMixOp("translate_x", "int", 3, signed=True, geometric=True, size_axis=0, affine_column=2),
    AugMixOp("translate_y", "int", 3, signed=True, geometric=True, size_axis=1, affine_column=5),
    _enhance("color"),
    _enhance("contrast"),
    _enhance("brightness"),
    _enhance("sharpness"),
)}

#: ``augmentations`` of the paper's code (the default 9 ops).
PAPER_OPS: tuple[str, ...] = (
    "autocontrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y", "translate_x", "translate_y",
)
#: ``augmentations_all`` (13 ops): adds the four ops that overlap with ImageNet-C's test corruptions.
ALL_OPS: tuple[str, ...] = PAPER_OPS + ("color", "contrast", "brightness", "sharpness")
#: Ops whose argument gets a random sign.
SIGNED_OPS: frozenset[str] = frozenset(n for n, op in OPS.items() if op.signed)
#: Ops that take no argument.
PARAMETERLESS_OPS: frozenset[str] = frozenset(n for n, op in OPS.items() if not op.takes_argument)
#: The PIL ``ImageEnhance`` ops (``-all`` only).
ENHANCE_OPS: frozenset[str] = frozenset(n for n, op in OPS.items() if op.enhance)
#: The affine ops (rotate, shear, translate).
GEOMETRIC_OPS: frozenset[str] = frozenset(n for n, op in OPS.items() if op.geometric)


def get_op(name: str) -> AugMixOp:
    """The record of the op ``name``.

    Raises:
        ValueError: ``name`` is not an AugMix op.
    """
    try:
        return OPS[name]
    except KeyError:
        raise ValueError(f"Unknown AugMix op {name!r}; valid ops: {', '.join(ALL_OPS)}.") from None


def op_set(all_ops: bool) -> tuple[str, ...]:
    """The op list the paper's ``aug()`` picks from."""
    return ALL_OPS if all_ops else PAPER_OPS


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
    return get_op(name).argument(float(level), -1 if negate else 1, image_size)
