"""``create_augmix_transform``: the plugin's own factory for the paper's training and evaluation pipelines."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from PIL import Image
from torchvision import transforms

from ..constants import IMAGENET_CROP_PCT, PRESET_NORMALIZATION
from ..data_config import ResizeCenterCrop, ToNormalizedTensor
from .config import is_plugin_policy, parse_policy
from .image_checks import ensure_rgb_image
from .transform import AugMixJSD, AugMixPaper

__all__ = ["PRESETS", "EnsureRGB", "cifar_crop_padding", "create_augmix_transform", "train_geometry"]

PRESETS = tuple(PRESET_NORMALIZATION)


class EnsureRGB:
    """First step of the plugin's pipelines: convert or refuse image modes (see :mod:`.image_checks`)."""

    def __init__(self, min_side: int) -> None:
        self.min_side = min_side

    def __call__(self, img: Image.Image) -> Image.Image:
        return ensure_rgb_image(img, self.min_side, what="The AugMix training transform")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(min_side={self.min_side})"


def cifar_crop_padding(img_size: int) -> int:
    """Zero padding of the CIFAR random crop: 4 px at 32 px as in the paper, scaled with the image side elsewhere."""
    return max(1, img_size // 8)


def train_geometry(img_size: int, preset: str) -> list[Callable]:
    """The geometric training steps that come before AugMix (or alone, for standard training).

    One definition for every training path (standard, ``pil`` AugMix, ``batched`` AugMix), so they crop alike:
    ``'cifar'``: flip, then a random crop with :func:`cifar_crop_padding`; ``'imagenet'``: random resized crop, then
    flip; ``'none'``: no geometry. Each list starts with :class:`EnsureRGB`, which converts or refuses other image
    modes.
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; expected one of {PRESETS}.")
    if preset == "cifar":
        pad = cifar_crop_padding(img_size)
        return [EnsureRGB(img_size - 2 * pad), transforms.RandomHorizontalFlip(),
                transforms.RandomCrop(img_size, padding=pad)]
    if preset == "imagenet":
        return [EnsureRGB(1), transforms.RandomResizedCrop(img_size), transforms.RandomHorizontalFlip()]
    return [EnsureRGB(1)]


def create_augmix_transform(
        img_size: int = 32,
        *,
        policy: str | None = None,
        preset: str = "cifar",
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        is_training: bool = True,
        separate: bool = False,
        num_splits: int = 1,
        output: str = "float",
) -> Callable | tuple[Callable, Callable, Callable]:
    """Build the paper's pipeline around :class:`AugMixPaper`.

    Args:
        img_size: output side in pixels.
        policy: ``augmix_paper...`` string; None gives ``augmix_paper`` (cifar) or ``augmix_paper-in`` (imagenet).
        preset: ``'cifar'`` (flip, random crop with 4 px padding at 32 px, then AugMix), ``'imagenet'`` (random
            resized crop, flip, then AugMix) or ``'none'`` (AugMix only); see :func:`train_geometry`.
        mean: normalisation mean; None takes the preset's from
            :data:`~timm_augmix_plugin.constants.PRESET_NORMALIZATION` (CIFAR stats for cifar/none, ImageNet stats
            for imagenet). With a model, pass its own (``data_config.model_data_config(model)``).
        std: normalisation std, as ``mean``.
        is_training: False returns the evaluation transform: ToTensor + Normalize, after, for imagenet, eval-c's
            :class:`~timm_augmix_plugin.data_config.ResizeCenterCrop` (timm's rule: short side
            ``floor(img_size / 0.875)``, e.g. 256 at 224 and 36 at 32; before issue 14 it was rounded, 37 at 32).
        separate: return ``(primary, augmix, final)`` for timm's ``AugMixDataset(dataset, num_splits=3)``, which then
            yields the clean view and two independent AugMix views per sample.
        num_splits: ``>= 2`` returns one transform that yields ``(clean, aug_1, ..., aug_{num_splits-1})``, all
            normalised, computed in one fused pass (:class:`AugMixJSD`; the same views as ``separate=True`` with
            ``AugMixDataset``, faster). Use it instead of ``separate``.
        output: ``'float'`` (exact mixing) or ``'uint8'`` (for timm's prefetcher/fast_collate path).

    Example:
        >>> from timm.data import AugMixDataset, create_dataset
        >>> ds = create_dataset('', root='train.tar', transform=create_augmix_transform(32, separate=True))
        >>> jsd_ds = AugMixDataset(ds, num_splits=3)   # ((clean, aug1, aug2), label)
    """
    if num_splits > 1 and separate:
        raise ValueError("Use either separate=True (for timm's AugMixDataset) or num_splits >= 2 (fused views), "
                         "not both.")
    if int(num_splits) != num_splits or num_splits < 1:
        raise ValueError(f"num_splits must be an integer >= 1, got {num_splits}.")
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; expected one of {PRESETS}.")
    if policy is not None and not is_plugin_policy(policy):
        raise ValueError(f"policy must be an 'augmix_paper...' string, got {policy!r}.")
    imagenet = preset == "imagenet"
    mean = tuple(mean) if mean is not None else PRESET_NORMALIZATION[preset][0]
    std = tuple(std) if std is not None else PRESET_NORMALIZATION[preset][1]
    final = transforms.Compose([ToNormalizedTensor(mean, std)])

    if not is_training:
        if separate:
            raise ValueError("separate=True only applies to training transforms (is_training=True).")
        steps: list[Callable] = [EnsureRGB(1)]
        if imagenet:
            steps.append(ResizeCenterCrop(img_size, IMAGENET_CROP_PCT, keep_input_size=False))
        return transforms.Compose(steps + list(final.transforms))

    config = parse_policy(policy or ("augmix_paper-in" if imagenet else "augmix_paper"))
    primary = train_geometry(img_size, preset)
    if num_splits > 1:
        return transforms.Compose(primary + [AugMixJSD(config, mean=mean, std=std, num_views=num_splits - 1)])
    augment = AugMixPaper(config, output=output)
    if separate:
        return transforms.Compose(primary), transforms.Compose([augment]), final
    return transforms.Compose(primary + [augment] + list(final.transforms))
