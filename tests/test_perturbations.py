"""-P sequence generators: shapes and frame counts per table, first-frame conventions, determinism, geometry against
PIL / torchvision, noise laws, the OpenCV-free tilt, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from timm_augmix_plugin.corruptions import opencv
from timm_augmix_plugin.corruptions.prepare import prepare_clean_image, prepare_context_image
from timm_augmix_plugin.perturbations import (
    ALL_PERTURBATIONS,
    NOISE_PERTURBATIONS,
    TEST_PERTURBATIONS,
    VALIDATION_PERTURBATIONS,
    context_size,
    frame_count,
    perturb,
)
from timm_augmix_plugin.perturbations.geometry import affine_frames, legacy_affine_coeffs, tilt_matrix

from synthetic import make_image

# frames per table, read from make_cifar_p.py / make_tinyimagenet_p.py / make_imagenet_p.py
EXPECTED_FRAMES = {32: {"motion_blur": 21, "translate": 16}, 64: {"translate": 31}, 224: {"translate": 41}}


def images(n: int = 3, size: int = 32) -> np.ndarray:
    return np.stack([np.asarray(make_image(size, seed=s)) for s in range(n)])


def test_lists_follow_the_reference():
    assert len(TEST_PERTURBATIONS) == 10 and len(VALIDATION_PERTURBATIONS) == 4
    assert set(NOISE_PERTURBATIONS) == {"gaussian_noise", "shot_noise", "speckle_noise"}
    assert "snow" in TEST_PERTURBATIONS and "spatter" in VALIDATION_PERTURBATIONS


@pytest.mark.parametrize("table", [32, 64, 224])
def test_frame_counts(table):
    for name in ALL_PERTURBATIONS:
        assert frame_count(name, table) == EXPECTED_FRAMES[table].get(name, 31)


@pytest.mark.parametrize("name", ALL_PERTURBATIONS)
def test_shapes_determinism_and_batch_independence(name):
    x = images(3)
    out = perturb(x, name, seed=1)
    assert out.shape == (3, frame_count(name, 32), 32, 32, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, perturb(x, name, seed=1))
    np.testing.assert_array_equal(out[1:], perturb(x[1:], name, seed=1, start_index=1))
    np.testing.assert_array_equal(out[2], perturb(x[2:], name, seed=1, indices=[2])[0])
    assert not np.array_equal(out[:, 1], out[:, -1])  # the sequence moves
    assert out.reshape(3, out.shape[1], -1).max(axis=2).min() > 0  # no black frame (the reference's spatter 0/0)


@pytest.mark.parametrize("name", ["gaussian_noise", "shot_noise", "speckle_noise", "zoom_blur"])
def test_sequences_that_start_clean(name):
    x = images(2)
    np.testing.assert_array_equal(perturb(x, name, seed=0)[:, 0], x)


@pytest.mark.parametrize("name, frame", [("rotate", 15), ("scale", 15), ("shear", 15), ("translate", 7)])
def test_the_identity_frame_is_the_image(name, frame):
    x = images(2)
    np.testing.assert_array_equal(perturb(x, name, seed=0)[:, frame], x)


def test_motion_blur_starts_blurred_and_noise_frames_differ():
    x = images(1)
    assert not np.array_equal(perturb(x, "motion_blur", seed=0)[0, 0], x[0])
    noisy = perturb(x, "gaussian_noise", seed=0)[0]
    assert not np.array_equal(noisy[1], noisy[2])
    assert not np.array_equal(perturb(x, "gaussian_noise", seed=0), perturb(x, "gaussian_noise", seed=1))


def test_gaussian_noise_law():
    grey = np.full((4, 32, 32, 3), 128, np.uint8)
    frames = perturb(grey, "gaussian_noise", seed=0)[:, 1:].astype(np.float64)
    # uint8(clip(128/255 + N(0, 0.02)) * 255): truncation moves the mean down by ~0.5 grey levels
    assert abs(frames.mean() - 127.5) < 0.2
    assert abs(frames.std() - 0.02 * 255) < 0.2


def test_brightness_steps_both_ways():
    x = images(2)
    frames = perturb(x, "brightness", seed=0).astype(int)
    assert frames[:, 0].mean() < x.mean() - 20 < x.mean() + 20 < frames[:, -1].mean()
    assert np.abs(frames[:, 15] - x).max() <= 1  # c = 0 up to float rounding
    black = np.zeros((1, 32, 32, 3), np.uint8)
    assert perturb(black, "brightness", seed=0)[0, 0].max() == 0  # V below 0 clips to black (no wrap-around)


@pytest.mark.parametrize("angle", [-15, -4, 9])
def test_rotation_matches_pil_with_the_2018_centre(angle):
    x = images(1)
    ours = affine_frames(x, [legacy_affine_coeffs(32, 32, angle=angle)])[0, 0]
    # torchvision 0.2 rotated clockwise about (w/2 + 0.5, h/2 + 0.5); PIL's rotate is counter-clockwise
    ref = np.asarray(Image.fromarray(x[0]).rotate(-angle, resample=Image.BILINEAR, center=(16.5, 16.5)))
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("scale", [0.7, 1.04, 1.3])
def test_scale_matches_torchvision_with_the_2018_centre(scale):
    x = images(1)
    ours = affine_frames(x, [legacy_affine_coeffs(32, 32, scale=scale)])[0, 0]
    ref = TF.affine(Image.fromarray(x[0]), angle=0, translate=[0, 0], scale=scale, shear=[0.0],
                    interpolation=TF.InterpolationMode.BILINEAR, center=[16.5, 16.5])
    np.testing.assert_array_equal(ours, np.asarray(ref))


def test_tilt_without_opencv(monkeypatch):
    x = images(2)
    with_cv2 = perturb(x, "tilt", seed=0)
    monkeypatch.setattr(opencv, "USE_OPENCV", False)
    without = perturb(x, "tilt", seed=0)
    assert np.abs(with_cv2.astype(int) - without).max() <= 2
    assert np.abs(with_cv2.astype(int) - without).mean() < 0.1


def test_tilt_matrix_at_zero():
    # the reference's P1 puts the image at z = 1, T moves it to 1 + f: at 0 degrees frames shrink by f / (1 + f)
    f = np.sqrt(2 * 32 ** 2)
    np.testing.assert_allclose(tilt_matrix(32, 32, 0.0), [[f, 0, 16], [0, f, 16], [0, 0, 1 + f]], atol=1e-9)


def test_imagenet_size_uses_the_256_context():
    img = make_image(300).resize((400, 300))
    context = np.asarray(prepare_context_image(img, 224))
    assert context.shape == (256, 256, 3)
    np.testing.assert_array_equal(context[16:240, 16:240], np.asarray(prepare_clean_image(img, 224)))
    assert context_size("rotate", 224, 224) == 256 and context_size("snow", 224, 224) == 224
    out = perturb(context[None], "translate", seed=0, crop=224)
    assert out.shape == (1, 41, 224, 224, 3)
    # frame 20 is the unshifted crop; frame 0 (shift -20) shows content from outside the crop, not black
    np.testing.assert_array_equal(out[0, 20], context[16:240, 16:240])
    assert out[0, 0, :, -20:].max() > 0
    np.testing.assert_array_equal(perturb(context[None], "brightness", seed=0, crop=224)[0, 15].shape, (224, 224, 3))


def test_torch_input_round_trip():
    x = torch.from_numpy(images(2))
    out = perturb(x, "translate", seed=0)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 16, 32, 32, 3)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(name="blur"), ValueError, "Unknown perturbation"),
    (dict(images=np.zeros((2, 32, 30, 3), np.uint8)), ValueError, "square"),
    (dict(images=np.zeros((2, 32, 32, 3), np.float32)), TypeError, "uint8"),
    (dict(images=np.zeros((2, 32, 32), np.uint8)), ValueError, "channels-last"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(indices=[0]), ValueError, "one non-negative index per image"),
    (dict(crop=40), ValueError, "crop must be"),
    (dict(images=np.zeros((1, 224, 224, 3), np.uint8), name="rotate"), ValueError, "256 px square"),
])
def test_bad_input(kwargs, error, match):
    args = dict(images=images(2), name="translate", seed=0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        perturb(args.pop("images"), args.pop("name"), **args)


@pytest.mark.parametrize("name, tolerance, share", [
    ("translate", 0, 0), ("rotate", 0, 0), ("scale", 0, 0), ("tilt", 0, 0), ("zoom_blur", 0, 0),
    ("brightness", 1, 0.05), ("motion_blur", 1, 0.01),  # float rounding: skimage's HSV round trip, float32 taps
])
def test_deterministic_sequences_match_the_reference_restatement(name, tolerance, share):
    from timm_augmix_plugin.testing.perturbation_reference import reference_sequence

    x = images(2)
    ours = perturb(x, name, seed=0).astype(int)
    ref = np.stack([reference_sequence(im, name, np.random.default_rng(0)) for im in x]).astype(int)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() <= tolerance
    assert (ours != ref).mean() <= share


@pytest.mark.parametrize("name", ["gaussian_noise", "shot_noise", "snow"])
def test_random_sequences_match_the_reference_in_law(name):
    from timm_augmix_plugin.testing.perturbation_reference import reference_sequence

    x = images(4)
    ours = perturb(x, name, seed=0).astype(np.float64)
    ref = np.stack([reference_sequence(im, name, np.random.default_rng(k)) for k, im in enumerate(x)]).astype(float)
    assert abs(ours.mean() - ref.mean()) < 1.0
    assert abs(np.abs(ours[:, 1:] - ours[:, :1]).mean() - np.abs(ref[:, 1:] - ref[:, :1]).mean()) < 0.5


def test_write_perturbations_without_the_cli(tmp_path):
    from timm_augmix_plugin.corruptions.writer import PreparedImages
    from timm_augmix_plugin.perturbations.writer import write_perturbations

    x = images(3)
    indices = np.array([4, 9, 20])  # dataset indices key each image's random stream
    prepared = PreparedImages(lambda k: x[k], [0, 1, 0], ["a", "b"], ["f0", "f1", "f2"])
    done = write_perturbations(tmp_path / "p", prepared, indices, ["gaussian_noise"], size=32, layout="cifar", seed=2,
                               batch=2)
    assert done == ["gaussian_noise"]
    arr = np.load(tmp_path / "p" / "gaussian_noise.npy")
    np.testing.assert_array_equal(arr, perturb(x, "gaussian_noise", seed=2, size_table=32, indices=indices, crop=32))
    with pytest.raises(ValueError, match="other settings"):
        write_perturbations(tmp_path / "p", prepared, indices, ["gaussian_noise"], size=32, layout="cifar", seed=3,
                            batch=2)
    done = write_perturbations(tmp_path / "f", prepared, indices, ["translate"], size=32, layout="frames", seed=2,
                               batch=2)
    assert done == ["translate"] and len(list((tmp_path / "f" / "translate" / "b" / "f1").glob("*.png"))) == 16
