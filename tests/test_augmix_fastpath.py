"""The compiled affine kernel of the CPU AugMix path is PIL's bilinear affine transform, byte for byte.

``pil_ops.affine_bilinear`` (rotate, shear and fractional translate) is compared with ``Image.transform`` /
``Image.rotate`` on every rotate angle the paper's ops can produce, on shears across the whole severity range, on
random general affine matrices (scale, flip, large offsets, fully outside), on odd sizes and fill values, and on
images whose values make the final truncation sit on integer boundaries.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from timm_augmix_plugin.augmix import AugMixPaper
from timm_augmix_plugin.augmix.ops import op_argument
from timm_augmix_plugin.augmix.pil_ops import (
    affine_bilinear,
    affine_bilinear_array,
    apply_op,
    apply_op_any,
    is_identity,
    kernel_affine_coeffs,
    rotate,
    rotation_matrix,
)
from timm_augmix_plugin.augmix.sampling import OpParams
from timm_augmix_plugin.augmix.transform import AugMixJSD
from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD
from timm_augmix_plugin.testing import apply_op_reference

SIZES = [(32, 32), (37, 23), (5, 9), (3, 3)]


def _images(size: tuple[int, int], seed: int = 0) -> list[Image.Image]:
    """Noise, a gradient, a two-level image (0/255: interpolation lands on exact integers) and a flat one."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    arrays = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx * 7 + yy * 13) % 256], -1).astype(np.uint8),
        (rng.integers(0, 2, (h, w, 3)) * 255).astype(np.uint8),
        np.full((h, w, 3), 201, np.uint8),
    ]
    return [Image.fromarray(a, "RGB") for a in arrays]


def _pil_transform(img: Image.Image, coeffs: tuple[float, ...], fill: int) -> np.ndarray:
    return np.asarray(img.transform(img.size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR,
                                    fillcolor=(fill,) * 3))


def _assert_same(got: Image.Image, expected: np.ndarray, what: object) -> None:
    got_arr = np.asarray(got)
    assert got.mode == "RGB" and got_arr.shape == expected.shape, what
    if not np.array_equal(got_arr, expected):
        diff = np.argwhere(got_arr != expected)
        raise AssertionError(f"{what}: {len(diff)} bytes differ, first at {diff[0].tolist()}")


@pytest.mark.parametrize("size", SIZES)
def test_rotate_equals_pil_for_every_paper_angle(size):
    """Severity up to 10 gives integer angles in -29..29 (reference-facts 1.1); also a few fractional angles."""
    for img in _images(size):
        for angle in [*range(-29, 30), 0.5, -7.25, 45, 123.4, 359, 360, -360, 720]:
            for fill in (0, 128):
                expected = np.asarray(img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=(fill,) * 3))
                _assert_same(rotate(img, angle, fill), expected, (size, angle, fill))


def test_rotate_shortcuts():
    img = _images((32, 32))[0]
    assert rotate(img, 0) is img and rotate(img, 360) is img  # PIL returns an equal copy
    for angle in (90, 180, 270, -90):  # PIL's transpose shortcuts, taken through PIL itself
        expected = np.asarray(img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0)))
        _assert_same(rotate(img, angle, 0), expected, angle)


@pytest.mark.parametrize("size", SIZES)
def test_shear_and_fractional_translate_equal_pil(size):
    rng = np.random.default_rng(1)
    shears = [0.003, -0.003, 0.09, -0.09, 0.3, -0.3, *rng.uniform(-0.3, 0.3, 20).tolist()]
    for img in _images(size):
        for a in shears:
            for coeffs in ((1, a, 0, 0, 1, 0), (1, 0, 0, a, 1, 0)):
                _assert_same(affine_bilinear(img, coeffs, 0), _pil_transform(img, coeffs, 0), (size, coeffs))
        for t in (0.5, -1.25, 2.75, -0.001):
            for coeffs in ((1, 0, t, 0, 1, 0), (1, 0, 0, 0, 1, t), (1, 0, t, 0, 1, -t)):
                _assert_same(affine_bilinear(img, coeffs, 77), _pil_transform(img, coeffs, 77), (size, coeffs))


