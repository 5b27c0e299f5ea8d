"""The paper's AugMix transform: ops, sampling distributions, mixing, the timm pipelines, seeds and workers, errors."""
from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from synthetic import make_image
from timm.data import AugMixDataset, create_loader
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from timm_augmix_plugin.augmix import ALL_OPS, PAPER_OPS, AugMixPaper, create_augmix_transform, parse_policy
from timm_augmix_plugin.augmix.ops import op_argument
from timm_augmix_plugin.augmix.pil_ops import apply_op
from timm_augmix_plugin.augmix.sampling import OpParams, sample_augmix_params
from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD


class ListDataset(Dataset):
    """(image, label) pairs with a settable transform, like timm's datasets."""

    def __init__(self, images, transform=None):
        self.images, self.transform = images, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = self.images[i]
        return (self.transform(img) if self.transform is not None else img), i % 2


# ---- ops and their ranges (reference-facts 1.1) ----

@pytest.mark.parametrize("severity, op, lo, hi", [
    (3, "rotate", 0, 8), (1, "rotate", 0, 2), (3, "solarize", 180, 254), (1, "solarize", 231, 254),
    (3, "posterize", 3, 4), (1, "posterize", 4, 4), (3, "translate_x", 0, 3), (3, "shear_x", 0.003, 0.09),
    (1, "shear_y", 0.003, 0.03), (3, "color", 0.118, 0.64), (1, "sharpness", 0.118, 0.28),
])
def test_argument_ranges_match_the_papers_table(severity, op, lo, hi):
    gen = torch.Generator().manual_seed(0)
    levels = 0.1 + (severity - 0.1) * torch.rand(4000, generator=gen, dtype=torch.float64)
    args = np.array([abs(op_argument(op, float(v), False, (32, 32))) for v in levels])
    assert args.min() >= lo - 1e-9 and args.max() <= hi + 1e-9
    assert args.min() <= lo + 0.01 * max(hi, 1) and args.max() >= hi - 0.01 * max(hi, 1)  # the whole range is reached


def test_translate_range_is_a_third_of_the_image_size():
    assert op_argument("translate_x", 10, False, (224, 224)) == 74
    assert op_argument("translate_y", 2.999, True, (224, 224)) == -22
    assert op_argument("translate_x", 1, False, (32, 48)) == 1 and op_argument("translate_y", 1, False, (32, 48)) == 1


def test_op_kernels_do_what_they_say(rgb_image):
    arr = np.asarray(rgb_image).astype(int)
    shifted = np.asarray(apply_op(rgb_image, OpParams("translate_x", 5, False, 3))).astype(int)
    assert np.array_equal(shifted[:, :-3], arr[:, 3:]) and (shifted[:, -3:] == 0).all()  # black fill, paper code
    shifted = np.asarray(apply_op(rgb_image, OpParams("translate_y", 5, True, -2))).astype(int)
    assert np.array_equal(shifted[2:], arr[:-2]) and (shifted[:2] == 0).all()
    post = np.asarray(apply_op(rgb_image, OpParams("posterize", 5, False, 3)))
    assert (post % 32 == 0).all()
    sol = np.asarray(apply_op(rgb_image, OpParams("solarize", 5, False, 200))).astype(int)
    assert np.array_equal(sol, np.where(arr >= 200, 255 - arr, arr))
    filled = np.asarray(apply_op(rgb_image, OpParams("rotate", 5, False, 30), fill=128))
    assert (filled[0, 0] == 128).all()
    dark = np.asarray(apply_op(rgb_image, OpParams("brightness", 5, False, 0.5))).astype(int)
    assert np.abs(dark - arr * 0.5).max() <= 1


# ---- sampling (reference-facts 1.2) ----

def test_sampling_distributions():
    config = parse_policy("augmix_paper")
    gen = torch.Generator().manual_seed(1)
    params = [sample_augmix_params(config, (32, 32), gen) for _ in range(3000)]
    depths = np.array([[len(c) for c in p.chains] for p in params])
    assert set(np.unique(depths)) == {1, 2, 3}
    assert np.abs(np.bincount(depths.ravel())[1:] / depths.size - 1 / 3).max() < 0.03
    assert (depths[:, 0] != depths[:, 1]).mean() > 0.5  # depth drawn per chain, not once per image
    weights = np.array([p.chain_weights for p in params])
    assert np.allclose(weights.sum(1), 1, atol=1e-6)
    assert abs(weights[:, 0].mean() - 1 / 3) < 0.02 and abs(weights[:, 0].var() - 1 / 18) < 0.01  # Dirichlet(1,1,1)
    m = np.array([p.skip_weight for p in params])
    assert abs(m.mean() - 0.5) < 0.02 and abs(m.var() - 1 / 12) < 0.01  # Beta(1, 1)
    ops = [op for p in params for chain in p.chains for op in chain]
    names = {op.name for op in ops}
    assert names == set(PAPER_OPS)
    levels = np.array([op.level for op in ops])
    assert levels.min() >= 0.1 and levels.max() < 3 and abs(levels.mean() - 1.55) < 0.03
    signs = np.array([op.negate for op in ops if op.name == "rotate"])
    assert 0.45 < signs.mean() < 0.55


