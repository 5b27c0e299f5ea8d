"""The AugMix op table (``augmix/ops.py``): the records give the paper's formulas, and every kernel reads them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from timm_augmix_plugin.augmix import batched, pil_ops
from timm_augmix_plugin.augmix.batched import op_arguments
from timm_augmix_plugin.augmix.ops import (
    ALL_OPS,
    ENHANCE_OPS,
    GEOMETRIC_OPS,
    OPS,
    PARAMETERLESS_OPS,
    SIGNED_OPS,
    get_op,
    op_argument,
)
from timm_augmix_plugin.testing.augmix_reference import _REFERENCE


def _paper_argument(name: str, level: float, sign: int, size: tuple[int, int]):
    """The paper's ``augmentations.py`` formulas, written out by hand (the oracle of the table)."""
    def int_parameter(lv, maxval):
        return int(lv * maxval / 10)

    def float_parameter(lv, maxval):
        return float(lv) * maxval / 10

    return {
        "autocontrast": None, "equalize": None,
        "posterize": 4 - int_parameter(level, 4),
        "solarize": 256 - int_parameter(level, 256),
        "rotate": sign * int_parameter(level, 30),
        "shear_x": sign * float_parameter(level, 0.3),
        "shear_y": sign * float_parameter(level, 0.3),
        "translate_x": sign * int_parameter(level, size[0] / 3),
        "translate_y": sign * int_parameter(level, size[1] / 3),
        **{n: float_parameter(level, 1.8) + 0.1 for n in ("color", "contrast", "brightness", "sharpness")},
    }[name]


LEVELS = np.concatenate([np.linspace(0.1, 10, 97), [0.1, 1 / 3, 2.5, 3.0, 9.999]])


def test_the_table_holds_every_op_once_in_the_papers_order():
    assert tuple(OPS) == ALL_OPS
    assert SIGNED_OPS == GEOMETRIC_OPS == {"rotate", "shear_x", "shear_y", "translate_x", "translate_y"}
    assert PARAMETERLESS_OPS == {"autocontrast", "equalize"}
    assert ENHANCE_OPS == {"color", "contrast", "brightness", "sharpness"}
    assert all(op.neutral is not None for op in OPS.values() if op.takes_argument and not op.geometric)


@pytest.mark.parametrize("name", ALL_OPS)
@pytest.mark.parametrize("size", [(32, 32), (37, 23), (224, 160)])
def test_record_argument_is_the_papers_formula_bit_for_bit(name, size):
    for level in LEVELS.tolist():
        for negate in (False, True):
            sign = -1 if negate and name in SIGNED_OPS else 1
            got = op_argument(name, level, negate and name in SIGNED_OPS, size)
            want = _paper_argument(name, level, sign, size)
            assert got == want and type(got) is type(want), (name, level, negate, got, want)


@pytest.mark.parametrize("size", [(32, 32), (37, 23)])
def test_vectorised_arguments_equal_the_scalar_ones(size):
    rng = np.random.default_rng(0)
    n = 500
    op_index = torch.from_numpy(rng.integers(0, len(ALL_OPS), n))
    level = torch.from_numpy(rng.uniform(0.1, 10, n))
    signed = torch.tensor([ALL_OPS[i] in SIGNED_OPS for i in op_index.tolist()])
    negate = torch.from_numpy(rng.random(n) < 0.5) & signed
    got = op_arguments(ALL_OPS, op_index, level, negate, size)
    for i in range(n):
        want = op_argument(ALL_OPS[int(op_index[i])], float(level[i]), bool(negate[i]), size)
        if want is None:
            assert torch.isnan(got[i])
        else:
            assert float(got[i]) == float(want)


def test_every_op_has_a_kernel_on_every_path():
    """PIL, the batched kernels and the reference all cover the whole table (no op meaning is missing anywhere)."""
    non_geometric = {n for n, op in OPS.items() if not op.geometric}
    assert set(batched._KERNELS) == non_geometric
    assert set(pil_ops._ARGUMENT_FREE_KERNELS) | set(pil_ops._LOOKUP_TABLES) | set(pil_ops.ENHANCERS) == non_geometric
    assert set(_REFERENCE) == set(ALL_OPS)
    affine_ops = {n for n, op in OPS.items() if op.affine_column is not None}
    assert affine_ops == GEOMETRIC_OPS - {"rotate"}
    for name in affine_ops:
        coeffs = get_op(name).affine_coeffs(0.25)
        assert sorted(coeffs) == [0.0, 0.0, 0.0, 0.25, 1.0, 1.0]


def test_unknown_op_is_named_with_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown AugMix op 'blur'.*autocontrast"):
        get_op("blur")
    with pytest.raises(ValueError, match="Unknown AugMix op"):
        op_argument("blur", 1.0, False, (32, 32))
    with pytest.raises(ValueError, match="no single-entry affine matrix"):
        get_op("rotate").affine_coeffs(3.0)