def test_random_affine_matrices_equal_pil():
    """Rotation, anisotropic scale, flips and offsets up to beyond the image: clipping, runs and fill paths."""
    rng = np.random.default_rng(2)
    for case in range(150):
        size = (int(rng.integers(3, 41)), int(rng.integers(3, 41)))
        img = _images(size, seed=case)[case % 3]
        theta = rng.uniform(-math.pi, math.pi)
        sx, sy = rng.uniform(0.3, 2.5, 2) * rng.choice([-1, 1], 2)
        shift = rng.uniform(-1.5, 1.5, 2) * size
        coeffs = (sx * math.cos(theta), sy * math.sin(theta), shift[0],
                  -sx * math.sin(theta), sy * math.cos(theta), shift[1])
        fill = int(rng.integers(0, 256))
        _assert_same(affine_bilinear(img, coeffs, fill), _pil_transform(img, coeffs, fill), (size, coeffs, fill))
    img = _images((16, 16))[0]
    for coeffs in ((1, 0, 0, 0, 1, 0), (1, 0, 100, 0, 1, 0), (0, 0, 3.5, 0, 0, 4.25), (1, 0, -16, 0, 1, -16)):
        _assert_same(affine_bilinear(img, coeffs, 9), _pil_transform(img, coeffs, 9), coeffs)


def test_a_224_pixel_image_equals_pil():
    img = _images((224, 224))[0]
    for angle in (-8, 3, 17):
        expected = np.asarray(img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0)))
        _assert_same(rotate(img, angle, 0), expected, angle)
    for coeffs in ((1, 0.0731, 0, 0, 1, 0), (1, 0, 0, -0.0412, 1, 0)):
        _assert_same(affine_bilinear(img, coeffs, 128), _pil_transform(img, coeffs, 128), coeffs)


def test_other_modes_go_through_pil():
    gray = Image.fromarray(np.random.default_rng(3).integers(0, 256, (12, 17), dtype=np.uint8), "L")
    coeffs = (1, 0.2, 0, 0, 1, 0)
    got = affine_bilinear(gray, coeffs, 5)
    expected = gray.transform(gray.size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR,
                              fillcolor=5)
    assert got.mode == "L" and np.array_equal(np.asarray(got), np.asarray(expected))


def test_rotation_matrix_is_cached_and_takes_any_size_sequence():
    assert rotation_matrix(7, [30, 20]) == rotation_matrix(7.0, (30, 20))
    img = Image.new("RGB", (30, 20))
    m = rotation_matrix(7, img.size)
    assert np.array_equal(np.asarray(img.transform(img.size, Image.Transform.AFFINE, m, Image.Resampling.BILINEAR)),
                          np.asarray(img.rotate(7, resample=Image.Resampling.BILINEAR)))


@pytest.mark.parametrize("name", ["rotate", "shear_x", "shear_y"])
def test_apply_op_equals_the_pil_reference_over_the_severity_range(name):
    img = _images((33, 29))[1]
    for level in np.linspace(0.1, 9.99, 25):
        for negate in (False, True):
            op = OpParams(name, float(level), negate, op_argument(name, float(level), negate, img.size))
            for fill in (0, 128):
                expected = np.asarray(apply_op_reference(img, op, fill))
                _assert_same(apply_op(img, op, fill), expected, (name, level, negate, fill))


def test_zero_translate_and_full_turns_are_the_identity():
    img = _images((20, 14))[0]
    for op in (OpParams("translate_x", 0.1, False, 0), OpParams("translate_y", 0.1, True, 0),
               OpParams("rotate", 0.1, False, 0), OpParams("rotate", 0.1, True, -360)):
        assert is_identity(op) and kernel_affine_coeffs(op, img.size) is None
        assert apply_op(img, op, 7) is img and apply_op_any(img, op, 7) is img
        assert np.array_equal(np.asarray(apply_op_reference(img, op, 7)), np.asarray(img))
    assert not is_identity(OpParams("translate_x", 5, False, 1)) and not is_identity(OpParams("rotate", 5, False, 1))


