"""Tests for timm_augmix_plugin.corruptions: API contract, determinism, and statistics against reference parameters."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from timm_augmix_plugin.corruptions import (
    ALL_CORRUPTIONS,
    BENCHMARK_CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    corrupt,
    frost_assets,
    resolve_params,
    select_table,
)
from timm_augmix_plugin.corruptions.blur import disk_kernel, motion_offsets
from timm_augmix_plugin.corruptions.kernels import glass_shuffle
from timm_augmix_plugin.corruptions.noise import noise_cdf
from timm_augmix_plugin.corruptions.weather import plasma_fractal_batch

RANDOM_FREE = {"defocus_blur", "zoom_blur", "brightness", "contrast", "pixelate", "jpeg_compression", "gaussian_blur",
               "saturate"}


def natural_batch(n: int = 4, size: int = 32, seed: int = 0) -> np.ndarray:
    """Smooth random images (upsampled noise) with edges: closer to photos than white noise."""
    g = np.random.default_rng(seed)
    base = torch.from_numpy(g.random((n, 3, 6, 6), dtype=np.float64))
    up = torch.nn.functional.interpolate(base, size=(size, size), mode="bicubic", align_corners=False)
    arr = (up.clamp(0, 1) * 200 + 28).permute(0, 2, 3, 1).numpy().astype(np.uint8)
    arr[:, size // 4:size // 2, size // 4:size // 2] = 240  # a bright square gives sharp edges
    return arr


def hf_energy(x: np.ndarray) -> float:
    """Mean squared Laplacian: high-frequency energy that blurs remove."""
    f = x.astype(np.float64)
    lap = 4 * f[:, 1:-1, 1:-1] - f[:, :-2, 1:-1] - f[:, 2:, 1:-1] - f[:, 1:-1, :-2] - f[:, 1:-1, 2:]
    return float((lap ** 2).mean())


def test_names_match_reference_order():
    assert BENCHMARK_CORRUPTIONS == (
        "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
        "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression")
    assert EXTRA_CORRUPTIONS == ("speckle_noise", "gaussian_blur", "spatter", "saturate")
    from timm_augmix_plugin.corruptions import CORRUPTION_FUNCTIONS
    assert tuple(CORRUPTION_FUNCTIONS) == ALL_CORRUPTIONS


@pytest.mark.parametrize("name", ALL_CORRUPTIONS)
def test_shape_dtype_type_and_determinism(name):
    x = natural_batch(3)
    y = corrupt(x, name, 3, seed=7)
    assert isinstance(y, np.ndarray) and y.dtype == np.uint8 and y.shape == x.shape
    assert not np.array_equal(y, x), "the corruption must change the image"
    np.testing.assert_array_equal(corrupt(x, name, 3, seed=7), y)
    # single image, and batch independence: image i of a batch == that image alone at start_index=i
    single = corrupt(x[1], name, 3, seed=7, start_index=1)
    assert single.shape == x[1].shape and single.dtype == np.uint8
    np.testing.assert_array_equal(single, y[1])
    # torch in, torch out, same values
    t = corrupt(torch.from_numpy(x), name, 3, seed=7)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.uint8 and tuple(t.shape) == x.shape
    np.testing.assert_array_equal(t.numpy(), y)
    t1 = corrupt(torch.from_numpy(x[0]), name, 3, seed=7)
    assert isinstance(t1, torch.Tensor) and tuple(t1.shape) == x[0].shape
    if name not in RANDOM_FREE:
        assert not np.array_equal(corrupt(x, name, 3, seed=8), y), "a different seed must give different noise"


@pytest.mark.parametrize("name", ALL_CORRUPTIONS)
def test_other_sizes_and_tables(name):
    x = natural_batch(2, size=40)[:, :, :36]  # non-square 40 x 36
    y = corrupt(x, name, 5, seed=0)
    assert y.shape == x.shape and y.dtype == np.uint8
    y224 = corrupt(natural_batch(1, size=32), name, 1, seed=0, size_table=224)
    assert y224.shape == (1, 32, 32, 3)


def test_input_errors():
    x = natural_batch(1)[0]
    with pytest.raises(TypeError, match="uint8"):
        corrupt(x.astype(np.float32), "contrast", 1)
    with pytest.raises(TypeError, match="uint8"):
        corrupt(torch.from_numpy(x).float(), "contrast", 1)
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        corrupt(x.tolist(), "contrast", 1)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        corrupt(x[..., 0], "contrast", 1)  # grayscale
    with pytest.raises(ValueError, match="alpha"):
        corrupt(np.concatenate([x, x[..., :1]], axis=-1), "contrast", 1)  # RGBA
    with pytest.raises(ValueError, match="gaussian_noise.*jpeg_compression.*saturate"):
        corrupt(x, "gaussian_nois", 1)
    for bad in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match="severity"):
            corrupt(x, "contrast", bad)
    with pytest.raises(ValueError, match="seed"):
        corrupt(x, "contrast", 1, seed=-1)
    with pytest.raises(ValueError, match="size_table"):
        corrupt(x, "contrast", 1, size_table=100)
    with pytest.raises(ValueError, match="at least"):
        corrupt(np.zeros((4, 4, 3), np.uint8), "contrast", 1)


def test_size_rule():
    assert [select_table(s, s) for s in (32, 40, 64, 100, 119, 150, 224, 512)] == [32, 32, 64, 64, 64, 224, 224, 224]
    p = resolve_params("defocus_blur", 5, 40, 40)
    assert p.table == 32 and p.scale == 1.25 and p.value == pytest.approx((1.5 * 1.25, 0.1 * 1.25))
    assert resolve_params("gaussian_noise", 5, 40, 40).value == 0.10  # ratios are not scaled
    assert resolve_params("fog", 1, 224, 224).fog_mapsize == 256
    assert resolve_params("fog", 1, 32, 32).fog_mapsize == 32
    assert resolve_params("elastic_transform", 1, 224, 224).value == pytest.approx((488, 170.8, 24.4))
    assert resolve_params("frost", 1, 64, 64).frost_scale == pytest.approx(0.3)
    # zoom factors: np.arange(1, 1.06, 0.01) includes 1.06 through float rounding, as in the reference
    assert len(resolve_params("zoom_blur", 1, 32, 32).value) == len(np.arange(1, 1.06, 0.01))


# ---- statistics against the reference parameters (reference-facts section 3) ----------------------------------------

GREY = np.full((64, 32, 32, 3), 128, dtype=np.uint8)


@pytest.mark.parametrize("table", [32, 224])
def test_gaussian_noise_std_equals_c(table):
    stds = []
    for s in range(1, 6):
        c = resolve_params("gaussian_noise", s, 32, 32, table).value
        y = corrupt(GREY, "gaussian_noise", s, seed=s, size_table=table).astype(np.float64) / 255
        unclipped = 128 / 255 / c > 3
        if unclipped:
            assert y.std() == pytest.approx(c, rel=0.03)
        stds.append(y.std())
    assert np.all(np.diff(stds) > 0)


def test_shot_noise_variance_is_poisson():
    x = 128 / 255
    for s in range(1, 6):
        c = resolve_params("shot_noise", s, 32, 32).value
        y = corrupt(GREY, "shot_noise", s, seed=s).astype(np.float64) / 255
        assert y.std() == pytest.approx(np.sqrt(x / c), rel=0.05)
        assert y.mean() == pytest.approx(x, abs=0.01)


def test_shot_noise_table_is_exact_poisson():
    cdf = noise_cdf("shot", 3.0)  # 224 px severity 5: lambda = 3 v / 255
    pmf = np.diff(np.concatenate([np.zeros((256, 1)), cdf], axis=1), axis=1)
    out = np.arange(256)
    # v = 255: k ~ Poisson(3), output = floor(min(k / 3, 1) * 255)
    from scipy import stats
    assert pmf[255, 0] == pytest.approx(stats.poisson.pmf(0, 3))
    assert pmf[255, 85] == pytest.approx(stats.poisson.pmf(1, 3))
    assert pmf[255, 255] == pytest.approx(stats.poisson.sf(2, 3))
    assert (pmf[0] == (out == 0)).all()


def test_impulse_noise_fraction_equals_c():
    for s in range(1, 6):
        c = resolve_params("impulse_noise", s, 32, 32).value
        y = corrupt(GREY, "impulse_noise", s, seed=s)
        changed = y != 128
        assert changed.mean() == pytest.approx(c, rel=0.1)
        assert set(np.unique(y[changed])) <= {0, 255}
        assert (y == 255).mean() == pytest.approx(c / 2, rel=0.15)


def test_speckle_noise_std_proportional_to_intensity():
    for s in (1, 5):
        c = resolve_params("speckle_noise", s, 32, 32).value
        y = corrupt(np.full((32, 32, 32, 3), 100, np.uint8), "speckle_noise", s, seed=0).astype(np.float64) / 255
        assert y.std() == pytest.approx(100 / 255 * c, rel=0.05)
    assert (corrupt(np.zeros((32, 32, 3), np.uint8), "speckle_noise", 5, seed=0) == 0).all()


def test_contrast_ratio_equals_c():
    x = natural_batch(8)
    for s in range(1, 6):
        c = resolve_params("contrast", s, 32, 32).value
        y = corrupt(x, "contrast", s)
        ratio = y.astype(np.float64).std(axis=(1, 2)) / x.astype(np.float64).std(axis=(1, 2))
        assert np.median(ratio) == pytest.approx(c, abs=0.03)
        np.testing.assert_allclose(y.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=1.0)


@pytest.mark.parametrize("table", [32, 224])
def test_brightness_shifts_hsv_value_by_c(table):
    x = (natural_batch(4).astype(np.float64) * 0.5).astype(np.uint8)  # V <= 0.5 so V + c is never clipped
    v_in = x.max(axis=-1).astype(np.float64) / 255
    for s in range(1, 6):
        c = resolve_params("brightness", s, 32, 32, table).value
        y = corrupt(x, "brightness", s, size_table=table)
        v_out = y.max(axis=-1).astype(np.float64) / 255
        assert (v_out - v_in).mean() == pytest.approx(c, abs=1.5 / 255)
        # hue and saturation kept: channel ratios preserved
        keep = x.min(axis=-1) > 20
        np.testing.assert_allclose((y[keep] / y[keep].max(-1, keepdims=True)),
                                   (x[keep] / x[keep].max(-1, keepdims=True)), atol=0.02)


def test_saturate_scales_saturation():
    x = natural_batch(4)
    def sat(a):
        a = a.astype(np.float64)
        return (a.max(-1) - a.min(-1)) / np.maximum(a.max(-1), 1)
    for s in (1, 2, 3):
        mul, add = resolve_params("saturate", s, 32, 32).value
        y = corrupt(x, "saturate", s)
        mask = sat(x) * mul + add < 0.95
        assert np.median(sat(y)[mask] / np.maximum(sat(x)[mask], 1e-6)) == pytest.approx(mul, rel=0.1)
        np.testing.assert_allclose(y.max(-1), x.max(-1), atol=1)  # value kept


@pytest.mark.parametrize("name", ["defocus_blur", "gaussian_blur", "motion_blur", "zoom_blur"])
def test_blurs_reduce_high_frequencies_with_severity(name):
    x = natural_batch(8)
    energies = [hf_energy(corrupt(x, name, s, seed=0)) for s in range(1, 6)]
    assert energies[0] < hf_energy(x)
    assert energies[-1] < 0.6 * energies[0]
    if name != "motion_blur":  # motion blur draws a new angle per call; its radius/sigma barely change from s3 to s4
        assert all(b <= a * 1.05 for a, b in zip(energies, energies[1:], strict=False)), energies


def test_glass_blur_jitters_then_blurs():
    x = natural_batch(8)
    change = [np.abs(corrupt(x, "glass_blur", s, seed=0).astype(int) - x).mean() for s in (1, 5)]
    assert 0 < change[0] < change[1]
    x64 = natural_batch(4, size=64)
    assert hf_energy(corrupt(x64, "glass_blur", 5, seed=0)) < hf_energy(x64)  # Tiny table s5: sigma 0.9


def test_glass_shuffle_copies_instead_of_swapping():
    img = np.arange(6 * 6, dtype=np.uint8).reshape(1, 6, 6, 1).repeat(3, axis=-1)
    npos = 4 * 4
    offsets = np.full((1, 1, npos, 2), -1, dtype=np.int16)  # every visited pixel copies its upper-left neighbour
    out = img.copy()
    glass_shuffle(out, offsets, 1)
    # positions are visited from bottom-right to top-left, so every source is still original when read
    np.testing.assert_array_equal(out[0, 2:6, 2:6, 0], img[0, 1:5, 1:5, 0])
    # a real swap would have moved the visited values up-left; the copy leaves row/column 1 untouched
    np.testing.assert_array_equal(out[0, 1, :, 0], img[0, 1, :, 0])


def test_motion_blur_offsets_follow_imagemagick():
    dx, dy = motion_offsets(5, np.array([0.0, 90.0, -45.0]))
    np.testing.assert_array_equal(dx[0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(dy[0], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(dx[1], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(dy[1], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(dy[2], -dx[2])


def test_defocus_kernel_is_normalised_disk():
    for r, a in [(0.3, 0.4), (1.5, 0.1), (3, 0.1)]:
        k = disk_kernel(r, a)
        assert k.sum() == pytest.approx(1.0, abs=1e-5)
        assert k.shape[0] % 2 == 1 and np.allclose(k, k.T)
    # radius 10: the disk touches the 21 x 21 border, and the mirrored antialiasing (as cv2 in the reference)
    # adds a little mass
    k = disk_kernel(10, 0.5)
    assert k.shape == (21, 21) and k.sum() == pytest.approx(1.0, abs=0.02)


def test_jpeg_and_pixelate_match_pillow():
    x = natural_batch(2)
    for s, q in enumerate([80, 65, 58, 50, 40], start=1):
        buf = io.BytesIO()
        Image.fromarray(x[0]).save(buf, format="JPEG", quality=q)
        np.testing.assert_array_equal(corrupt(x, "jpeg_compression", s)[0], np.asarray(Image.open(buf)))
    errors = [np.abs(corrupt(x, "jpeg_compression", s).astype(int) - x).mean() for s in range(1, 6)]
    assert errors[-1] > errors[0]
    c = 0.65
    ref = Image.fromarray(x[1]).resize((int(32 * c),) * 2, Image.Resampling.BOX).resize((32, 32), Image.Resampling.BOX)
    np.testing.assert_array_equal(corrupt(x, "pixelate", 5)[1], np.asarray(ref))


def test_elastic_transform_moves_pixels():
    x = natural_batch(8)
    for s in range(1, 6):
        y = corrupt(x, "elastic_transform", s, seed=3)
        assert np.abs(y.astype(int) - x).mean() > 1
        np.testing.assert_allclose(y.mean(), x.mean(), rtol=0.05)  # a geometric warp keeps the overall level


@pytest.mark.parametrize("name", ["fog", "frost", "snow", "spatter"])
def test_effect_grows_with_severity(name):
    x = natural_batch(8)
    change = [np.abs(corrupt(x, name, s, seed=3).astype(int) - x).mean() for s in (1, 5)]
    assert change[1] > change[0] > 0


def test_fog_brightens_dark_images_and_plasma_range():
    p = plasma_fractal_batch(3, 32, 2.0, [np.random.default_rng(i) for i in range(3)])
    assert p.shape == (3, 32, 32) and p.min() == 0 and p.max() == 1
    flat = np.full((4, 32, 32, 3), 60, np.uint8)
    y = corrupt(flat, "fog", 5, seed=0)
    # (x + c * plasma) * max / (max + c) stays below the input maximum and varies with the plasma
    assert y.max() <= 60 and y.std() > 1


def test_frost_uses_packaged_textures_and_blend_weights():
    x = np.zeros((4, 32, 32, 3), np.uint8)
    y = corrupt(x, "frost", 1, seed=0).astype(np.float64)  # (1, 0.2): output = 0.2 * frost texture
    textures = frost_assets.load_frost_textures(0.2, 32, 32)
    assert len(textures) == 5  # frost6 is never used
    assert 0 < y.max() <= 0.2 * 255 + 1


def test_frost_missing_package_names_pip_command(monkeypatch):
    monkeypatch.setattr(frost_assets.importlib.util, "find_spec", lambda name: None)
    frost_assets.load_frost_textures.cache_clear()
    with pytest.raises(FileNotFoundError, match="pip install imagecorruptions-imaug"):
        corrupt(natural_batch(1), "frost", 1, seed=0)
    frost_assets.load_frost_textures.cache_clear()


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror"])
@pytest.mark.parametrize("sigma", [0.7, 2.44, 9.0])
def test_gaussian_filter_matches_scipy(mode, sigma):
    from scipy import ndimage

    from timm_augmix_plugin.corruptions.filters import gaussian_filter
    x = np.random.default_rng(0).random((2, 20, 24, 3)).astype(np.float32)
    ours = gaussian_filter(x, sigma, mode=mode, truncate=3.0)
    ref = np.stack([ndimage.gaussian_filter(img, (sigma, sigma, 0), mode=mode, truncate=3.0) for img in x])
    np.testing.assert_allclose(ours, ref, atol=1e-5)


# ---- fidelity against the straightforward per-image reference path (needs OpenCV + scikit-image) ---------------------

FIDELITY_EXACT = ("defocus_blur", "zoom_blur", "contrast", "pixelate", "jpeg_compression")


@pytest.mark.parametrize("name", BENCHMARK_CORRUPTIONS)
def test_statistics_match_per_image_reference(name):
    pytest.importorskip("cv2")
    pytest.importorskip("skimage")
    from timm_augmix_plugin.testing.corruption_reference import reference_corrupt

    x = natural_batch(24, seed=5)
    for s in (2, 5):
        ours = corrupt(x, name, s, seed=11)
        g = np.random.default_rng(s)
        ref = np.stack([reference_corrupt(img, name, s, g) for img in x])
        if name in FIDELITY_EXACT:
            assert np.abs(ours.astype(int) - ref).max() <= 1, f"{name} s{s} should match the reference"
            continue
        d_ours = np.abs(ours.astype(float) - x).mean()
        d_ref = np.abs(ref.astype(float) - x).mean()
        assert d_ours == pytest.approx(d_ref, rel=0.15, abs=0.5), (name, s, d_ours, d_ref)
        # fog, frost and snow draw one large random field per image: their batch means vary more
        assert ours.mean() == pytest.approx(ref.mean(), abs=6.0 if name in ("fog", "frost", "snow") else 2.0), (name, s)
        assert ours.std() == pytest.approx(ref.std(), rel=0.08), (name, s)


@pytest.mark.parametrize("ksize", [3, 13])  # tap-by-tap and FFT paths
def test_correlate2d_matches_scipy_mirror(ksize):
    from scipy import ndimage

    from timm_augmix_plugin.corruptions.filters import correlate2d
    g = np.random.default_rng(1)
    x = g.random((2, 30, 26, 3)).astype(np.float32)
    k = g.random((ksize, ksize)).astype(np.float32)
    ours = correlate2d(x, k, mode="mirror")
    ref = np.stack([np.stack([ndimage.correlate(img[..., c], k, mode="mirror") for c in range(3)], -1) for img in x])
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


# ---- the faster kernel paths (OpenCV at >= 48 x 48 px, fused/compiled kernels) agree with the plain ones ------------

def _both_paths(monkeypatch, fn):
    """Run ``fn()`` with OpenCV enabled and disabled (numpy/numba paths)."""
    cv2 = pytest.importorskip("cv2")
    from timm_augmix_plugin.corruptions import opencv
    assert opencv.opencv(224 * 224) is cv2
    fast = fn()
    monkeypatch.setattr(opencv, "USE_OPENCV", False)
    assert opencv.opencv(224 * 224) is None
    plain = fn()
    monkeypatch.setattr(opencv, "USE_OPENCV", True)
    return fast, plain


@pytest.mark.parametrize("name", ["defocus_blur", "gaussian_blur", "elastic_transform", "zoom_blur"])
def test_opencv_paths_match_numpy_paths(monkeypatch, name):
    x = natural_batch(2, size=72, seed=1)[:, :, :64]  # 72 x 64: above the OpenCV threshold, non-square
    for s in (1, 3, 5):
        for table in (64, 224):
            fast, plain = _both_paths(monkeypatch, lambda s=s, t=table: corrupt(x, name, s, seed=4, size_table=t))
            # float rounding only: values on an integer boundary (e.g. a disk of one pixel) may truncate either way
            diff = np.abs(fast.astype(int) - plain)
            assert diff.max() <= 1, (name, s, table, diff.max(), diff.mean())
            assert np.abs(fast.astype(float).mean() - plain.mean()) < 0.5


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror"])
def test_filters_opencv_match_scipy(monkeypatch, mode):
    from scipy import ndimage

    from timm_augmix_plugin.corruptions.filters import correlate2d, gaussian_filter
    g = np.random.default_rng(2)
    x = g.random((2, 60, 52, 3)).astype(np.float32)
    k = g.random((9, 9)).astype(np.float32)
    fast, plain = _both_paths(monkeypatch, lambda: (gaussian_filter(x, 2.0, mode=mode), correlate2d(x, k, mode)))
    ref_g = np.stack([ndimage.gaussian_filter(img, (2.0, 2.0, 0), mode=mode) for img in x])
    ref_c = np.stack([np.stack([ndimage.correlate(img[..., c], k, mode=mode) for c in range(3)], -1) for img in x])
    for ours in (fast, plain):
        np.testing.assert_allclose(ours[0], ref_g, atol=1e-5)
        np.testing.assert_allclose(ours[1], ref_c, rtol=1e-4, atol=1e-4)


def test_defocus_disk_factorisation():
    from timm_augmix_plugin.corruptions.blur import defocus_blur, disk_factors, disk_kernel
    # exact factorisation below the 17 x 17 grid's border, none where the reflected antialiasing changes the kernel
    assert disk_factors(6.0, 0.5) is not None and disk_factors(3.0, 0.1) is not None
    assert disk_factors(8.0, 0.5) is None and disk_factors(10.0, 0.5) is None
    widths, weight, _ = disk_factors(6.0, 0.5)
    assert widths.tolist() == [int(np.sqrt(36 - d * d)) for d in range(-6, 7)]
    assert weight == pytest.approx(1 / (2 * widths + 1).sum())
    pytest.importorskip("cv2")
    x = natural_batch(2, size=80, seed=3)
    for s in (1, 2, 3):
        p = resolve_params("defocus_blur", s, 80, 80, 224)
        ours = defocus_blur(x, p, [])
        ref = np.stack([np.stack([ndimage_correlate_mirror(img[..., c] / 255, disk_kernel(*map(float, p.value)))
                                  for c in range(3)], -1) for img in x])
        ref = (np.clip(ref, 0, 1) * 255).astype(np.uint8)
        assert np.abs(ours.astype(int) - ref).max() <= 1


def ndimage_correlate_mirror(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    from scipy import ndimage
    return ndimage.correlate(img.astype(np.float64), kernel.astype(np.float64), mode="mirror")


@pytest.mark.parametrize("delta", [1, 2, 3])
def test_glass_shuffle_bytes_matches_offset_replay(delta):
    from timm_augmix_plugin.corruptions.kernels import glass_shuffle_bytes
    g = np.random.default_rng(delta)
    h, w, iters = 12, 10, 2
    img = g.integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    need = 2 * iters * (h - 2 * delta) * (w - 2 * delta)
    rand = g.integers(0, 256, (1, need * 2 + 64), dtype=np.uint8)
    r, limit = 2 * delta, 256 - 256 % (2 * delta)
    accepted = rand[0][rand[0] < limit].astype(np.int64)
    offsets = (accepted[:need] % r - delta).astype(np.int16).reshape(1, iters, -1, 2)  # (dx, dy) per position
    assert set(np.unique(offsets)) <= set(range(-delta, delta))
    expected = img.copy()
    glass_shuffle(expected, offsets, delta)
    packed = np.zeros((1, h, w, 4), np.uint8)
    packed[..., :3] = img
    done = np.zeros(1, np.uint8)
    glass_shuffle_bytes(packed.view(np.uint32)[..., 0], rand, delta, iters, done)
    assert done[0] == 1
    np.testing.assert_array_equal(packed[..., :3], expected)
    # too few bytes: the image is left untouched and reported
    short = np.zeros((1, h, w, 4), np.uint8)
    glass_shuffle_bytes(short.view(np.uint32)[..., 0], rand[:, :need // 2], delta, iters, done)
    assert done[0] == 0 and not short.any()


def test_glass_offsets_are_uniform():
    from timm_augmix_plugin.corruptions.blur import _raw_bytes
    b = _raw_bytes(np.random.default_rng(0), 20000)
    for delta in (2, 3):  # 3: bytes >= 252 are rejected so that every offset keeps probability 1 / 6
        limit = 256 - 256 % (2 * delta)
        vals = b[b < limit] % (2 * delta) - delta
        freq = np.bincount(vals + delta) / vals.size
        np.testing.assert_allclose(freq, 1 / (2 * delta), atol=0.01)


def _plasma_numpy(u: np.ndarray, m: int, decay: float) -> np.ndarray:
    """The vectorised numpy diamond-square that the compiled ``plasma_fill`` replaces (same arithmetic order)."""
    n = u.shape[0]
    counts, step = [], m
    while step >= 2:
        counts += [(m // step) ** 2] * 3
        step //= 2
    chunks = iter(np.split(u, np.cumsum(counts)[:-1], axis=1))
    grid = np.zeros((n, m, m))
    step, wibble = m, 100.0
    while step >= 2:
        half, k = step // 2, m // step
        amp = wibble * wibble
        corner = grid[:, 0:m:step, 0:m:step]
        sq = corner + np.roll(corner, -1, axis=1)
        sq = sq + np.roll(sq, -1, axis=2)
        grid[:, half:m:step, half:m:step] = sq / 4 + next(chunks).reshape(n, k, k) * amp
        dr = grid[:, half:m:step, half:m:step]
        ul = grid[:, 0:m:step, 0:m:step]
        grid[:, 0:m:step, half:m:step] = ((dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=2)) / 4
                                          + next(chunks).reshape(n, k, k) * amp)
        grid[:, half:m:step, 0:m:step] = ((dr + np.roll(dr, 1, axis=2) + ul + np.roll(ul, -1, axis=1)) / 4
                                          + next(chunks).reshape(n, k, k) * amp)
        step //= 2
        wibble /= decay
    return grid


@pytest.mark.parametrize("m", [8, 64])
def test_plasma_fill_equals_numpy_diamond_square(m):
    from timm_augmix_plugin.corruptions.kernels import plasma_fill
    total = sum(3 * (m // (1 << k)) ** 2 for k in range(int(np.log2(m)), 0, -1))
    u = np.random.default_rng(m).random((3, total)) * 2.0 - 1.0
    grid = np.zeros((3, m, m))
    plasma_fill(u, m, 1.7, grid)
    np.testing.assert_array_equal(grid, _plasma_numpy(u, m, 1.7))


@pytest.mark.parametrize("size", [32, 80])
def test_fog_fused_step_equals_numpy_formula(size):
    from timm_augmix_plugin.corruptions.filters import to_uint8
    from timm_augmix_plugin.utils.seeds import image_generators
    x = natural_batch(3, size=size, seed=6)
    for s in (1, 5):
        p = resolve_params("fog", s, size, size)
        rngs = image_generators(9, "fog", s, 0, 3)
        plasma = plasma_fractal_batch(3, p.fog_mapsize, float(p.value[1]), rngs)[:, :size, :size, None]
        y = x.astype(np.float32) * np.float32(1 / 255)
        top = y.max(axis=(1, 2, 3), keepdims=True)
        y += np.float32(p.value[0]) * plasma.astype(np.float32)
        expected = to_uint8(y * (top / (top + np.float32(p.value[0]))))
        np.testing.assert_array_equal(corrupt(x, "fog", s, seed=9), expected)


def test_snow_combine_equals_float64_formula():
    from timm_augmix_plugin.corruptions.kernels import snow_combine
    g = np.random.default_rng(4)
    x = g.integers(0, 256, (2, 16, 12, 3), dtype=np.uint8)
    streaks = np.where(g.random((2, 16, 12)) < 0.5, g.integers(0, 256, (2, 16, 12)), 0).astype(np.float32)
    out = np.empty_like(x)
    snow_combine(x, streaks, 0.7, out)
    v = x / 255.0
    grey = (0.299 * v[..., 0] + 0.587 * v[..., 1] + 0.114 * v[..., 2])[..., None] * 1.5 + 0.5
    add = ((streaks + streaks[:, ::-1, ::-1]) / 255.0)[..., None]
    y = 0.7 * v + (1 - 0.7) * np.maximum(v, grey) + add
    np.testing.assert_array_equal(out, (np.clip(y, 0, 1) * 255).astype(np.uint8))


def test_zoom_flat_kernel_matches_row_kernel(monkeypatch):
    from timm_augmix_plugin.corruptions import blur
    x = natural_batch(2, size=56, seed=8)
    for s in (1, 5):
        flat = corrupt(x, "zoom_blur", s, size_table=224)
        monkeypatch.setattr(blur, "_ZOOM_FLAT_PIXELS", 10 ** 9)
        rows = corrupt(x, "zoom_blur", s, size_table=224)
        monkeypatch.setattr(blur, "_ZOOM_FLAT_PIXELS", 48 * 48)
        assert np.abs(flat.astype(int) - rows).max() <= 1


def test_integer_noise_sampler_reproduces_float_sampler():
    """Raw 32-bit words + integer thresholds give the very draws of the float32-uniform inverse-CDF sampler."""
    from timm_augmix_plugin.corruptions.kernels import sample_from_cdf
    from timm_augmix_plugin.corruptions.noise import _guide, _random_words
    from timm_augmix_plugin.utils.seeds import image_generators
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    words = _random_words((1, 5, 7, 3), [g1])  # odd count per image: the last 64-bit output is half used
    u = g2.random((5, 7, 3), dtype=np.float32)
    np.testing.assert_array_equal((words[0] >> 8).astype(np.float32) * np.float32(2.0 ** -24), u)
    x = natural_batch(3, seed=2)
    for name, kind in [("gaussian_noise", "gaussian"), ("shot_noise", "shot"), ("speckle_noise", "speckle")]:
        c = float(resolve_params(name, 5, 32, 32).value)
        rngs = image_generators(5, name, 5, 0, 3)
        u = np.stack([g.random(x.shape[1:], dtype=np.float32) for g in rngs])
        expected = np.empty(x.shape, dtype=np.uint8)
        sample_from_cdf(np.ascontiguousarray(x).reshape(-1), u.reshape(-1), noise_cdf(kind, c), _guide(kind, c),
                        expected.reshape(-1))
        np.testing.assert_array_equal(corrupt(x, name, 5, seed=5), expected)


@pytest.mark.parametrize("size", [32, 56])
def test_zoom_identity_factor_shortcut_is_exact(size):
    """zoom_blur adds the leading factor-1 'zoom' as the image itself; running the kernel on it gives the same bits."""
    from timm_augmix_plugin.corruptions import blur
    from timm_augmix_plugin.corruptions.filters import to_uint8
    from timm_augmix_plugin.corruptions.kernels import zoom_accumulate, zoom_accumulate_flat
    x = np.ascontiguousarray(natural_batch(2, size=size, seed=9))
    for s in (1, 5):
        f = np.asarray(resolve_params("zoom_blur", s, size, size).value)
        assert f[0] == 1.0
        y = x.astype(np.float32) * np.float32(1 / 255)
        y0, y1, wy, x0, x1, wx, c0, c1, wc = blur._zoom_tables(size, size, 3, tuple(f.tolist()))
        out = y.copy()
        if size * size < blur._ZOOM_FLAT_PIXELS:
            zoom_accumulate(y, y0, y1, wy, x0, x1, wx, out)
        else:
            zoom_accumulate_flat(y.reshape(2, size, -1), y0, y1, wy, c0, c1, wc, out.reshape(2, size, -1))
        out *= np.float32(1.0 / (len(f) + 1))
        np.testing.assert_array_equal(corrupt(x, "zoom_blur", s), to_uint8(out))
