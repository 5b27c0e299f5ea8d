"""Time make-p's batched -P sequences against a per-image re-statement of the reference generator, in one run, on one
core.

Reference path: ``make_cifar_p.py`` followed block by block for one image at a time with the libraries it uses
(torch/torchvision for the noise and affine blocks, numpy Poisson draws, scikit-image HSV for brightness, scipy zoom
and OpenCV for snow and tilt) and the CIFAR parameters; ImageMagick's motion blur (Wand, not installed) is the numpy
shifted-copy motion blur of :mod:`timm_augmix_plugin.corruptions.reference`. Today's torchvision takes the 2018
centre ``(w / 2 + 0.5, h / 2 + 0.5)`` as an explicit ``center``.

Project path: :func:`timm_augmix_plugin.perturbations.perturb` on a batch, the call each ``make-p`` work unit makes.

Usage:
    python benchmarks/perturbation_speed.py [--n 500] [--ref-n 20] [--repeat 3]

Prints per-image milliseconds per test perturbation (a whole sequence of 16-31 frames per image), the ratios, and the
projected wall time of all of CIFAR-10-P (10k images x 10 perturbations) on 2 worker processes. Every timing is the
best of ``--repeat`` runs (filters out interference from other jobs on a shared machine).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import io  # noqa: E402
import math  # noqa: E402
import tarfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from timm_augmix_plugin.perturbations import TEST_PERTURBATIONS, perturb  # noqa: E402

CIFAR_TAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10-jpeg" / "test.tar"


def load_images(n: int) -> np.ndarray:
    """``n`` CIFAR-10 test images (32 px) from the shared tar, or structured random images without it."""
    imgs: list[np.ndarray] = []
    if CIFAR_TAR.is_file():
        with tarfile.open(CIFAR_TAR) as tf:
            for m in tf:
                if m.isfile():
                    imgs.append(np.asarray(Image.open(io.BytesIO(tf.extractfile(m).read())).convert("RGB")))
                    if len(imgs) >= n:
                        break
    rng = np.random.default_rng(0)
    while len(imgs) < n:
        imgs.append(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    return np.stack(imgs)


# ---- the per-image re-statement of make_cifar_p.py ----------------------------------------------------------------


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    return np.uint8(t.numpy().transpose(1, 2, 0) * 255)


def reference_sequence(img: np.ndarray, name: str, rng: np.random.Generator) -> np.ndarray:
    """One image's CIFAR-10-P sequence for ``name``, one frame at a time as the reference does."""
    import cv2
    import skimage.color
    import torchvision.transforms.functional as F
    from scipy.ndimage import zoom as nd_zoom

    from timm_augmix_plugin.corruptions.reference import _motion_blur

    centre = [16.5, 16.5]  # torchvision 0.2's centre
    pil = Image.fromarray(img)
    seq: list[np.ndarray] = []
    if name == "gaussian_noise":
        x = F.to_tensor(img)
        seq.append(img)
        for _ in range(1, 31):
            seq.append(_to_numpy(torch.clamp(x + 0.02 * torch.randn_like(x), 0, 1)))
    elif name == "shot_noise":
        seq.append(img)
        for _ in range(1, 31):
            z = img / 255.0
            seq.append(np.uint8(255 * np.clip(rng.poisson(z * 700) / 700.0, 0, 1)))
    elif name == "motion_blur":
        for i in range(21):
            seq.append(np.uint8(np.clip(np.rint(_motion_blur(img.astype(np.float64), 6, 1.8, (i - 20) * 9)), 0, 255)))
    elif name == "zoom_blur":
        seq.append(img)
        avg = F.to_tensor(img)
        for i in range(1, 31):
            z = F.affine(pil, angle=0, translate=[0, 0], scale=1 + 0.004 * i, shear=[0.0],
                         interpolation=F.InterpolationMode.BILINEAR, center=centre)
            avg += F.to_tensor(z)
            seq.append(np.asarray(F.to_pil_image(avg / (i + 1))))
    elif name == "snow":
        x = img / 255.0
        layer = rng.normal(size=(32, 32), loc=0.05, scale=0.3)
        ch = int(np.ceil(32 / 2))
        top = (32 - ch) // 2
        layer = nd_zoom(layer[top:top + ch, top:top + ch, None], (2, 2, 1), order=1)[:32, :32]
        layer[layer < 0.5] = 0
        layer8 = (np.clip(layer.squeeze(), 0, 1) * 255).astype(np.uint8).astype(np.float64)
        grey = cv2.cvtColor(np.float32(x), cv2.COLOR_RGB2GRAY).reshape(32, 32, 1)
        base = 0.85 * x + 0.15 * np.maximum(x, grey * 1.5 + 0.5)
        for i in range(31):
            s = np.clip(np.rint(_motion_blur(layer8[..., None], 10, 2, i * 4 - 150)), 0, 255) / 255.0
            seq.append(np.uint8(np.clip(base + s + np.rot90(s, k=2), 0, 1) * 255))
    elif name == "brightness":
        hsv = skimage.color.rgb2hsv(img / 255.0)
        for i in range(31):
            z = hsv.copy()
            z[:, :, 2] = np.clip(z[:, :, 2] + (i - 15) * 0.015, 0, 1)
            seq.append(np.uint8(skimage.color.hsv2rgb(z) * 255))
    elif name == "translate":
        for i in range(16):
            seq.append(np.asarray(F.affine(pil, angle=0, translate=[i - 7, 0], scale=1, shear=[0.0])))
    elif name == "rotate":
        for i in range(31):
            seq.append(np.asarray(F.affine(pil, angle=i - 15, translate=[0, 0], scale=1, shear=[0.0],
                                           interpolation=F.InterpolationMode.BILINEAR, center=centre)))
    elif name == "tilt":
        w = h = 32
        for i in range(31):
            phi = theta = math.radians(0.75 * (i - 15))
            f = math.sqrt(w * w + h * h)
            p1 = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1], [0, 0, 1]])
            rx = np.array([[1, 0, 0, 0], [0, math.cos(theta), -math.sin(theta), 0],
                           [0, math.sin(theta), math.cos(theta), 0], [0, 0, 0, 1]])
            ry = np.array([[math.cos(phi), 0, -math.sin(phi), 0], [0, 1, 0, 0],
                           [math.sin(phi), 0, math.cos(phi), 0], [0, 0, 0, 1]])
            t = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, f], [0, 0, 0, 1]])
            p2 = np.array([[f, 0, w / 2, 0], [0, f, h / 2, 0], [0, 0, 1, 0]])
            seq.append(cv2.warpPerspective(img, p2 @ t @ rx @ ry @ p1, (w, h)))
    elif name == "scale":
        for i in range(31):
            seq.append(np.asarray(F.affine(pil, angle=0, translate=[0, 0], scale=(i * 2 + 70) / 100.0, shear=[0.0],
                                           interpolation=F.InterpolationMode.BILINEAR, center=centre)))
    else:
        raise ValueError(f"no reference re-statement for {name!r}")
    return np.stack(seq)