@pytest.mark.parametrize("name, arg", [("rotate", 5), ("rotate", 90), ("shear_x", 0.05), ("shear_y", -0.07),
                                       ("translate_x", 3), ("translate_y", -2), ("translate_x", 1.5),
                                       ("solarize", 200), ("equalize", None), ("posterize", 3)])
def test_apply_op_any_keeps_kernel_outputs_as_arrays(name, arg):
    """Arrays in, arrays out where the affine kernel runs; PIL images elsewhere; the pixels are apply_op's."""
    img = _images((21, 18))[0]
    op = OpParams(name, 1.0, False, arg)
    expected = np.asarray(apply_op_reference(img, op, 3))
    for given in (img, np.asarray(img), np.array(img)):
        got = apply_op_any(given, op, 3)
        assert isinstance(got, np.ndarray) == (kernel_affine_coeffs(op, img.size) is not None), (name, arg)
        assert np.array_equal(np.asarray(got), expected), (name, arg, type(given))


def test_affine_array_input_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        affine_bilinear_array(np.zeros((4, 4), np.uint8), (1, 0, 0, 0, 1, 0))
    with pytest.raises(ValueError, match="np.asarray"):
        affine_bilinear_array(np.zeros((4, 4, 3), np.float32), (1, 0, 0, 0, 1, 0))


def _pil_only_mix(img: Image.Image, params) -> np.ndarray:
    """The paper's mix in float64 pixel units, every op through PIL's own functions."""
    mix = np.zeros((img.size[1], img.size[0], 3))
    for weight, chain in zip(params.chain_weights, params.chains):
        ref = img
        for op in chain:
            ref = apply_op_reference(ref, op, 0)
        mix += weight * np.asarray(ref, dtype=np.float64)
    return (1 - params.skip_weight) * np.asarray(img, dtype=np.float64) + params.skip_weight * mix


def test_views_equal_a_pil_only_pipeline():
    """Whole AugMix views with the fast kernels == the same draws through PIL's own ops, mixed the paper's way."""
    img = _images((40, 40))[1]
    aug = AugMixPaper("augmix_paper-s10", generator=torch.Generator().manual_seed(11))
    normalised = AugMixPaper("augmix_paper-s10", mean=CIFAR_MEAN, std=CIFAR_STD)
    for _ in range(10):
        params = aug.make_params(img)
        expected = _pil_only_mix(img, params) / 255
        got = aug.transform(img, params).permute(1, 2, 0).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert 0 <= got.min() and got.max() <= 1
        got_n = normalised.transform(img, params).permute(1, 2, 0).numpy()
        np.testing.assert_allclose(got_n, (expected - np.array(CIFAR_MEAN)) / np.array(CIFAR_STD), atol=1e-5)
        assert all(isinstance(c, Image.Image) for c in aug.chains(img, params))


def test_jsd_views_are_normalised_mixes_of_the_same_chains():
    img = _images((24, 24))[0]
    jsd = AugMixJSD("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD, generator=torch.Generator().manual_seed(4))
    paper = AugMixPaper("augmix_paper", generator=torch.Generator().manual_seed(4), mean=CIFAR_MEAN, std=CIFAR_STD)
    clean, *views = jsd(img)
    mean = torch.tensor(CIFAR_MEAN).view(3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(3, 1, 1)
    expected_clean = (torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1) / 255 - mean) / std
    torch.testing.assert_close(clean, expected_clean, atol=1e-5, rtol=0)
    for view in views:
        torch.testing.assert_close(view, paper(img), atol=1e-5, rtol=0)
