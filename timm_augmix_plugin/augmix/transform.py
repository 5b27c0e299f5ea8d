"""The paper's AugMix as a transform: PIL image in, mixed float tensor in [0, 1] (or normalised) out.

Mixing is done in one float32 buffer and normalisation is affine: because the chain weights sum to 1,
``N((1-m) x + m sum_i w_i c_i) = (1-m) N(x) + m sum_i w_i N(c_i)``, so this is exactly the paper's mixing of
normalised tensors (reference-facts 1.2) without its ``width + 2`` separate ToTensor/Normalize passes.

* Normalised output (``mean``/``std`` given, and :class:`AugMixJSD`): the (C, H, W) float32 result starts as the
  normalisation bias and gets ``width + 1`` fused passes of a compiled kernel that reads an (H, W, 3) uint8 image and
  adds ``scale_c * weight * pixel`` to each channel plane.
* Output in [0, 1] or uint8: one float32 buffer in pixel units gets ``width + 1`` fused multiply-adds, and one more
  pass writes the (C, H, W) result (scaled by 1/255, or rounded for ``output='uint8'``), so the values stay within
  [0, 1] to the last bit.

No clipping and no uint8 rounding, unless ``output='uint8'`` is asked for (timm's prefetcher path, whose collate only
takes uint8).

:class:`AugMixJSD` produces what the JSD loss needs from one image: the normalised clean view and two independent
normalised AugMix views, sharing the clean image's conversion.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numba import njit, uint64
from PIL import Image

from ..data_config import ToNormalizedTensor, normalization_affine
from .config import AugMixConfig, parse_policy
from .image_checks import ensure_rgb_image
from .pil_ops import apply_op_any
from .sampling import AugMixParams, sample_augmix_params, sample_augmix_views

__all__ = ["NORMALIZED_MARK", "OUTPUTS", "AugMixJSD", "AugMixPaper", "NormalizedToTensor", "normalized_chw"]

OUTPUTS = ("float", "uint8")
#: Attribute set (True) on the tensors :class:`AugMixPaper` has normalised itself, so that
#: :class:`NormalizedToTensor` passes them on instead of normalising them a second time.
NORMALIZED_MARK = "augmix_normalized"


def _as_tensor(img: Image.Image | np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8 tensor of an RGB image (one copy into a writable buffer) or of an (H, W, 3) uint8 array."""
    if isinstance(img, np.ndarray):
        return torch.from_numpy(img if img.flags.writeable else img.copy())
    return torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(img.size[1], img.size[0], 3)


def _as_image(img: Image.Image | np.ndarray) -> Image.Image:
    return Image.fromarray(img, "RGB") if isinstance(img, np.ndarray) else img


@njit(cache=True, nogil=True, boundscheck=False)
def _add_hwc_to_chw(out: np.ndarray, src: np.ndarray, k0: np.float32, k1: np.float32,
                    k2: np.float32) -> None:  # pragma: no cover (compiled)
    """``out[c] += k_c * src[..., c]`` (float32) for a C-contiguous (3, H, W) ``out`` and (H, W, 3) uint8 ``src``.

    Unsigned flat indices keep numba from emitting negative-index wrap-around, so the loop vectorises.
    """
    o = out.reshape(-1)
    s = src.reshape(-1)
    n = s.size // 3
    plane1 = uint64(n)
    plane2 = uint64(2 * n)
    three = uint64(3)
    for ii in range(n):
        i = uint64(ii)
        o[i] += k0 * np.float32(s[three * i])
        o[plane1 + i] += k1 * np.float32(s[three * i + uint64(1)])
        o[plane2 + i] += k2 * np.float32(s[three * i + uint64(2)])


