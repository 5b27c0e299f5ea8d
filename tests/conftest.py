"""Shared fixtures: small synthetic images and datasets made by the tests themselves."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from synthetic import make_image

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpeg"


@pytest.fixture
def rgb_image() -> Image.Image:
    return make_image(32, seed=0)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A tiny ImageFolder dataset: 2 classes x 4 images of 32x32."""
    root = tmp_path / "images"
    for c in range(2):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(4):
            make_image(32, seed=10 * c + i).save(root / f"class{c}" / f"{i}.png")
    return root


@pytest.fixture
def fresh_accelerate_state():
    """Reset accelerate's process-wide singletons before and after the test, so that each in-process run builds its
    own ``Accelerator``; the modules whose tests create one use it (``pytestmark = pytest.mark.usefixtures(...)``)."""
    from accelerate.state import AcceleratorState, GradientState

    def reset() -> None:
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()

    reset()
    yield
    reset()
