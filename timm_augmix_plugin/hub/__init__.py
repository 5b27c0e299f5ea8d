"""Robust checkpoints on the Hugging Face Hub: card folders with -C evaluation results, hash checks, publishing.

A card folder holds ``model.safetensors`` + timm's ``config.json`` (so ``timm.create_model('hf-hub:org/name',
pretrained=True)`` and ``'local-dir:<folder>'`` load it), the eval-c ``results.json`` and plots, and a ``README.md``
model card whose metadata carries the robustness numbers and the sha256 of the weights they were measured on.
The results are read with :func:`timm_augmix_plugin.evaluation.load_results` (their typed view,
:class:`~timm_augmix_plugin.evaluation.RobustnessResults`, is what :func:`render_model_card` takes).
"""
from __future__ import annotations

from ._build import GENERATED_FILES as GENERATED_FILES
from ._build import PLOT_FILES as PLOT_FILES
from ._build import build_hub_folder as build_hub_folder
from ._build import find_recipe as find_recipe
from ._card import METRIC_NAMES as METRIC_NAMES
from ._card import PlotFile as PlotFile
from ._card import build_card_data as build_card_data
from ._card import render_model_card as render_model_card
from ._datasets import BenchmarkNames as BenchmarkNames
from ._datasets import benchmark_names as benchmark_names
from ._hashing import WeightsMismatchError as WeightsMismatchError
from ._hashing import check_same_weights as check_same_weights
from ._hashing import verify_hub_folder as verify_hub_folder
from ._publish import PublishPlan as PublishPlan
from ._publish import plan_publish as plan_publish
from ._publish import publish_hub_folder as publish_hub_folder

__all__ = ["GENERATED_FILES", "METRIC_NAMES", "PLOT_FILES", "BenchmarkNames", "PlotFile", "PublishPlan",
           "WeightsMismatchError", "benchmark_names", "build_card_data", "build_hub_folder", "check_same_weights",
           "find_recipe", "plan_publish", "publish_hub_folder", "render_model_card", "verify_hub_folder"]
