"""Model cards built from typed data: ``ModelCardData`` + ``EvalResult`` metadata and a Jinja body."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..evaluation.results import RobustnessResults, StabilityResults
from ._datasets import benchmark_names, perturbation_names
from ._hashing import CARD_HASH_KEY
from ._template import MODEL_CARD_TEMPLATE

__all__ = ["BASE_TAGS", "METRIC_NAMES", "TASK_NAME", "TASK_TYPE", "PlotFile", "build_card_data", "render_model_card"]

TASK_TYPE = "image-classification"
TASK_NAME = "Image Classification"
BASE_TAGS = ("image-classification", "timm", "augmix", "robustness", "common-corruptions", "timm-augmix-plugin")

# Metric ids used in the card's model-index (``metric_type``), with their pretty names.
METRIC_NAMES: dict[str, str] = {
    "error": "Top-1 error (%)",
    "mean_corruption_error": "Mean corruption error (%, unnormalised)",
    "mce": "mCE (%)",
    "relative_mce": "Relative mCE (%)",
    "rms_calibration_error": "RMS calibration error (%)",
    "mean_flip_probability": "Mean flip probability (%, mFP, unnormalised)",
    "mean_top5_distance": "Mean top-5 distance (unnormalised)",
    "mfr": "mFR (%)",
    "mt5d": "mT5D (%)",
}


@dataclass(frozen=True)
class PlotFile:
    """A plot shipped in the card folder: its file name and the caption shown in the card."""

    file: str
    title: str


def build_card_data(
        results: RobustnessResults,
        *,
        model_name: str,
        license: str = "apache-2.0",
) -> ModelCardData:
    """The card's metadata: library, tags, datasets, license, weights hash and the eval results as ``model-index``.

    Eval results: clean top-1 error and RMS calibration error on the clean test set (when evaluated); on the -C set
    the mean corruption error (CIFAR style, unnormalised), the AlexNet-normalised mCE and relative mCE when the
    results have them (ImageNet style), and the RMS calibration error over all corrupted images.
    """
    names = benchmark_names(results.dataset)
    normalizer = _normalizer_label(results.mce_normalizer)
    clean_set, corrupted_set = (names.clean_id, names.clean_name), (names.corrupted_id, names.corrupted_name)

    def result(metric: str, value: float, dataset: tuple[str, str], normalizer: str = "") -> EvalResult:
        """One model-index entry on ``dataset`` (id, name); a normalised metric's name says its ``normalizer``."""
        name = METRIC_NAMES[metric]
        if metric in ("mce", "relative_mce", "mfr", "mt5d"):
            name = f"{name[:-1]}, normalised by {normalizer})"
        return EvalResult(
            task_type=TASK_TYPE, task_name=TASK_NAME, dataset_type=dataset[0], dataset_name=dataset[1],
            dataset_split="test", metric_type=metric, metric_name=name, metric_value=round(float(value), 4),
        )

    eval_results = []
    if results.clean_error is not None:
        eval_results.append(result("error", results.clean_error, clean_set))
    eval_results.append(result("mean_corruption_error", results.mean_corruption_error, corrupted_set))
    if results.mce is not None:
        eval_results.append(result("mce", results.mce, corrupted_set, normalizer))
    if results.relative_mce is not None:
        eval_results.append(result("relative_mce", results.relative_mce, corrupted_set, normalizer))
    eval_results.append(result("rms_calibration_error", results.corrupted["rms_calibration_error"], corrupted_set))
    if results.clean is not None:
        eval_results.append(result("rms_calibration_error", results.clean["rms_calibration_error"], clean_set))

    tags = list(dict.fromkeys((*BASE_TAGS, names.clean_id.split("/")[-1], names.corrupted_id)))
    metrics = ["error", "mean_corruption_error", "rms_calibration_error"]
    stability = results.perturbation
    if stability is not None:  # -P results (eval-p): mFP and mean top-5 distance, mFR / mT5D when normalised
        p_set = perturbation_names(stability.dataset)
        p_normalizer = _normalizer_label(stability.normalizer)
        for metric in ("mean_flip_probability", "mean_top5_distance", "mfr", "mt5d"):
            value = getattr(stability, metric)
            if value is None:
                continue
            eval_results.append(result(metric, value, p_set, p_normalizer))
            metrics.append(metric)
        tags = list(dict.fromkeys((*tags, "perturbation-stability", p_set[0])))
    return ModelCardData(
        library_name="timm",
        pipeline_tag=TASK_TYPE,
        license=license,
        tags=tags,
        datasets=[names.clean_id],
        metrics=metrics,
        model_name=model_name,
        eval_results=eval_results,
        **{CARD_HASH_KEY: results.weights_sha256},
    )