def test_all_ops_and_fixed_depth():
    gen = torch.Generator().manual_seed(2)
    params = [sample_augmix_params(parse_policy("augmix_paper-all-d2-w4"), (32, 32), gen) for _ in range(500)]
    assert {op.name for p in params for c in p.chains for op in c} == set(ALL_OPS)
    assert all(len(p.chains) == 4 and all(len(c) == 2 for c in p.chains) for p in params)


def test_alpha_changes_the_weight_distribution():
    gen = torch.Generator().manual_seed(3)
    params = [sample_augmix_params(parse_policy("augmix_paper-a0.1"), (32, 32), gen) for _ in range(2000)]
    m = np.array([p.skip_weight for p in params])
    assert abs(m.var() - 0.25 / 1.2) < 0.02  # Beta(0.1, 0.1): var = 1 / (4 (2a + 1))
    w = np.array([p.chain_weights[0] for p in params])
    assert abs(w.var() - (1 / 3) * (2 / 3) / 1.3) < 0.02  # Dirichlet(0.1 x 3) marginal Beta(0.1, 0.2)


# ---- mixing (reference-facts 1.2, 1.4: on normalised tensors, convex, no clipping) ----

def test_mixing_equals_the_papers_mixing_of_normalised_tensors(rgb_image):
    aug = AugMixPaper("augmix_paper")
    params = aug.make_params(rgb_image)
    normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize(CIFAR_MEAN, CIFAR_STD)])
    paper = torch.zeros(3, 32, 32)
    for w, chain in zip(params.chain_weights, params.chains):
        img = rgb_image
        for op in chain:
            img = apply_op(img, op)
        paper += w * normalize(img)
    paper = (1 - params.skip_weight) * normalize(rgb_image) + params.skip_weight * paper
    ours = transforms.Normalize(CIFAR_MEAN, CIFAR_STD)(aug.transform(rgb_image, params))
    assert torch.allclose(ours, paper, atol=1e-5)


def test_output_is_unclipped_float_unless_uint8_is_asked_for(rgb_image):
    torch.manual_seed(0)
    out = AugMixPaper("augmix_paper")(rgb_image)
    assert out.dtype == torch.float32 and out.shape == (3, 32, 32) and 0 <= out.min() and out.max() <= 1
    assert not torch.equal(out, torch.round(out * 255) / 255)  # not quantised
    torch.manual_seed(0)
    out8 = AugMixPaper("augmix_paper", output="uint8")(rgb_image)
    assert out8.dtype == torch.uint8 and (out8.float() - out * 255).abs().max() <= 0.5 + 1e-4


# ---- seeds and workers (torch RNG, never global numpy) ----

def test_same_seed_same_views_and_numpy_state_is_irrelevant(rgb_image):
    aug = AugMixPaper("augmix_paper")
    torch.manual_seed(5)
    np.random.seed(0)
    a = [aug(rgb_image) for _ in range(3)]
    torch.manual_seed(5)
    np.random.seed(99)
    b = [aug(rgb_image) for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], a[1])
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert torch.equal(AugMixPaper(generator=g1)(rgb_image), AugMixPaper(generator=g2)(rgb_image))


def test_dataloader_workers_never_repeat_each_others_augmentations():
    images = [make_image(32, seed=0)] * 16  # identical images: any repeat would be a repeated random draw
    ds = ListDataset(images, transform=AugMixPaper("augmix_paper"))
    torch.manual_seed(0)
    batches = list(DataLoader(ds, batch_size=2, num_workers=2))
    views = torch.cat([b[0] for b in batches]).flatten(1)
    assert len(views) == 16
    assert len({tuple(v.tolist()) for v in views}) == 16


# ---- pipelines through timm ----

def test_create_transform_builds_the_paper_augmix():
    t = timm.data.create_transform(32, is_training=True, auto_augment="augmix_paper-s2-w4-all", separate=True)
    augment = t[1].transforms[0]
    assert isinstance(augment, AugMixPaper)
    assert augment.config == parse_policy("augmix_paper-s2-w4-all") and augment.output == "float"


