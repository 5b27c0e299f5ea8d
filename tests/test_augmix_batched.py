"""Fast CPU kernels and the batched tensor AugMix: equivalence with PIL, per-sample views, JSD outputs, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from synthetic import make_image
from timm.data.transforms import MaybeToTensor
from torchvision import transforms

from timm_augmix_plugin.augmix import AugMixPaper, parse_policy
from timm_augmix_plugin.augmix.batched import (
    BatchedAugMix,
    affine,
    apply_batched_op,
    geometric_matrices,
    rotation_matrix,
    sample_batched_params,
)
from timm_augmix_plugin.augmix.pil_ops import apply_op
from timm_augmix_plugin.augmix.sampling import OpParams
from timm_augmix_plugin.augmix.transform import AugMixJSD
from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD
from timm_augmix_plugin.testing import apply_op_reference

#: op -> arguments covering the paper's ranges at severities 1..10 plus edge values
OP_CASES = {
    "autocontrast": [None], "equalize": [None],
    "posterize": [1, 3, 4], "solarize": [0, 180, 254, 256],
    "rotate": [-30, -8, 0, 1, 17], "shear_x": [-0.3, -0.05, 0.0, 0.123], "shear_y": [-0.2, 0.003, 0.07],
    "translate_x": [-12, -1, 0, 3, 40], "translate_y": [-5, 2, 11],
    "color": [0.118, 0.64, 1.9], "contrast": [0.118, 0.5, 1.9], "brightness": [0.2, 1.5], "sharpness": [0.3, 1.9],
}


def _images(size: int = 17) -> list[Image.Image]:
    """Structured, random, flat, few-level and single-flat-channel images (the LUT ops' corner cases)."""
    rng = np.random.default_rng(0)
    arrays = [np.array(make_image(size, seed=s)) for s in range(3)]
    arrays.append(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    arrays.append(np.full((size, size, 3), 77, np.uint8))
    arrays.append((rng.integers(0, 4, (size, size, 3)) * 60 + 10).astype(np.uint8))
    odd = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    odd[..., 1] = 200
    odd[0, 0] = (0, 255, 3)
    arrays.append(odd)
    return [Image.fromarray(a) for a in arrays]


def _batch(images: list[Image.Image]) -> torch.Tensor:
    return torch.stack([torch.from_numpy(np.array(img)).permute(2, 0, 1) for img in images])


def _cases():
    return [(name, arg) for name, args in OP_CASES.items() for arg in args]


# ---- the CPU path's fast kernels are PIL, bit for bit ----

@pytest.mark.parametrize("name, arg", _cases())
@pytest.mark.parametrize("fill", [0, 128])
def test_fast_pil_kernels_are_bit_exact(name, arg, fill):
    for img in _images() + [_images(32)[3].crop((0, 0, 32, 21))]:  # also a non-square image
        op = OpParams(name, 1.0, False, arg)
        assert np.array_equal(np.asarray(apply_op(img, op, fill)), np.asarray(apply_op_reference(img, op, fill))), \
            (name, arg, img.size)


# ---- every batched kernel matches the PIL path for fixed parameters ----

@pytest.mark.parametrize("name, arg", _cases())
def test_batched_kernels_match_pil_on_cpu(name, arg):
    images = _images()
    args = None if arg is None else torch.full((len(images),), float(arg), dtype=torch.float64)
    for fill in (0, 128):
        out = apply_batched_op(_batch(images), name, args, fill).permute(0, 2, 3, 1).numpy()
        ref = np.stack([np.asarray(apply_op_reference(img, OpParams(name, 1.0, False, arg), fill)) for img in images])
        # CPU interpolation is float64 as PIL's: bit-exact (accelerators use float32: within 1 level)
        assert np.array_equal(out, ref), (name, arg, fill, np.abs(out.astype(int) - ref).max())


@pytest.mark.parametrize("name", ["autocontrast", "equalize"])
def test_table_ops_are_exact_over_random_value_ranges(name):
    """Every (lo, hi) stretch / histogram shape, both paths: PIL's tables are float64 / integer formulas."""
    rng = np.random.default_rng(1)
    arrays = []
    for _ in range(400):
        lo = int(rng.integers(0, 255))
        hi = int(rng.integers(lo, 256))
        a = rng.integers(lo, hi + 1, (6, 7, 3), dtype=np.uint8)
        a[0, 0], a[1, 1] = lo, hi
        arrays.append(a)
    images = [Image.fromarray(a) for a in arrays]
    ref = np.stack([np.asarray(apply_op_reference(img, OpParams(name, 1.0, False, None))) for img in images])
    fast = np.stack([np.asarray(apply_op(img, OpParams(name, 1.0, False, None))) for img in images])
    batched = apply_batched_op(_batch(images), name, None).permute(0, 2, 3, 1).numpy()
    assert np.array_equal(fast, ref) and np.array_equal(batched, ref)


def test_batched_kernels_take_a_different_argument_per_sample():
    images = _images()[:4]
    args = torch.tensor([-8.0, 0.0, 3.0, 30.0], dtype=torch.float64)
    out = apply_batched_op(_batch(images), "rotate", args, 0)
    for i, img in enumerate(images):
        ref = np.asarray(apply_op_reference(img, OpParams("rotate", 1.0, False, int(args[i])), 0))
        assert np.array_equal(out[i].permute(1, 2, 0).numpy(), ref)


def test_rotation_matrix_is_pils():
    img = _images()[0]
    m = rotation_matrix(13, img.size)
    via_matrix = img.transform(img.size, Image.Transform.AFFINE, m, resample=Image.Resampling.BILINEAR)
    assert np.array_equal(np.asarray(via_matrix), np.asarray(img.rotate(13, resample=Image.Resampling.BILINEAR)))
    identity = geometric_matrices(["rotate"], torch.tensor([0.0]), img.size)
    assert torch.equal(identity[0], torch.tensor([1.0, 0, 0, 0, 1, 0], dtype=torch.float64))


def test_float32_interpolation_stays_within_one_level():
    """The float32 interpolation used on accelerators, run on the CPU: within 1 level of PIL, rarely off."""
    images = _images()
    x = _batch(images)
    for name, arg in [("rotate", -17.0), ("shear_x", 0.21), ("shear_y", -0.09), ("translate_x", 3.0)]:
        args = torch.full((len(images),), arg, dtype=torch.float64)
        matrices = geometric_matrices([name] * len(images), args, images[0].size)
        exact = affine(x, matrices, 0).to(torch.int16)
        approx = affine(x, matrices, 0, dtype=torch.float32).to(torch.int16)
        diff = (exact - approx).abs()
        assert diff.max() <= 1 and diff.float().mean() < 0.02, name


# ---- the whole batched view equals the PIL view for the same parameters ----

@pytest.mark.parametrize("policy", ["augmix_paper", "augmix_paper-all-s6-fill128", "augmix_paper-d2-w4-a0.5"])
def test_batched_view_equals_pil_view_with_the_same_parameters(policy):
    images = _images(24)
    module = BatchedAugMix(policy, mean=CIFAR_MEAN, std=CIFAR_STD, generator=torch.Generator().manual_seed(0))
    x = _batch(images)
    params = module.make_params(len(images), (24, 24))
    clean = torch.addcmul(module.bias, x.float(), module.scale)
    view = module.mix(x, params, clean)
    pil = AugMixPaper(policy, mean=CIFAR_MEAN, std=CIFAR_STD)
    expected = torch.stack([pil.transform(img, params.sample(i)) for i, img in enumerate(images)])
    assert torch.allclose(view, expected, atol=1e-5)


def test_jsd_outputs_shapes_normalisation_and_no_input_change():
    x = _batch(_images(20))
    before = x.clone()
    clean, aug1, aug2 = BatchedAugMix(mean=CIFAR_MEAN, std=CIFAR_STD)(x)
    assert torch.equal(x, before)
    for t in (clean, aug1, aug2):
        assert t.shape == x.shape and t.dtype == torch.float32 and t.device == x.device
    expected_clean = transforms.Normalize(CIFAR_MEAN, CIFAR_STD)(x.float() / 255)
    assert torch.allclose(clean, expected_clean, atol=1e-5)
    assert not torch.equal(aug1, aug2)


def test_float_input_gives_the_uint8_result():
    x = _batch(_images(16))
    a = BatchedAugMix(mean=CIFAR_MEAN, std=CIFAR_STD, generator=torch.Generator().manual_seed(3))(x)
    b = BatchedAugMix(mean=CIFAR_MEAN, std=CIFAR_STD, generator=torch.Generator().manual_seed(3))(x.float() / 255)
    assert all(torch.allclose(u, v, atol=1e-4) for u, v in zip(a, b))


def test_every_sample_gets_its_own_view():
    """Identical images in a batch must get different ops, levels and weights (torchvision applies one op to all)."""
    x = _batch([_images()[0]] * 32)
    module = BatchedAugMix(mean=CIFAR_MEAN, std=CIFAR_STD, generator=torch.Generator().manual_seed(1))
    params = module.make_params(32, (17, 17))
    assert len(torch.unique(params.op_index[:, 0, 0])) > 3
    assert len(torch.unique(params.skip_weight)) == 32 and len(torch.unique(params.chain_weights[:, 0])) == 32
    _, aug1, _ = module(x)
    distinct = {tuple(v.flatten()[:200].tolist()) for v in aug1}
    assert len(distinct) == 32


def test_same_generator_seed_same_views_and_num_views():
    x = _batch(_images(16))
    a = BatchedAugMix(num_views=1, mean=CIFAR_MEAN, std=CIFAR_STD, generator=torch.Generator().manual_seed(9))(x)
    b = BatchedAugMix(num_views=1, mean=CIFAR_MEAN, std=CIFAR_STD, generator=torch.Generator().manual_seed(9))(x)
    assert len(a) == 2 and all(torch.equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("kwargs, x, error, message", [
    ({}, torch.zeros(3, 8, 8, dtype=torch.uint8), ValueError, r"\(B, 3, H, W\)"),
    ({}, torch.zeros(2, 1, 8, 8, dtype=torch.uint8), ValueError, "grayscale"),
    ({}, torch.zeros(2, 3, 8, 8, dtype=torch.int32), TypeError, "uint8 .* or float"),
    ({"num_views": 0}, None, ValueError, "num_views"),
    ({"mean": (0.5, 0.5)}, None, ValueError, "3 values"),
    ({"std": (0.5, 0.0, 0.5)}, None, ValueError, "std > 0"),
])
def test_bad_input_names_the_problem(kwargs, x, error, message):
    args = {"mean": CIFAR_MEAN, "std": CIFAR_STD}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        module = BatchedAugMix(**args)
        module(x)


def test_unknown_op_and_missing_argument():
    x = _batch(_images()[:1])
    with pytest.raises(ValueError, match="Unknown AugMix op"):
        apply_batched_op(x, "blur", torch.zeros(1))
    with pytest.raises(ValueError, match="needs one argument"):
        apply_batched_op(x, "rotate", None)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_within_one_level():
    x = _batch(_images(32) * 4)
    gen = torch.Generator().manual_seed(0)
    params = sample_batched_params(parse_policy("augmix_paper-all"), x.shape[0], (32, 32), gen)
    cpu = BatchedAugMix("augmix_paper-all", mean=CIFAR_MEAN, std=CIFAR_STD)
    gpu = BatchedAugMix("augmix_paper-all", mean=CIFAR_MEAN, std=CIFAR_STD).cuda()
    chains_cpu = cpu.chains(x, params).to(torch.int16)
    chains_gpu = gpu.chains(x.cuda(), params).cpu().to(torch.int16)
    assert (chains_cpu - chains_gpu).abs().float().mean() < 0.05


# ---- the CPU path's fused outputs ----

def test_normalising_augmixpaper_equals_augmixpaper_then_normalize(rgb_image):
    plain = AugMixPaper(generator=torch.Generator().manual_seed(4))
    fused = AugMixPaper(generator=torch.Generator().manual_seed(4), mean=CIFAR_MEAN, std=CIFAR_STD)
    assert torch.allclose(fused(rgb_image), transforms.Normalize(CIFAR_MEAN, CIFAR_STD)(plain(rgb_image)), atol=1e-5)
    with pytest.raises(ValueError, match="both mean and std"):
        AugMixPaper(mean=CIFAR_MEAN)
    with pytest.raises(ValueError, match="uint8"):
        AugMixPaper(output="uint8", mean=CIFAR_MEAN, std=CIFAR_STD)


def test_augmix_jsd_equals_timms_three_way_split(rgb_image):
    """AugMixJSD == AugMixDataset(num_splits=3): final(x), final(augmix(x)), final(augmix(x)), same random draws."""
    final = transforms.Compose([MaybeToTensor(), transforms.Normalize(CIFAR_MEAN, CIFAR_STD)])
    aug = AugMixPaper(generator=torch.Generator().manual_seed(5))
    expected = [final(rgb_image), final(aug(rgb_image)), final(aug(rgb_image))]
    got = AugMixJSD(mean=CIFAR_MEAN, std=CIFAR_STD, generator=torch.Generator().manual_seed(5))(rgb_image)
    assert len(got) == 3 and all(torch.allclose(g, e, atol=1e-5) and g.is_contiguous() for g, e in zip(got, expected))
    with pytest.raises(ValueError, match="num_views"):
        AugMixJSD(mean=CIFAR_MEAN, std=CIFAR_STD, num_views=0)


@pytest.mark.parametrize("policy", ["augmix_paper", "augmix_paper-all", "augmix_paper-s10-d3-fill128"])
def test_dense_schedule_equals_grouped(policy):
    """The accelerator schedule (every op on every row, selected per row) gives the grouped schedule's pixels."""
    x = _batch(_images(32) * 2)
    module = BatchedAugMix(policy, mean=CIFAR_MEAN, std=CIFAR_STD)
    params = sample_batched_params(module.config, x.shape[0], (32, 32), torch.Generator().manual_seed(3))
    grouped = module.chains(x, params, dense=False)
    dense = module.chains(x, params, dense=True)
    assert dense.dtype == torch.uint8 and torch.equal(grouped, dense)


def test_all_views_in_one_pass_equal_view_by_view():
    """forward() runs both views' chains in one batch; each view equals mix() with the same parameters."""
    x = _batch(_images(32))
    fused = BatchedAugMix("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD, generator=torch.Generator().manual_seed(7))
    clean, aug1, aug2 = fused(x)
    gen = torch.Generator().manual_seed(7)
    ref = BatchedAugMix("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD, generator=gen)
    p1, p2 = (ref.make_params(x.shape[0], (32, 32)) for _ in range(2))
    assert torch.equal(aug1, ref.mix(x, p1, clean)) and torch.equal(aug2, ref.mix(x, p2, clean))


def test_rotation_table_rows_are_pils_matrices():
    from timm_augmix_plugin.augmix.batched import geometric_matrices_by_index, rotation_table

    table = rotation_table((32, 32))
    ops = ("rotate", "shear_x", "translate_y", "posterize")
    index = torch.tensor([0, 0, 1, 2, 3])
    args = torch.tensor([-7.0, 30.0, 0.25, -3.0, 4.0], dtype=torch.float64)
    got = geometric_matrices_by_index(ops, index, args, table)
    expected = geometric_matrices(["rotate", "rotate", "shear_x", "translate_y", "rotate"],
                                  torch.tensor([-7.0, 30.0, 0.25, -3.0, 0.0]), (32, 32))
    assert torch.equal(got, expected)