def render_model_card(
        results: RobustnessResults,
        *,
        model_name: str,
        architecture: str,
        pretrained_cfg: dict[str, Any],
        recipe_text: str,
        needs_plugin: bool,
        plots: list[PlotFile] | tuple[PlotFile, ...] = (),
        repo_id: str | None = None,
        folder_name: str | None = None,
        license: str = "apache-2.0",
        plugin_version: str = "",
        description: str | None = None,
) -> ModelCard:
    """Render the whole model card (metadata + body) with ``ModelCard.from_template``.

    Args:
        results: Validated eval-c results for the card's weights.
        model_name: Name shown as the title and in ``model-index``.
        architecture: timm model name of the weights.
        pretrained_cfg: The ``pretrained_cfg`` section of the folder's ``config.json`` (preprocessing shown).
        recipe_text: The resolved training recipe, YAML text, embedded verbatim.
        needs_plugin: Whether loading needs ``import timm_augmix_plugin`` (the plugin's own architectures).
        plots: Plot files shipped next to the card.
        repo_id: Hub repository used in the loading example (a placeholder when not known yet).
        folder_name: Name of the local folder used in the ``local-dir:`` example.
        license: License id for the metadata.
        plugin_version: Version of the plugin that built the card.
        description: Free text put at the top of the card body.
    """
    names = benchmark_names(results.dataset)
    card_data = build_card_data(results, model_name=model_name, license=license)
    summary_rows = []
    if results.clean_error is not None:
        summary_rows.append({"label": "Clean top-1 error (%)", "dataset": names.clean_name,
                             "value": _pct(results.clean_error)})
    summary_rows.append({"label": "Mean corruption error (%, unnormalised)", "dataset": names.corrupted_name,
                         "value": _pct(results.mean_corruption_error)})
    normalizer = _normalizer_label(results.mce_normalizer)
    if results.mce is not None:
        summary_rows.append({"label": f"mCE (%, normalised by {normalizer})", "dataset": names.corrupted_name,
                             "value": _pct(results.mce)})
    if results.relative_mce is not None:
        summary_rows.append({"label": f"Relative mCE (%, normalised by {normalizer})",
                             "dataset": names.corrupted_name, "value": _pct(results.relative_mce)})
    for section, dataset in ((results.clean, names.clean_name), (results.corrupted, names.corrupted_name)):
        for key, label in (("rms_calibration_error", "RMS calibration error (%)"),
                           ("ece", "Expected calibration error (%)"), ("nll", "Negative log-likelihood (nats)")):
            if section is not None and key in section:
                summary_rows.append({"label": label, "dataset": dataset, "value": _num(section[key])})
    if results.benchmark_style == "imagenet":
        benchmark_note = "ImageNet-style benchmark (as the AugMix paper's ImageNet-C table)."
    else:
        benchmark_note = "CIFAR-style benchmark (as the AugMix paper's CIFAR-10-C/CIFAR-100-C tables)."
    benchmark_note += (
        " The mean corruption error is the plain mean over corruptions and severities of the top-1 error."
    )
    if results.mce is not None:
        benchmark_note += (
            f" mCE divides each corruption's error (mean over severities) by that of {normalizer} before averaging"
            " over the corruptions; relative mCE does the same with the error increase over the clean error."
        )
    error_rows = [
        {"name": name, "cells": [_pct(results.errors[name][s]) for s in results.severities],
         "mean": _pct(results.corruption_errors[name])}
        for name in results.corruptions
    ]
    severity_means = [
        _pct(sum(results.errors[name][s] for name in results.corruptions) / len(results.corruptions))
        for s in results.severities
    ]
    stability = _stability_context(results.perturbation)
    if stability is not None:
        summary_rows.append({"label": "Mean flip probability (%, mFP)", "dataset": stability["name"],
                             "value": stability["mean_flip_probability"]})
        if stability["mfr"] is not None:
            summary_rows.append({"label": f"mFR (%, normalised by {stability['normalizer']})",
                                 "dataset": stability["name"], "value": stability["mfr"]})
    preprocessing = [
        str(tuple(pretrained_cfg.get("input_size", ()))),
        _floats(pretrained_cfg.get("mean")),
        _floats(pretrained_cfg.get("std")),
        str(pretrained_cfg.get("crop_pct", "")),
        str(pretrained_cfg.get("interpolation", "")),
    ]
    return ModelCard.from_template(
        card_data,
        template_str=MODEL_CARD_TEMPLATE,
        model_name=model_name,  # the metadata's model_name is folded into model-index; the body needs it too
        architecture=architecture,
        clean_name=names.clean_name,
        corrupted_name=names.corrupted_name,
        needs_plugin=needs_plugin,
        plugin_version=plugin_version,
        description=description,
        summary_rows=summary_rows,
        benchmark_note=benchmark_note,
        severities=list(results.severities),
        error_rows=error_rows,
        severity_means=severity_means,
        mean_corruption_error=_pct(results.mean_corruption_error),
        plots=list(plots),
        repo_id=repo_id or f"<your-org>/{model_name}",
        folder_name=folder_name or model_name,
        preprocessing=preprocessing,
        recipe_text=recipe_text.rstrip("\n"),
        weights_sha256=results.weights_sha256,
        num_clean_samples=results.num_clean_samples,
        num_corrupted_samples=results.num_corrupted_samples,
        created=results.created,
        stability=stability,
    )