def test_augmix_dataset_yields_clean_and_two_augmix_views():
    primary, augment, final = create_augmix_transform(32, preset="cifar", separate=True)
    ds = AugMixDataset(ListDataset([make_image(32, seed=i) for i in range(4)], (primary, augment, final)),
                       num_splits=3)
    torch.manual_seed(0)
    (clean, aug1, aug2), label = ds[0]
    assert clean.shape == aug1.shape == aug2.shape == (3, 32, 32)
    assert not torch.equal(aug1, aug2) and not torch.equal(clean, aug1)
    # the clean view is the primary (flip + pad-crop) image, normalised only
    torch.manual_seed(0)
    assert torch.allclose(clean, final(primary(make_image(32, seed=0))))


def test_cifar_preset_is_flip_then_padded_crop_before_augmix():
    primary, augment, final = create_augmix_transform(32, preset="cifar", separate=True)
    kinds = [type(t).__name__ for t in primary.transforms]
    assert kinds[1:] == ["RandomHorizontalFlip", "RandomCrop"]
    assert primary.transforms[2].padding == 4 and primary.transforms[2].size == (32, 32)
    assert final.transforms[0].mean == CIFAR_MEAN
    imagenet = create_augmix_transform(224, preset="imagenet", separate=True)
    assert imagenet[1].transforms[0].config.severity == 1
    evaluation = create_augmix_transform(224, preset="imagenet", is_training=False)
    assert evaluation(make_image(300)).shape == (3, 224, 224)


@pytest.mark.parametrize("use_prefetcher", [False, True])
def test_create_loader_with_three_splits(tmp_path, use_prefetcher):
    ds = timm.data.ImageDataset(str(_folder(tmp_path)))
    loader = create_loader(
        AugMixDataset(ds, num_splits=3), input_size=(3, 32, 32), batch_size=4, is_training=True,
        auto_augment="augmix_paper", num_aug_splits=3, use_prefetcher=use_prefetcher, num_workers=0,
        device=torch.device("cpu"), mean=CIFAR_MEAN, std=CIFAR_STD)
    x, y = next(iter(loader))
    if use_prefetcher:
        assert x.shape == (12, 3, 32, 32) and y.shape == (12,) and x.dtype == torch.float32
        clean, aug1, aug2 = torch.split(x, 4)
    else:
        clean, aug1, aug2 = x
        assert clean.shape == (4, 3, 32, 32)
    assert not torch.equal(aug1, aug2) and not torch.equal(clean, aug1)
    assert -3 < float(clean.mean()) < 3  # normalised


def _folder(tmp_path):
    root = tmp_path / "imgs"
    for c in range(2):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(4):
            make_image(32, seed=i + 10 * c).save(root / f"c{c}" / f"{i}.png")
    return root


# ---- bad input ----

def test_grayscale_is_converted_to_rgb():
    gray = make_image(32).convert("L")
    torch.manual_seed(0)
    out = AugMixPaper()(gray)
    assert out.shape == (3, 32, 32)
    assert torch.allclose(out[0], out[1]) and torch.allclose(out[1], out[2])


@pytest.mark.parametrize("image, error, message", [
    (make_image(32).convert("RGBA"), ValueError, "alpha channel"),
    (Image.new("I;16", (32, 32)), ValueError, "8-bit images"),
    (make_image(2), ValueError, "at least 3x3"),
    (torch.zeros(3, 32, 32), TypeError, "expects a PIL image"),
])
def test_bad_images_are_refused_with_the_fix(image, error, message):
    with pytest.raises(error, match=message):
        AugMixPaper()(image)


def test_cifar_crop_refuses_images_too_small_for_it():
    primary, _, _ = create_augmix_transform(32, preset="cifar", separate=True)
    with pytest.raises(ValueError, match="at least 24x24"):
        primary(make_image(16))


def test_factory_errors():
    with pytest.raises(ValueError, match="Unknown preset"):
        create_augmix_transform(32, preset="cifar10")
    with pytest.raises(ValueError, match="augmix_paper"):
        create_augmix_transform(32, policy="augmix-m3")
    with pytest.raises(ValueError, match="output must be one of"):
        AugMixPaper(output="half")


def test_fused_jsd_views_equal_the_augmix_dataset_views():
    images = [make_image(32, seed=i) for i in range(3)]
    separate = create_augmix_transform(32, preset="cifar", separate=True)
    fused = create_augmix_transform(32, preset="cifar", num_splits=3)
    reference = AugMixDataset(ListDataset(images, separate), num_splits=3)
    for i in range(3):
        torch.manual_seed(i)
        expected, _ = reference[i]
        torch.manual_seed(i)
        got = fused(images[i])
        assert len(got) == 3
        for a, b in zip(got, expected):
            assert torch.allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="not both"):
        create_augmix_transform(32, separate=True, num_splits=3)
