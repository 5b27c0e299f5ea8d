"""The AugMix paper's CIFAR architectures, registered in timm's model registry.

``import timm_augmix_plugin`` registers ``wrn16_1``, ``wrn16_2``, ``wrn28_10``, ``wrn40_2``, ``allconvnet``,
``densenet40_12`` and ``resnext29_4x32d`` under timm's module key ``'augmix_cifar'``; build them with
``timm.create_model(name, num_classes=...)``. The model classes can also be used directly.
"""
from .allconv import AllConvNet as AllConvNet
from .augmix_cifar import MODULE_KEY as MODULE_KEY
from .densenet import CifarDenseNet as CifarDenseNet
from .registration import (
    model_names as model_names,
)
from .registration import (
    register_models as register_models,
)
from .registration import (
    registered_models as registered_models,
)
from .registration import (
    unregister_models as unregister_models,
)
from .resnext import CifarResNeXt as CifarResNeXt
from .wrn import WideResNet as WideResNet

__all__ = [
    "AllConvNet", "CifarDenseNet", "CifarResNeXt", "WideResNet", "MODULE_KEY",
    "model_names", "register_models", "registered_models", "unregister_models",
]
