"""Draw a grid of AugMix views of an image (the original, N mixed views and optionally each view's chains).

Example:

    timm-augmix show photo.jpg --policy augmix_paper --out grid.png --num-views 8 --chains
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``show`` options."""
    parser.add_argument("image", help="image file (PNG, JPEG, ... anything Pillow reads)")
    parser.add_argument("--policy", default="augmix_paper",
                        help="AugMix policy string, e.g. augmix_paper or augmix_paper-s3-w3-d-1-a1")
    parser.add_argument("--out", default="augmix_grid.png", help="output figure (.png, .jpg, .pdf, .svg)")
    parser.add_argument("--num-views", type=int, default=8, help="number of AugMix views")
    parser.add_argument("--chains", action="store_true", help="one row per view showing each chain and the mix")
    parser.add_argument("--seed", type=int, default=0, help="seed of the views (same seed, same grid)")
    parser.add_argument("--max-side", type=int, default=512,
                        help="shrink the image so its longer side is at most this (0 keeps it)")
    parser.add_argument("--dpi", type=int, default=100, help="resolution of the saved figure")


def run(args: argparse.Namespace) -> int:
    """Draw and save the grid; returns 0, or 2 with a message for a bad image, policy or option."""
    from ..utils.outputs import ensure_writable_file
    from ..visualize import load_image, save_augmix_grid

    try:
        ensure_writable_file(args.out, "--out")
        image = load_image(args.image, max_side=args.max_side or None)
        out = save_augmix_grid(image, args.out, args.policy, args.num_views, show_chains=args.chains,
                               seed=args.seed, dpi=args.dpi)
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f"timm-augmix show: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0
