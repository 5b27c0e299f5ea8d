"""The paper's AugMix: policy strings, the op table, parameter sampling, PIL kernels, the transform and its factory."""
from .batched import BatchedAugMix, BatchedAugMixParams, sample_batched_params
from .config import POLICY_NAME, AugMixConfig, is_plugin_policy, parse_policy
from .factory import PRESETS, create_augmix_transform, train_geometry
from .image_checks import ensure_rgb_image
from .ops import ALL_OPS, OPS, PAPER_OPS, AugMixOp, get_op, op_argument
from .pil_ops import apply_op
from .sampling import AugMixParams, OpParams, sample_augmix_params
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
    "BatchedAugMixParams",
    "OpParams",
    "apply_op",
    "create_augmix_transform",
    "ensure_rgb_image",
    "get_op",
    "is_plugin_policy",
    "op_argument",
    "parse_policy",
    "sample_augmix_params",
    "sample_batched_params",
    "train_geometry",
]
