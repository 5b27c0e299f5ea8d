"""torchvision-style kernel contracts for every AugMix op and transform, with warnings raised as errors.

* no kernel writes into its input (PIL image, numpy array or tensor);
* tensor kernels keep dtype, device and shape; PIL kernels keep mode and size;
* transforms survive pickling (DataLoader workers started with ``spawn`` receive them pickled) and the copy gives the
  same output for the same seed.
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from synthetic import make_image

from timm_augmix_plugin.augmix import ALL_OPS, AugMixJSD, AugMixPaper, BatchedAugMix, create_augmix_transform
from timm_augmix_plugin.augmix.batched import apply_batched_op
from timm_augmix_plugin.augmix.ops import op_argument
from timm_augmix_plugin.augmix.pil_ops import apply_op, apply_op_any
from timm_augmix_plugin.augmix.sampling import OpParams
from timm_augmix_plugin.augmix.transform import NormalizedToTensor
from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD

pytestmark = pytest.mark.filterwarnings("error")
SIZE = (19, 13)
LEVELS = (0.1, 2.7, 9.9)


def _ops(name: str) -> list[OpParams]:
    return [OpParams(name, level, negate, op_argument(name, level, negate, SIZE))
            for level in LEVELS for negate in (False, True)]


def _image(seed: int = 0) -> Image.Image:
    return make_image(max(SIZE), seed=seed).crop((0, 0, *SIZE))


@pytest.mark.parametrize("name", ALL_OPS)
def test_pil_kernel_keeps_mode_and_size_and_never_writes_its_input(name):
    img = _image()
    before = img.tobytes()
    for op in _ops(name):
        for fill in (0, 128):
            out = apply_op(img, op, fill)
            assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == img.size
            assert img.tobytes() == before


@pytest.mark.parametrize("name", ALL_OPS)
def test_array_kernel_keeps_dtype_and_shape_and_never_writes_its_input(name):
    array = np.array(_image(1))
    before = array.copy()
    for op in _ops(name):
        out = np.asarray(apply_op_any(array, op, 0))
        assert out.dtype == np.uint8 and out.shape == array.shape
        assert np.array_equal(array, before)


@pytest.mark.parametrize("name", ALL_OPS)
def test_batched_kernel_keeps_dtype_device_shape_and_never_writes_its_input(name):
    x = torch.stack([torch.from_numpy(np.array(_image(s))).permute(2, 0, 1) for s in range(4)])
    before = x.clone()
    ops = _ops(name)[:4]
    args = None if ops[0].argument is None else torch.tensor([float(op.argument) for op in ops], dtype=torch.float64)
    out = apply_batched_op(x, name, args, fill=7)
    assert out.dtype == torch.uint8 and out.device == x.device and out.shape == x.shape
    assert torch.equal(x, before)
    if args is not None:
        assert torch.equal(args, torch.tensor([float(op.argument) for op in ops], dtype=torch.float64))


def _transforms() -> dict[str, object]:
    return {
        "paper_float": AugMixPaper("augmix_paper-s3-w3-d-1"),
        "paper_uint8": AugMixPaper("augmix_paper-all", output="uint8"),
        "paper_normalized": AugMixPaper("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD),
        "jsd": AugMixJSD("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD),
        "normalize": NormalizedToTensor(CIFAR_MEAN, CIFAR_STD),
        "factory_cifar": create_augmix_transform(32, preset="cifar"),
        "factory_jsd": create_augmix_transform(32, preset="cifar", num_splits=3),
        "factory_eval": create_augmix_transform(32, preset="cifar", is_training=False),
    }


def _outputs(out) -> list[torch.Tensor]:
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.parametrize("key", list(_transforms()))
def test_transform_pickles_and_the_copy_gives_the_same_views(key):
    transform = _transforms()[key]
    copy = pickle.loads(pickle.dumps(transform))
    assert repr(copy) == repr(transform)
    img = make_image(32, seed=3)
    before = img.tobytes()
    torch.manual_seed(5)
    expected = _outputs(transform(img))
    torch.manual_seed(5)
    got = _outputs(copy(img))
    assert img.tobytes() == before
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def test_batched_augmix_pickles_keeps_dtype_and_never_writes_its_input():
    module = BatchedAugMix("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD)
    copy = pickle.loads(pickle.dumps(module))
    x = torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8)
    before = x.clone()
    torch.manual_seed(1)
    views = module(x)
    torch.manual_seed(1)
    again = copy(x)
    assert torch.equal(x, before)
    assert len(views) == 3 and all(v.dtype == torch.float32 and v.shape == x.shape for v in views)
    assert all(torch.equal(a, b) for a, b in zip(views, again, strict=True))
    floats = x.float() / 255
    floats_before = floats.clone()
    module(floats)
    assert torch.equal(floats, floats_before)
