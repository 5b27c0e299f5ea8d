"""The one owner of a model's data config, of ToTensor + Normalize and of the evaluation resize + crop."""
from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from synthetic import make_image
from timm.data.transforms import MaybeToTensor
from torchvision import transforms

from timm_augmix_plugin.augmix import create_augmix_transform
from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD, PRESET_NORMALIZATION
from timm_augmix_plugin.data_config import (
    ResizeCenterCrop,
    ToNormalizedTensor,
    model_data_config,
    normalization_affine,
)
from timm_augmix_plugin.evaluation.model_loading import resolve_data_config
from timm_augmix_plugin.evaluation.transforms import geometric_transform


def test_model_data_config_is_timms_with_python_numbers():
    model = timm.create_model("resnet18", pretrained=False, num_classes=10)
    cfg = model_data_config(model)
    assert cfg == {**timm.data.resolve_model_data_config(model), "mean": cfg["mean"], "std": cfg["std"]}
    assert cfg["mean"] == tuple(timm.data.IMAGENET_DEFAULT_MEAN) and isinstance(cfg["input_size"], tuple)
    assert model_data_config(model, 64)["input_size"] == (3, 64, 64)
    assert resolve_data_config is model_data_config  # evaluation resolves through the same owner
    with pytest.raises(ValueError, match="positive"):
        model_data_config(model, 0)


def test_model_data_config_refuses_another_size_for_a_fixed_size_model():
    model = torch.nn.Linear(1, 1)
    model.pretrained_cfg = {"input_size": (3, 224, 224), "fixed_input_size": True}
    with pytest.raises(ValueError, match="fixed input size 224x224"):
        model_data_config(model, 32)


def test_normalisation_forms_give_timms_numbers():
    img = make_image(32, seed=1)
    timm_final = transforms.Compose([MaybeToTensor(), transforms.Normalize(CIFAR_MEAN, CIFAR_STD)])
    want = timm_final(img)
    scale, bias = normalization_affine(CIFAR_MEAN, CIFAR_STD)
    assert scale.shape == bias.shape == (3, 1, 1) and scale.dtype == torch.float32
    pixels = torch.from_numpy(np.array(img)).permute(2, 0, 1).float()
    torch.testing.assert_close(pixels * scale + bias, want, atol=2e-5, rtol=0)
    final = ToNormalizedTensor(CIFAR_MEAN, CIFAR_STD)
    assert torch.equal(final(img), want)
    assert torch.equal(final(np.array(img)), want)
    tensor = torch.rand(3, 8, 8)
    assert torch.equal(final(tensor), timm_final(tensor))
    with pytest.raises(ValueError, match="3 values"):
        ToNormalizedTensor((0.5, 0.5), (0.5, 0.5))
    with pytest.raises(ValueError, match="std > 0"):
        normalization_affine(CIFAR_MEAN, (0.2, 0.0, 0.2))


def test_eval_resize_is_timms_floor_rule_for_the_factory_and_eval_c():
    img = make_image(48, seed=2)
    want = transforms.CenterCrop(32)(transforms.Resize(36)(img))  # floor(32 / 0.875) = 36
    assert np.array_equal(np.asarray(ResizeCenterCrop(32, keep_input_size=False)(img)), np.asarray(want))
    eval_c = geometric_transform({"input_size": (3, 32, 32), "crop_pct": 0.875})
    assert np.array_equal(np.asarray(eval_c(img)), np.asarray(want))
    at_size = make_image(32, seed=3)
    assert eval_c(at_size) is at_size  # eval-c keeps images already at the input size
    factory = create_augmix_transform(32, preset="imagenet", is_training=False)
    mean, std = PRESET_NORMALIZATION["imagenet"]
    assert torch.equal(factory(img), ToNormalizedTensor(mean, std)(want))
    zoomed = transforms.CenterCrop(32)(transforms.Resize(36)(at_size))
    assert torch.equal(factory(at_size), ToNormalizedTensor(mean, std)(zoomed))  # the factory resizes every image


def test_factory_presets_take_their_statistics_from_the_one_table():
    img = Image.fromarray(np.full((8, 8, 3), 128, dtype=np.uint8))
    for preset, (mean, std) in PRESET_NORMALIZATION.items():
        got = create_augmix_transform(8, preset=preset, is_training=False)(img)
        assert torch.equal(got, ToNormalizedTensor(mean, std)(img))
    assert PRESET_NORMALIZATION["cifar"] == (CIFAR_MEAN, CIFAR_STD)
