"""AugMix's JSD consistency loss around any timm loss, and Mixup/CutMix for JSD batches."""
from .factory import create_jsd_loss
from .jsd import JsdLoss, js_divergence
from .split_mixup import SplitMixup

__all__ = ["JsdLoss", "SplitMixup", "create_jsd_loss", "js_divergence"]
