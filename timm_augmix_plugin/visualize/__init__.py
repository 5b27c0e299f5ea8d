"""Pictures of what the augmentation does."""
from __future__ import annotations

from .augmix_grid import AugMixView as AugMixView
from .augmix_grid import draw_augmix_grid as draw_augmix_grid
from .augmix_grid import load_image as load_image
from .augmix_grid import make_augmix_views as make_augmix_views
from .augmix_grid import save_augmix_grid as save_augmix_grid

__all__ = ["AugMixView", "draw_augmix_grid", "load_image", "make_augmix_views", "save_augmix_grid"]
