"""Training with HF Accelerate from YAML recipes.

Launch with ``accelerate launch -m timm_augmix_plugin.train --recipe recipes/<name>.yaml [section.key=value ...]``
(or ``python -m timm_augmix_plugin.train ...`` for one process); ``--recipe <name>`` also finds the recipes installed
with the package. See :mod:`timm_augmix_plugin.train.recipe` for the
recipe format and :func:`train` for what a run writes.
"""
from .engine import NonFiniteLossError as NonFiniteLossError
from .engine import TrainingContext as TrainingContext
from .engine import TrainResult as TrainResult
from .engine import evaluate as evaluate
from .engine import train as train
from .engine import train_one_epoch as train_one_epoch
from .recipe import Recipe as Recipe
from .recipe import check_data_paths as check_data_paths
from .recipe import load_recipe as load_recipe
from .recipe import packaged_recipes as packaged_recipes

__all__ = [
    "NonFiniteLossError",
    "Recipe",
    "TrainResult",
    "TrainingContext",
    "check_data_paths",
    "evaluate",
    "load_recipe",
    "packaged_recipes",
    "train",
    "train_one_epoch",
]