def best_of(fn, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="images for the project path")
    parser.add_argument("--ref-n", type=int, default=20, help="images for the reference path")
    parser.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    parser.add_argument("--workers", type=int, default=2, help="worker processes assumed for the CIFAR-10-P projection")
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass
    images = load_images(max(args.n, args.ref_n))
    rng = np.random.default_rng(0)
    for name in TEST_PERTURBATIONS:  # warm-up: numba compilation, library imports
        perturb(images[:2], name, seed=0)
        reference_sequence(images[0], name, rng)
    print(f"-P generation at 32 px, one thread, best of {args.repeat}; project: perturb() on {args.n} images, "
          f"reference: per image on {args.ref_n}\n")
    print("| perturbation | frames | project ms/image | reference ms/image | speed-up |")
    print("|---|---:|---:|---:|---:|")
    total_p = total_r = 0.0
    for name in TEST_PERTURBATIONS:
        batch = images[:args.n]
        tp = best_of(lambda: perturb(batch, name, seed=0), args.repeat) / args.n * 1e3  # noqa: B023
        tr = best_of(lambda: [reference_sequence(im, name, rng) for im in images[:args.ref_n]],  # noqa: B023
                     args.repeat) / args.ref_n * 1e3
        total_p, total_r = total_p + tp, total_r + tr
        frames = perturb(images[:1], name, seed=0).shape[1]
        print(f"| {name} | {frames} | {tp:.3f} | {tr:.2f} | {tr / tp:.1f}x |")
    print(f"| **all 10** | | **{total_p:.2f}** | **{total_r:.1f}** | **{total_r / total_p:.1f}x** |")
    hours = 10000 * total_p / 1e3 / max(args.workers, 1) / 60
    print(f"\nAll of CIFAR-10-P (10k images x 10 perturbations) projected: {hours:.1f} min of generation on "
          f"{args.workers} worker processes (reference path: {10000 * total_r / 1e3 / max(args.workers, 1) / 3600:.1f} h)")


if __name__ == "__main__":
    main()
