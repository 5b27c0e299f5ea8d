"""A grid of AugMix views of one image: the original, N mixed views and, optionally, each view's chains.

The views come from the plugin's :class:`~timm_augmix_plugin.augmix.AugMixPaper`: its parameters are drawn once per
view (``make_params``) and applied with ``transform``, so a chain image shows exactly what went into that view's mix.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..augmix import AugMixPaper, AugMixParams, ensure_rgb_image
from ..utils.figures import save_figure
from ..utils.images import DECODE_ERRORS

__all__ = [
    "AugMixView", "DEFAULT_MAX_SIDE", "draw_augmix_grid", "load_image", "make_augmix_views", "save_augmix_grid"
]

DEFAULT_MAX_SIDE = 512


@dataclass(frozen=True)
class AugMixView:
    """One AugMix view and how it was made.

    Attributes:
        mixed: The AugMix output, float32 (H, W, 3) in [0, 1].
        params: The random parameters (chain weights, skip weight m, chains of ops).
        chains: Each augmentation chain's output image, in the order of ``params.chains``.
    """

    mixed: np.ndarray
    params: AugMixParams
    chains: tuple[Image.Image, ...]


def load_image(path: str | Path, max_side: int | None = DEFAULT_MAX_SIDE) -> Image.Image:
    """Open an image file as RGB, shrinking it so its longer side is at most ``max_side`` (None keeps it).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not an image Pillow can read, or has a mode AugMix does not take (e.g. alpha).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image not found: {path}. Pass the path of a PNG/JPEG/... file.")
    try:
        with Image.open(path) as opened:
            opened.load()
            img = opened.copy()
    except UnidentifiedImageError as e:
        raise ValueError(
            f"{path} is not an image format Pillow can read; convert it to PNG or JPEG first."
        ) from e
    except DECODE_ERRORS as e:  # truncated / corrupt data
        raise ValueError(f"{path} cannot be decoded ({e}); the file is truncated or corrupt.") from None
    img = ensure_rgb_image(img, what="timm-augmix show")
    if max_side is not None and max(img.size) > max_side:
        scale = max_side / max(img.size)
        img = img.resize((max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale))),
                         Image.Resampling.BICUBIC)
    return img


def make_augmix_views(
        image: Image.Image,
        policy: str = "augmix_paper",
        num_views: int = 8,
        seed: int = 0,
) -> list[AugMixView]:
    """Draw ``num_views`` AugMix views of ``image`` from a seeded torch generator (same seed, same views).

    Args:
        image: RGB PIL image.
        policy: An ``augmix_paper...`` policy string.
        num_views: Number of views.
        seed: Seed of the torch generator.
    """
    if num_views < 1:
        raise ValueError(f"num_views must be >= 1, got {num_views}.")
    aug = AugMixPaper(policy, generator=torch.Generator().manual_seed(seed))
    image = ensure_rgb_image(image, what="timm-augmix show")
    views = []
    for _ in range(num_views):
        params = aug.make_params(image)
        mixed = aug.transform(image, params).permute(1, 2, 0).numpy()
        views.append(AugMixView(mixed=mixed, params=params, chains=tuple(aug.chains(image, params))))
    return views


def draw_augmix_grid(
        image: Image.Image,
        policy: str = "augmix_paper",
        num_views: int = 8,
        *,
        show_chains: bool = False,
        seed: int = 0,
        cell_inches: float = 2.0,
):
    """Draw the original image and AugMix views of it in one matplotlib figure.

    Without ``show_chains`` the grid is the original followed by ``num_views`` mixed views. With it, each row is one
    view: the original, every chain (titled with its ops) and the mix (titled with the skip weight ``m``).

    Args:
        image: RGB PIL image.
        policy: An ``augmix_paper...`` policy string (shown in the title with its resolved settings).
        num_views: Number of AugMix views.
        show_chains: Also show the chains each view mixes.
        seed: Seed of the views.
        cell_inches: Size of one grid cell in inches.

    Returns:
        The matplotlib ``Figure`` (Agg backend; save it or close it).
    """
    from matplotlib.figure import Figure

    from ..augmix import parse_policy

    resolved = parse_policy(policy).to_policy()
    views = make_augmix_views(image, policy, num_views, seed)
    title = f"AugMix views, policy '{policy}'" + (f" (= {resolved})" if resolved != policy else "")
    if show_chains:
        title += "\none row per view: mix = (1 - m) * original + m * sum of w * chain"
        ncols, nrows = 2 + max(len(v.chains) for v in views), len(views)
    else:
        ncols = min(num_views + 1, 5)
        nrows = -(-(num_views + 1) // ncols)
    fig = Figure(figsize=(cell_inches * ncols, cell_inches * nrows + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    for ax in axes.flat:
        ax.axis("off")
    if show_chains:
        for row, view in enumerate(views):
            _show(axes[row, 0], image, "original")
            for col, (chain_img, ops, weight) in enumerate(
                    zip(view.chains, view.params.chains, view.params.chain_weights, strict=True), start=1):
                _show(axes[row, col], chain_img, f"w={weight:.2f}: " + _ops_label(ops))
            _show(axes[row, ncols - 1], view.mixed, f"mix, m={view.params.skip_weight:.2f}")
    else:
        cells = [(image, "original")] + [(v.mixed, f"view {i + 1}, m={v.params.skip_weight:.2f}")
                                         for i, v in enumerate(views)]
        for ax, (picture, label) in zip(axes.flat, cells, strict=False):  # the last row may have empty cells
            _show(ax, picture, label)
    fig.suptitle(title)
    return fig


def save_augmix_grid(
        image: Image.Image | str | Path,
        out: str | Path,
        policy: str = "augmix_paper",
        num_views: int = 8,
        *,
        show_chains: bool = False,
        seed: int = 0,
        dpi: int = 100,
) -> Path:
    """Draw the AugMix grid of an image (or image file) and save it (format from ``out``'s suffix)."""
    if not isinstance(image, Image.Image):
        image = load_image(image)
    out = Path(out)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".pdf", ".svg"):
        raise ValueError(f"--out must end in .png, .jpg, .pdf or .svg, got {out.name!r}.")
    fig = draw_augmix_grid(image, policy, num_views, show_chains=show_chains, seed=seed)
    return save_figure(fig, out, dpi=dpi)


def _show(ax, picture, label: str) -> None:
    ax.imshow(np.clip(picture, 0.0, 1.0) if isinstance(picture, np.ndarray) else picture, interpolation="nearest")
    ax.set_title(label, fontsize=7)


def _ops_label(ops) -> str:
    parts = []
    for op in ops:
        arg = op.argument
        parts.append(op.name if arg is None else f"{op.name}({arg:.2g})" if isinstance(arg, float)
                     else f"{op.name}({arg})")
    return "\n".join([", ".join(parts[i:i + 2]) for i in range(0, len(parts), 2)]) or "identity"
