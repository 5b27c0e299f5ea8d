"""An embedded, procedurally generated 10-class image dataset, so the quickstart and the tests need no download.

Each image shows one of ten patterns (five shapes at a random place, size and rotation, five textures at a random
scale and phase) in random foreground / background colours, plus Gaussian pixel noise. Colours carry no class
information, so a network has to learn shape and texture, which a small CNN does within a few hundred steps.
Image ``i`` of a split is a pure function of ``(seed, split, i)``: the same on every machine, process and worker.

Example:
    >>> ds = SyntheticShapes(100, img_size=32, seed=0, split='train')
    >>> img, label = ds[0]
    >>> img.size, label
    ((32, 32), 0)
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from PIL import Image
from torch.utils.data import Dataset

from ..utils.seeds import mix_seed

__all__ = ["CLASS_NAMES", "SyntheticShapes", "render_pattern"]

CLASS_NAMES: tuple[str, ...] = (
    "circle", "square", "triangle", "ring", "cross",
    "horizontal_stripes", "vertical_stripes", "diagonal_stripes", "checkerboard", "dots",
)
_SPLIT_IDS = {"train": 1, "validation": 2, "test": 3}


def _uniform(g: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=g))


def _colours(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A foreground and a background colour that differ clearly (L1 distance >= 0.75 over RGB)."""
    bg = torch.rand(3, generator=g)
    fg = torch.rand(3, generator=g)
    for _ in range(16):
        if (fg - bg).abs().sum() >= 0.75:
            break
        fg = torch.rand(3, generator=g)
    else:  # fall back to the complementary colour, always far enough
        fg = 1.0 - bg
    return fg, bg


def render_pattern(label: int, img_size: int, g: torch.Generator) -> torch.Tensor:
    """Render pattern ``label`` (an index into :data:`CLASS_NAMES`) as a float (3, H, W) image in [0, 1].

    Args:
        label: Class index in ``0..9``.
        img_size: Image side in pixels.
        g: Generator all random choices are drawn from.
    """
    if not 0 <= label < len(CLASS_NAMES):
        raise ValueError(f"label must be in 0..{len(CLASS_NAMES) - 1}, got {label}.")
    s = float(img_size)
    coords = torch.arange(img_size, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    cx, cy = _uniform(g, 0.35, 0.65) * s, _uniform(g, 0.35, 0.65) * s
    r = _uniform(g, 0.2, 0.33) * s
    theta = _uniform(g, 0.0, 2 * math.pi)
    dx, dy = xx - cx, yy - cy
    u = dx * math.cos(theta) + dy * math.sin(theta)
    v = -dx * math.sin(theta) + dy * math.cos(theta)
    period = _uniform(g, 0.14, 0.25) * s
    phase = _uniform(g, 0.0, 2 * math.pi)
    name = CLASS_NAMES[label]
    if name == "circle":
        mask = dx**2 + dy**2 <= r**2
    elif name == "square":
        mask = (u.abs() <= 0.8 * r) & (v.abs() <= 0.8 * r)
    elif name == "triangle":
        mask = (v <= 0.6 * r) & (v >= -r + 1.8 * u.abs())
    elif name == "ring":
        d2 = dx**2 + dy**2
        mask = (d2 <= r**2) & (d2 >= (0.55 * r) ** 2)
    elif name == "cross":
        mask = ((u.abs() <= 0.28 * r) & (v.abs() <= r)) | ((v.abs() <= 0.28 * r) & (u.abs() <= r))
    elif name == "horizontal_stripes":
        mask = torch.sin(2 * math.pi * yy / period + phase) > 0
    elif name == "vertical_stripes":
        mask = torch.sin(2 * math.pi * xx / period + phase) > 0
    elif name == "diagonal_stripes":
        sign = 1.0 if float(torch.rand((), generator=g)) < 0.5 else -1.0
        mask = torch.sin(2 * math.pi * (xx + sign * yy) / (period * math.sqrt(2)) + phase) > 0
    elif name == "checkerboard":
        cell = period * 0.8
        mask = ((torch.floor((xx + phase) / cell) + torch.floor((yy + phase) / cell)) % 2) == 0
    else:  # dots
        cell = period * 1.2
        mx = torch.remainder(xx + phase, cell) - cell / 2
        my = torch.remainder(yy + phase, cell) - cell / 2
        mask = mx**2 + my**2 <= (0.3 * cell) ** 2
    fg, bg = _colours(g)
    m = mask.to(torch.float32)[None]
    img = fg[:, None, None] * m + bg[:, None, None] * (1.0 - m)
    noise = torch.randn(img.shape, generator=g) * _uniform(g, 0.02, 0.08)
    return (img + noise).clamp_(0.0, 1.0)


class SyntheticShapes(Dataset):
    """Deterministic procedurally generated image classification data (10 classes, PIL RGB images).

    Labels cycle through the classes (``label = i % num_classes``), so every class is equally frequent.

    Args:
        num_samples: Number of images.
        img_size: Image side in pixels (>= 16).
        num_classes: Use the first ``num_classes`` patterns (2..10).
        seed: Data seed; the ``split`` is mixed into it, so the splits never share images.
        split: ``train``, ``validation`` or ``test``.
        transform: Applied to the PIL image (settable, as timm's ``AugMixDataset`` requires).
        target_transform: Applied to the integer label.
    """

    def __init__(
            self,
            num_samples: int,
            *,
            img_size: int = 32,
            num_classes: int = 10,
            seed: int = 0,
            split: str = "train",
            transform: Callable | None = None,
            target_transform: Callable | None = None,
    ) -> None:
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
        if img_size < 16:
            raise ValueError(f"img_size must be >= 16 pixels, got {img_size}.")
        if not 2 <= num_classes <= len(CLASS_NAMES):
            raise ValueError(f"num_classes must be in 2..{len(CLASS_NAMES)}, got {num_classes}.")
        if split not in _SPLIT_IDS:
            raise ValueError(f"split must be one of {sorted(_SPLIT_IDS)}, got {split!r}.")
        self.num_samples = num_samples
        self.img_size = img_size
        self.num_classes = num_classes
        self.seed = seed
        self.split = split
        self.transform = transform
        self.target_transform = target_transform
        self.classes = list(CLASS_NAMES[:num_classes])

    def __len__(self) -> int:
        return self.num_samples

    def _generator(self, index: int) -> torch.Generator:
        return torch.Generator().manual_seed(mix_seed(self.seed, _SPLIT_IDS[self.split], index))

    def image(self, index: int) -> Image.Image:
        """The untransformed PIL image ``index``."""
        if not 0 <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for {self.num_samples} samples.")
        img = render_pattern(index % self.num_classes, self.img_size, self._generator(index))
        arr = (img * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
        return Image.fromarray(arr)

    def __getitem__(self, index: int):
        img = self.image(index)
        target = index % self.num_classes
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
