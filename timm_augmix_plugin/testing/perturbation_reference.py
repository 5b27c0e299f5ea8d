"""A straightforward per-image re-statement of the reference CIFAR-10-P generator, for benchmarks and fidelity checks.

It follows ``make_cifar_p.py`` block by block for one image at a time with the libraries it uses (torch/torchvision
for the noise and affine blocks, numpy Poisson draws, scikit-image HSV for brightness, scipy zoom and OpenCV for snow
and tilt) and the CIFAR parameters. ImageMagick's motion blur (Wand) is the numpy shifted-copy motion blur of
:mod:`.corruption_reference`; today's torchvision gets the 2018 centre ``(w / 2 + 0.5, h / 2 + 0.5)`` as an explicit
``center``. Not used by :func:`~timm_augmix_plugin.perturbations.perturb`;
``benchmarks/perturbation_speed.py`` times it and ``tests/test_perturbations.py`` compares the deterministic sequences.

Requires OpenCV and scikit-image (installed with ``imagecorruptions-imaug``).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

__all__ = ["reference_sequence"]


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    return np.uint8(t.numpy().transpose(1, 2, 0) * 255)


def reference_sequence(img: np.ndarray, name: str, rng: np.random.Generator) -> np.ndarray:
    """One image's CIFAR-10-P sequence for ``name``, one frame at a time as the reference does."""
    import cv2
    import skimage.color
    import torchvision.transforms.functional as F
    from scipy.ndimage import zoom as nd_zoom

    from .corruption_reference import _motion_blur

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
