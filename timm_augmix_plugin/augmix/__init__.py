"""The paper's AugMix: policy strings, the op table, parameter sampling, PIL kernels, the transform and its factory.

``__all__`` lists what users import; the building blocks (sampling, op arguments, kernels, parameter records) are
imported from their modules (:mod:`.sampling`, :mod:`.ops`, :mod:`.pil_ops`, :mod:`.batched`, :mod:`.config`).
"""
from .batched import BatchedAugMix
from .config import POLICY_NAME, AugMixConfig, parse_policy
from .factory import PRESETS, create_augmix_transform
from .image_checks import ensure_rgb_image
from .ops import ALL_OPS, OPS, PAPER_OPS, AugMixOp
from .sampling import AugMixParams
from .transform import AugMixJSD, AugMixPaper

__all__ = [
    "ALL_OPS",
    "OPS",
    "PAPER_OPS",
    "POLICY_NAME",
    "PRESETS",
    "AugMixConfig",
    "AugMixJSD",
    "AugMixOp",
    "AugMixPaper",
    "AugMixParams",
    "BatchedAugMix",
    "create_augmix_transform",
    "ensure_rgb_image",
    "parse_policy",
]
