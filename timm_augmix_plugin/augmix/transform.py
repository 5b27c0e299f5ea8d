"""The paper's AugMix as a transform: PIL image in, mixed float tensor in [0, 1] out.

Mixing is done in one float32 buffer in [0, 1] and normalisation is left to the next transform. Because the chain
weights sum to 1 and normalisation is affine, ``N((1-m) x + m sum_i w_i c_i) = (1-m) N(x) + m sum_i w_i N(c_i)``:
this is exactly the paper's mixing of normalised tensors (reference-facts 1.2), without its ``width + 2`` separate
ToTensor/Normalize passes. No clipping and no uint8 rounding, unless ``output='uint8'`` is asked for (timm's
prefetcher path, whose collate only takes uint8).
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .config import AugMixConfig, parse_policy
from .image_checks import ensure_rgb_image
from .pil_ops import apply_op
from .sampling import AugMixParams, sample_augmix_params

OUTPUTS = ("float", "uint8")


class AugMixPaper:
    """AugMix exactly as the paper's ``aug()``: ``(1 - m) * x + m * sum_i w_i * chain_i(x)``.

    Args:
        config: an :class:`AugMixConfig` or an ``augmix_paper...`` policy string.
        output: ``'float'`` (float32 (C, H, W) in [0, 1], exact) or ``'uint8'`` (rounded, for timm's prefetcher).
        generator: optional torch generator; by default torch's global RNG is used, which torch's DataLoader seeds
            differently in every worker.

    Example:
        >>> aug = AugMixPaper('augmix_paper-s3-w3-d-1')
        >>> view = aug(pil_image)            # torch.float32, (3, H, W)
        >>> params = aug.make_params(pil_image)
        >>> same = aug.transform(pil_image, params)
    """

    def __init__(self, config: AugMixConfig | str = "augmix_paper", output: str = "float",
                 generator: torch.Generator | None = None) -> None:
        self.config = parse_policy(config) if isinstance(config, str) else config
        if output not in OUTPUTS:
            raise ValueError(f"AugMixPaper output must be one of {OUTPUTS}, got {output!r}.")
        self.output = output
        self.generator = generator

    def make_params(self, img: Image.Image) -> AugMixParams:
        """Draw the random parameters for one view of ``img``."""
        return sample_augmix_params(self.config, img.size, self.generator)

    def mix(self, img: Image.Image, params: AugMixParams) -> np.ndarray:
        """The mixed image as a float32 (H, W, C) array in [0, 1] (no randomness)."""
        scale = np.float32(1 / 255)
        mixed = np.zeros((img.size[1], img.size[0], 3), dtype=np.float32)
        for weight, chain in zip(params.chain_weights, params.chains):
            chain_img = img
            for op in chain:
                chain_img = apply_op(chain_img, op, self.config.fill)
            mixed += np.asarray(chain_img, dtype=np.float32) * (np.float32(weight) * scale)
        m = np.float32(params.skip_weight)
        mixed *= m
        mixed += np.asarray(img, dtype=np.float32) * ((1 - m) * scale)
        return mixed

    def transform(self, img: Image.Image, params: AugMixParams) -> torch.Tensor:
        """Apply given parameters: the deterministic half of the transform."""
        img = ensure_rgb_image(img)
        mixed = self.mix(img, params)
        if self.output == "uint8":
            out = np.clip(np.rint(mixed * 255), 0, 255).astype(np.uint8)
            return torch.from_numpy(out).permute(2, 0, 1).contiguous()
        return torch.from_numpy(mixed).permute(2, 0, 1).contiguous()

    def __call__(self, img: Image.Image) -> torch.Tensor:
        img = ensure_rgb_image(img)
        return self.transform(img, self.make_params(img))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.to_policy()!r}, output={self.output!r})"
