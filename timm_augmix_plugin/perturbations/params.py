"""Parameters of the -P perturbation sequences, one table per image size.

Read from hendrycks/robustness ``ImageNet-P/create_p/make_cifar_p.py`` (32 px, CIFAR-10-P / CIFAR-100-P),
``make_tinyimagenet_p.py`` (64 px) and ``make_imagenet_p.py`` (224 px). Each script holds one block per
perturbation (all but one commented out). Frame ``i`` runs over ``range(frames)``; the noise sequences and zoom blur
start with the clean image as frame 0 (the reference appends it before the loop), every other sequence starts with
an already perturbed frame (e.g. motion blur at angle -180 degrees for CIFAR).

The test perturbations are the ten listed in ``make_cifar_p.py``; ``cifar-p-eval.py`` averages over a list with
spatter in place of snow, so the mean over a run records which perturbations it covers.

Other image sizes use the nearest table (as the -C tables do, :func:`timm_augmix_plugin.corruptions.select_table`)
with its parameters unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..corruptions.params import select_table

__all__ = ["TEST_PERTURBATIONS", "VALIDATION_PERTURBATIONS", "ALL_PERTURBATIONS", "PERTURBATION_GROUPS",
           "NOISE_PERTURBATIONS", "GEOMETRIC_PERTURBATIONS", "PerturbationParams", "resolve_p_params", "context_size",
           "frame_count", "is_noise"]

TEST_PERTURBATIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "snow",
    "brightness", "translate", "rotate", "tilt", "scale",
)
VALIDATION_PERTURBATIONS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "shear")
ALL_PERTURBATIONS: tuple[str, ...] = TEST_PERTURBATIONS + VALIDATION_PERTURBATIONS
#: The groups that make-p's and eval-p's ``--perturbations`` accept by name.
PERTURBATION_GROUPS: dict[str, tuple[str, ...]] = {
    "test": TEST_PERTURBATIONS, "validation": VALIDATION_PERTURBATIONS, "all": ALL_PERTURBATIONS}
#: Sequences compared with their first frame by the flip probability (the reference tests ``'noise' in name``).
NOISE_PERTURBATIONS: tuple[str, ...] = tuple(p for p in ALL_PERTURBATIONS if "noise" in p)
#: Sequences the reference computes on the resized image before its centre crop (they move content in from outside
#: the crop); at 224 px they run on the 256 px square around the crop, then the crop is taken.
GEOMETRIC_PERTURBATIONS: tuple[str, ...] = ("zoom_blur", "translate", "rotate", "tilt", "scale", "shear")


@dataclass(frozen=True)
class PerturbationParams:
    """One perturbation at one table size.

    Attributes:
        name: perturbation name.
        table: the reference table (32, 64 or 224).
        frames: number of frames of the sequence.
        value: the table's parameters (meaning per perturbation, see ``sequences``).
    """

    name: str
    table: int
    frames: int
    value: Any


# name -> table -> (frames, value)
_TABLES: dict[str, dict[int, tuple[int, Any]]] = {
    # std of N(0, c) on [0, 1] values; frame 0 clean
    "gaussian_noise": {32: (31, 0.02), 64: (31, 0.025), 224: (31, 0.03)},
    # Poisson(x c) / c; frame 0 clean
    "shot_noise": {32: (31, 700.0), 64: (31, 500.0), 224: (31, 300.0)},
    # (radius, sigma, angle step, angle offset): angle = (i + offset) * step
    "motion_blur": {32: (21, (6.0, 1.8, 9.0, -20)), 64: (31, (14.0, 3.0, 5.0, -30)),
                    224: (31, (10.0, 3.0, 4.0, -30))},
    # zoom of frame i is 1 + step * i; frame i is the running mean of the zooms 0..i; frame 0 clean
    "zoom_blur": {32: (31, 0.004), 64: (31, 0.004), 224: (31, 0.004)},
    # (loc, scale, zoom, threshold, motion radius, motion sigma, blend): angle = 4 i - 150
    "snow": {32: (31, (0.05, 0.3, 2.0, 0.5, 10.0, 2.0, 0.85)), 64: (31, (0.05, 0.28, 2.0, 0.5, 10.0, 2.5, 0.85)),
             224: (31, (0.05, 0.3, 3.0, 0.5, 14.0, 4.0, 0.85))},
    # HSV value + (i - 15) * step
    "brightness": {32: (31, 0.015), 64: (31, 0.02), 224: (31, 0.02)},
    # horizontal shift i - offset pixels (nearest)
    "translate": {32: (16, 7), 64: (31, 15), 224: (41, 20)},
    # angle i - 15 degrees (bilinear)
    "rotate": {32: (31, 1.0), 64: (31, 1.0), 224: (31, 1.0)},
    # phi = theta = step * (i - 15) degrees (perspective warp)
    "tilt": {32: (31, 0.75), 64: (31, 1.0), 224: (31, 1.0)},
    # scale (step * i + start) / 100 (bilinear)
    "scale": {32: (31, (2.0, 70.0)), 64: (31, (2.5, 40.0)), 224: (31, (2.5, 40.0))},
    # x + x N(0, c); frame 0 clean
    "speckle_noise": {32: (31, 0.05), 64: (31, 0.05), 224: (31, 0.05)},
    # sigma = start + step * i, truncate
    "gaussian_blur": {32: (31, (0.3, 0.015, 7.0)), 64: (31, (0.35, 0.014, 7.0)), 224: (31, (0.25, 0.035, 6.0))},
    # (loc, scale, sigma, threshold, per-frame vertical smear kernel)
    "spatter": {32: (31, (0.6, 0.265, 1.75, 0.7, (0.2, 0.8))), 64: (31, (0.6, 0.25, 1.75, 0.7, (0.2, 0.8))),
                224: (31, (0.65, 0.27, 3.7, 0.69, (0.05, 0.1, 0.15, 0.7)))},
    # shear i - 15 degrees (bilinear)
    "shear": {32: (31, 1.0), 64: (31, 1.0), 224: (31, 1.0)},
}


def is_noise(name: str) -> bool:
    """Whether the flip probability compares every frame with frame 0 (noise) rather than with the previous one."""
    return name in NOISE_PERTURBATIONS


def check_name(name: str) -> str:
    """``name`` when it is a perturbation, else ``ValueError`` listing the valid names."""
    if not isinstance(name, str) or name not in _TABLES:
        raise ValueError(f"Unknown perturbation {name!r}. Valid names: {', '.join(ALL_PERTURBATIONS)}")
    return name


def resolve_p_params(name: str, side: int, size_table: int | None = None) -> PerturbationParams:
    """The parameters of ``name`` for images of ``side`` pixels (or the given table)."""
    check_name(name)
    table = size_table if size_table is not None else select_table(side, side)
    if table not in (32, 64, 224):
        raise ValueError(f"size_table must be 32, 64 or 224, got {table!r}")
    frames, value = _TABLES[name][table]
    return PerturbationParams(name, table, frames, value)


def frame_count(name: str, table: int) -> int:
    """Frames of the reference sequence of ``name`` at ``table`` px."""
    return resolve_p_params(name, table, table).frames


def context_size(name: str, crop: int, table: int) -> int:
    """Side of the square the sequence is computed on before its centre crop to ``crop``.

    At 224 px the reference perturbs the Resize(256) image and then centre-crops 224, so geometric sequences need
    the 256 px square around the crop; every other case works on the crop itself.
    """
    if table == 224 and name in GEOMETRIC_PERTURBATIONS:
        return round(crop * 256 / 224)
    return crop
