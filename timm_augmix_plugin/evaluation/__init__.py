"""-C robustness evaluation: readers for corruption benchmarks, batched inference, metrics, results.json and plots.

Entry point: :func:`evaluate_corruptions` (what ``timm-augmix eval-c`` runs). The metric functions in
:mod:`.metrics` are pure and usable on their own. :func:`load_results` reads any results.json (eval-c and eval-p)
into its typed view, :class:`RobustnessResults`.
"""
from __future__ import annotations

from .metrics import (
    ALEXNET_CLEAN_ERROR as ALEXNET_CLEAN_ERROR,
)
from .metrics import (
    ALEXNET_ERRORS as ALEXNET_ERRORS,
)
from .metrics import (
    expected_calibration_error as expected_calibration_error,
)
from .metrics import (
    negative_log_likelihood as negative_log_likelihood,
)
from .metrics import (
    normalized_corruption_error as normalized_corruption_error,
)
from .metrics import (
    relative_corruption_error as relative_corruption_error,
)
from .metrics import (
    rms_calibration_error as rms_calibration_error,
)
from .model_loading import LoadedModel as LoadedModel
from .model_loading import load_model as load_model
from .p_pipeline import EvalPConfig as EvalPConfig
from .p_pipeline import evaluate_perturbations as evaluate_perturbations
from .pipeline import EvalCConfig as EvalCConfig
from .pipeline import evaluate_corruptions as evaluate_corruptions
from .results import SCHEMA_VERSION as SCHEMA_VERSION
from .results import RobustnessResults as RobustnessResults
from .results import StabilityResults as StabilityResults
from .results import load_results as load_results
from .results import read_results as read_results
from .results import validate_results as validate_results
from .results import write_results as write_results

__all__ = ["ALEXNET_CLEAN_ERROR", "ALEXNET_ERRORS", "SCHEMA_VERSION", "EvalCConfig", "EvalPConfig", "LoadedModel",
           "RobustnessResults", "StabilityResults", "evaluate_corruptions", "evaluate_perturbations",
           "expected_calibration_error", "load_model", "load_results", "negative_log_likelihood",
           "normalized_corruption_error", "read_results", "relative_corruption_error", "rms_calibration_error",
           "validate_results", "write_results"]