def _stability_context(block: StabilityResults | None) -> dict[str, Any] | None:
    """What the card body shows of a results ``perturbation`` section (None when there is none)."""
    if block is None:
        return None
    _, name = perturbation_names(block.dataset)
    averaged = block.averaged_perturbations
    rows = [{"name": n, "frames": block.frames[n], "flip": _pct(block.flip_probability[n]),
             "top5": f"{block.top5_distance[n]:.3f}", "averaged": n in averaged}
            for n in block.perturbations]
    has_ratio = block.mfr is not None
    return {
        "name": name, "rows": rows, "num_videos": block.num_videos, "difficulty": block.difficulty,
        "mean_flip_probability": _pct(block.mean_flip_probability),
        "mean_top5_distance": f"{block.mean_top5_distance:.3f}", "num_averaged": len(averaged),
        "mfr": _pct(block.mfr) if has_ratio else None, "mt5d": _pct(block.mt5d) if has_ratio else None,
        "normalizer": _normalizer_label(block.normalizer) if has_ratio else None,
    }


def _normalizer_label(normalizer: str | None) -> str:
    if normalizer is None or normalizer.lower() == "alexnet":
        return "AlexNet"
    return f"the baseline {Path(normalizer).name}"


def _pct(value: float) -> str:
    return f"{value:.2f}"


def _num(value: float) -> str:
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4f}"


def _floats(values: Any) -> str:
    if not values:
        return ""
    return "(" + ", ".join(f"{float(v):.4f}" for v in values) + ")"
