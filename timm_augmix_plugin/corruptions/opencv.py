"""Optional OpenCV acceleration for the large-image paths (imported lazily, only where it pays).

OpenCV (``opencv-python`` / ``opencv-python-headless``, installed with ``imagecorruptions-imaug``) runs the 2-D filters
and bilinear warps of the 224 px corruptions several times faster than our numpy/numba kernels. Every function that
uses it has a numpy/numba path computing the same thing, taken when OpenCV is missing or disabled, and for small
images where the per-call overhead of OpenCV would dominate.
"""
from __future__ import annotations

from functools import lru_cache
from types import ModuleType

__all__ = ["opencv", "USE_OPENCV", "MIN_OPENCV_PIXELS", "BORDER"]

#: Set to False to force the numpy/numba paths (tests compare both).
USE_OPENCV = True
#: Images with fewer pixels than this use the batched numpy/numba paths (OpenCV is called once per image).
MIN_OPENCV_PIXELS = 48 * 48
#: scipy.ndimage border-mode names -> OpenCV border constants (filled in on first use).
BORDER: dict[str, int] = {}


@lru_cache(maxsize=1)
def _import_cv2() -> ModuleType | None:
    try:
        import cv2
    except ImportError:  # not installed, or a broken binary wheel
        return None
    BORDER.update(nearest=cv2.BORDER_REPLICATE, reflect=cv2.BORDER_REFLECT, mirror=cv2.BORDER_REFLECT_101)
    return cv2


def opencv(pixels: int | None = None) -> ModuleType | None:
    """The ``cv2`` module when it is installed, enabled and worth it for images of ``pixels`` pixels, else None."""
    if not USE_OPENCV or (pixels is not None and pixels < MIN_OPENCV_PIXELS):
        return None
    return _import_cv2()