def _pixels(img: Image.Image | np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 C-contiguous array of an RGB image (one copy) or an array from the affine kernel (none)."""
    return np.ascontiguousarray(img) if isinstance(img, np.ndarray) else np.asarray(img)


def _normalisation(mean: Sequence[float] | None, std: Sequence[float] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, bias)`` of shape (3, 1, 1) with ``N(v) = v * scale + bias`` for pixel values ``v`` in 0..255.

    :func:`~timm_augmix_plugin.data_config.normalization_affine`, or plain scaling to [0, 1] without mean / std.
    """
    if (mean is None) != (std is None):
        raise ValueError("Give both mean and std to normalise the AugMix output, or neither (output in [0, 1]).")
    if mean is None:
        return torch.full((3, 1, 1), 1 / 255), torch.zeros(3, 1, 1)
    return normalization_affine(mean, std)


def normalized_chw(img: Image.Image | np.ndarray, scale_values: Sequence[float], bias: torch.Tensor) -> torch.Tensor:
    """``scale * pixels + bias`` of an RGB image as a (3, H, W) float32 tensor, in one compiled pass."""
    pixels = _pixels(img)
    out = bias.expand(3, pixels.shape[0], pixels.shape[1]).clone(memory_format=torch.contiguous_format)
    _add_hwc_to_chw(out.numpy(), pixels, *(np.float32(s) for s in scale_values))
    return out


class NormalizedToTensor(ToNormalizedTensor):
    """timm's final ``MaybeToTensor() + Normalize(mean, std)`` for pipelines around :class:`AugMixPaper`, fused.

    A PIL RGB image (the clean view) or (H, W, 3) uint8 array becomes the normalised (3, H, W) float32 tensor in one
    compiled pass; a tensor that :class:`AugMixPaper` normalised itself (it carries :data:`NORMALIZED_MARK`) is passed
    on; anything else goes through :class:`~timm_augmix_plugin.data_config.ToNormalizedTensor`. Same numbers as
    timm's two steps up to float32 rounding.

    Args:
        mean: normalisation mean (RGB).
        std: normalisation std (RGB).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__(mean, std)
        self._scale, self._bias = normalization_affine(self.mean, self.std)
        self._scale_values = self._scale.flatten().tolist()

    def __call__(self, pic: Image.Image | np.ndarray | torch.Tensor) -> torch.Tensor:
        if isinstance(pic, torch.Tensor) and getattr(pic, NORMALIZED_MARK, False):
            return pic
        if isinstance(pic, Image.Image) and pic.mode == "RGB" or isinstance(pic, np.ndarray) and (
                pic.dtype == np.uint8 and pic.ndim == 3 and pic.shape[2] == 3):
            return normalized_chw(pic, self._scale_values, self._bias)
        return super().__call__(pic)


class AugMixPaper:
    """AugMix exactly as the paper's ``aug()``: ``(1 - m) * x + m * sum_i w_i * chain_i(x)``.

    Args:
        config: an :class:`AugMixConfig` or an ``augmix_paper...`` policy string.
        output: ``'float'`` (float32 (C, H, W) in [0, 1], exact) or ``'uint8'`` (rounded, for timm's prefetcher).
        generator: optional torch generator; by default torch's global RNG is used, which torch's DataLoader seeds
            differently in every worker.
        mean: optional normalisation mean; with ``std``, the float output is normalised in the same pass
            (then do not add a Normalize step after it).
        std: optional normalisation std (see ``mean``).

    Example:
        >>> aug = AugMixPaper('augmix_paper-s3-w3-d-1')
        >>> view = aug(pil_image)            # torch.float32, (3, H, W)
        >>> params = aug.make_params(pil_image)
        >>> same = aug.transform(pil_image, params)
    """

    def __init__(self, config: AugMixConfig | str = "augmix_paper", output: str = "float",
                 generator: torch.Generator | None = None, *, mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None) -> None:
        self.config = parse_policy(config) if isinstance(config, str) else config
        if output not in OUTPUTS:
            raise ValueError(f"AugMixPaper output must be one of {OUTPUTS}, got {output!r}.")
        self.output = output
        self.generator = generator
        self.set_normalization(mean, std)  # refuses mean/std with output='uint8'

    def set_normalization(self, mean: Sequence[float] | None, std: Sequence[float] | None) -> None:
        """Normalise the output in the mixing pass with ``mean``/``std`` (None, None: float output in [0, 1])."""
        if mean is not None and self.output == "uint8":
            raise ValueError("AugMixPaper: output='uint8' cannot be normalised; drop mean/std or use output='float'.")
        self.mean, self.std = mean, std
        self._scale, self._bias = _normalisation(mean, std)
        self._scale_values = self._scale.flatten().tolist()

    def make_params(self, img: Image.Image) -> AugMixParams:
        """Draw the random parameters for one view of ``img``."""
        return sample_augmix_params(self.config, img.size, self.generator)

    def chains(self, img: Image.Image, params: AugMixParams) -> list[Image.Image]:
        """The ``width`` augmented chain images (no randomness)."""
        return [_as_image(chain) for chain in self._chain_outputs(img, params)]

    def _chain_outputs(self, img: Image.Image, params: AugMixParams) -> list[Image.Image | np.ndarray]:
        """The chain images, as PIL images or, where the last op was the compiled affine kernel, (H, W, 3) arrays."""
        out = []
        for chain in params.chains:
            chain_img: Image.Image | np.ndarray = img
            for op in chain:
                chain_img = apply_op_any(chain_img, op, self.config.fill)
            out.append(chain_img)
        return out

    def mix_chains(self, params: AugMixParams, chains: Sequence[Image.Image | np.ndarray],
                   base: torch.Tensor | None) -> torch.Tensor:
        """``sum_i m w_i chain_i`` (+ ``base``) as an (H, W, C) float32 tensor in pixel units 0..255.

        ``chains`` are PIL RGB images or (H, W, 3) uint8 arrays.
        """
        m = params.skip_weight
        acc = base
        for weight, chain_img in zip(params.chain_weights, chains, strict=True):
            pixels = _as_tensor(chain_img)
            if acc is None:
                acc = torch.mul(pixels, float(m * weight))
            else:
                acc.add_(pixels, alpha=float(m * weight))
        return acc

    def _mixed_pixels(self, img: Image.Image, params: AugMixParams) -> torch.Tensor:
        base = torch.mul(_as_tensor(img), float(1 - params.skip_weight))
        return self.mix_chains(params, self._chain_outputs(img, params), base)

    def _add_mix(self, out: torch.Tensor, params: AugMixParams, chains: Sequence[Image.Image | np.ndarray],
                 img: Image.Image | None = None) -> torch.Tensor:
        """``out += scale * (m sum_i w_i chain_i (+ (1 - m) img))`` in place; ``out`` is (3, H, W) float32."""
        m = params.skip_weight
        terms = [(m * weight, chain) for weight, chain in zip(params.chain_weights, chains, strict=True)]
        if img is not None:
            terms.insert(0, (1 - m, img))
        planes = out.numpy()
        for weight, pic in terms:
            k0, k1, k2 = (np.float32(s * weight) for s in self._scale_values)
            _add_hwc_to_chw(planes, _pixels(pic), k0, k1, k2)
        return out

    def _bias_planes(self, img: Image.Image) -> torch.Tensor:
        return self._bias.expand(3, img.size[1], img.size[0]).clone(memory_format=torch.contiguous_format)

    def normalize(self, img: Image.Image) -> torch.Tensor:
        """The clean ``img`` normalised as this transform's outputs: (3, H, W) float32, in one compiled pass.

        With no ``mean``/``std`` this is ``img`` scaled to [0, 1].
        """
        return normalized_chw(img, self._scale_values, self._bias)

    def view_from_clean(self, img: Image.Image, params: AugMixParams, clean: torch.Tensor) -> torch.Tensor:
        """The view of ``params`` from ``clean = self.normalize(img)``, sharing its conversion (no randomness).

        Normalisation is affine and the chain weights sum to 1, so the view is
        ``(1 - m) clean + m bias + scale sum_i m w_i chain_i``; the result is a new (3, H, W) float32 tensor.
        """
        m = params.skip_weight
        view = torch.add(self._bias * m, clean, alpha=1 - m)
        return self._add_mix(view, params, self._chain_outputs(img, params))

    def mix(self, img: Image.Image, params: AugMixParams) -> np.ndarray:
        """The mixed image as a float32 (H, W, C) array in [0, 1] (no randomness)."""
        return self._mixed_pixels(img, params).mul_(1 / 255).numpy()

    def transform(self, img: Image.Image, params: AugMixParams) -> torch.Tensor:
        """Apply given parameters: the deterministic half of the transform."""
        img = ensure_rgb_image(img)
        if self.mean is not None:
            out = self._add_mix(self._bias_planes(img), params, self._chain_outputs(img, params), img)
            setattr(out, NORMALIZED_MARK, True)
            return out
        pixels = self._mixed_pixels(img, params)  # pixel units first: the [0, 1] output range holds to the last bit
        if self.output == "uint8":
            return pixels.round_().clamp_(0, 255).to(torch.uint8).permute(2, 0, 1).contiguous()
        out = torch.empty(pixels.shape[2], pixels.shape[0], pixels.shape[1])
        return torch.addcmul(self._bias, pixels.permute(2, 0, 1), self._scale, out=out)

    def __call__(self, img: Image.Image) -> torch.Tensor:
        img = ensure_rgb_image(img)
        return self.transform(img, self.make_params(img))

    def __repr__(self) -> str:
        norm = f", mean={tuple(self.mean)}, std={tuple(self.std)}" if self.mean is not None else ""
        return f"{type(self).__name__}({self.config.to_policy()!r}, output={self.output!r}{norm})"


class AugMixJSD:
    """The JSD triple from one PIL image: ``(clean, augmix_1, augmix_2)``, each normalised float32 (C, H, W).

    The same views as ``timm.data.AugMixDataset(num_splits=3)`` around :class:`AugMixPaper` and a final
    ToTensor + Normalize, computed in fewer passes: the clean image is converted and normalised once, and every view
    is ``(1 - m) * clean + m * bias + scale * sum_i m w_i chain_i`` (normalisation is affine, the weights sum to 1).

    Args:
        config: an :class:`AugMixConfig` or an ``augmix_paper...`` policy string.
        mean: normalisation mean (RGB).
        std: normalisation std (RGB).
        num_views: number of AugMix views after the clean one (2 for the paper's JSD loss).
        generator: optional torch generator (default: torch's global RNG).

    Example:
        >>> jsd = AugMixJSD('augmix_paper', mean=CIFAR_MEAN, std=CIFAR_STD)
        >>> clean, aug1, aug2 = jsd(pil_image)
    """

    def __init__(self, config: AugMixConfig | str = "augmix_paper", *, mean: Sequence[float], std: Sequence[float],
                 num_views: int = 2, generator: torch.Generator | None = None) -> None:
        if int(num_views) != num_views or num_views < 1:
            raise ValueError(f"AugMixJSD num_views must be an integer >= 1, got {num_views} (the paper uses 2).")
        self.augmix = AugMixPaper(config, generator=generator, mean=mean, std=std)
        self.num_views = int(num_views)

    def __call__(self, img: Image.Image) -> tuple[torch.Tensor, ...]:
        aug = self.augmix
        img = ensure_rgb_image(img)
        clean = aug.normalize(img)
        params = sample_augmix_views(aug.config, img.size, self.num_views, aug.generator)  # one draw for all views
        return (clean, *(aug.view_from_clean(img, p, clean) for p in params))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.augmix!r}, num_views={self.num_views})"
