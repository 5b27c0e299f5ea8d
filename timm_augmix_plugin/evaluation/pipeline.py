"""The eval-c pipeline: model + -C data -> inference -> results.json + plots.

:func:`evaluate_corruptions` is what ``timm-augmix eval-c`` runs; it is importable for scripts and tests.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from torch.utils.data import ConcatDataset, Dataset

from ..corruptions import BENCHMARK_CORRUPTIONS
from ..utils.clean_data import dataset_classes
from . import metrics
from ._common import Benchmark, EvalConfig, finish_evaluation, load_clean_data, prepare_evaluation
from .datasets import (
    CifarCReader,
    CleanSplit,
    GeneratedSplit,
    ImageNetCReader,
    detect_layout,
    subset_indices,
)
from .model_loading import LoadedModel
from .results import SCHEMA_VERSION, RobustnessResults, utc_now
from .runner import Predictions, images_sha256, predict
from .summary import summarize
from .transforms import clean_transform, corrupted_transform, input_hw, reference_prepare

__all__ = ["LAYOUTS", "STYLES", "EvalCConfig", "evaluate_corruptions", "write_plots"]

LAYOUTS = ("auto", "cifar", "imagenet")
STYLES = ("auto", "cifar", "imagenet")


@dataclass
class EvalCConfig(EvalConfig):
    """Options of one eval-c run (the CLI flags, one to one); the shared ones are :class:`EvalConfig`'s."""

    BENCHMARK: ClassVar[Benchmark] = Benchmark("c_data", "a CIFAR-C or ImageNet-C folder", LAYOUTS, "corruptions",
                                               "corrupt", "-C", "images", " (its pretrained_cfg input_size)")

    c_data: str | None = None
    corruptions: Sequence[str] | None = None
    severities: Sequence[int] = (1, 2, 3, 4, 5)
    benchmark_style: str = "auto"
    rms_reference_quirk: bool = False
    rms_bin_size: int = 100
    ece_bins: int = 15
    extra: dict[str, Any] = field(default_factory=dict)

    def _check_options(self) -> None:
        if self.benchmark_style not in STYLES:
            raise ValueError(f"--benchmark-style must be one of {STYLES}, got {self.benchmark_style!r}")
        bad = [s for s in self.severities if s not in range(1, 6)]
        if bad or not self.severities or len(set(self.severities)) != len(self.severities):
            raise ValueError(f"--severities must be distinct values in 1..5, got {list(self.severities)}")
        names = self.corruptions
        if names is not None and (not names or len(set(names)) != len(names)):
            raise ValueError(f"--corruptions must be distinct names, got {list(self.corruptions)}")

    def _minimums(self) -> tuple[tuple[str, int, int], ...]:
        return (("--rms-bin-size", self.rms_bin_size, 1), ("--ece-bins", self.ece_bins, 1))


def _auto_style(layout: str, loaded: LoadedModel) -> str:
    imagenet_like = input_hw(loaded.data_config) == (224, 224) and loaded.num_classes == 1000
    if layout in ("imagenet", "generated") and imagenet_like:
        return "imagenet"
    return "cifar"


def _build_corrupted(
    cfg: EvalCConfig,
    loaded: LoadedModel,
    corruptions: Sequence[str],
    clean: Dataset | None,
    corrupt_fn: Callable[..., Any] | None,
) -> tuple[ConcatDataset, dict[int, tuple[str, int]], str, str]:
    """All (corruption, severity) splits concatenated, group ids, the layout name and a default dataset name."""
    groups = {g: (c, s) for g, (c, s) in enumerate((c, s) for c in corruptions for s in cfg.severities)}
    to_tensor = corrupted_transform(loaded.data_config)
    if cfg.generate:
        if corrupt_fn is None:
            from ..corruptions import corrupt as corrupt_fn
        assert clean is not None
        indices = subset_indices(len(clean), cfg.limit)
        geometric = reference_prepare(loaded.data_config)
        splits = [
            GeneratedSplit(clean, indices, c, s, geometric=geometric, transform=to_tensor, corrupt_fn=corrupt_fn,
                           seed=cfg.seed, group=g, size_table=cfg.size_table)
            for g, (c, s) in groups.items()
        ]
        return ConcatDataset(splits), groups, "generated", cfg.default_dataset_name()
    layout = detect_layout(cfg.c_data) if cfg.layout == "auto" else cfg.layout
    if layout == "cifar":
        reader: CifarCReader | ImageNetCReader = CifarCReader(cfg.c_data, corruptions, loaded.num_classes)
    else:
        reader = ImageNetCReader(cfg.c_data, corruptions, cfg.severities, loaded.num_classes)
    cfg.check_input_size(reader.image_size, loaded, str(cfg.c_data))
    if clean is not None and isinstance(reader, ImageNetCReader):
        clean_classes = dataset_classes(clean)
        if clean_classes is not None and clean_classes != reader.classes:
            raise ValueError(
                f"the clean data's classes differ from the -C set's class folders ({len(clean_classes)} vs "
                f"{len(reader.classes)} classes, or different names); use the clean split the -C set was made from"
            )
    splits = [reader.split(c, s, to_tensor, cfg.limit, group=g) for g, (c, s) in groups.items()]
    return ConcatDataset(splits), groups, layout, cfg.default_dataset_name()


def evaluate_corruptions(
    cfg: EvalCConfig,
    *,
    accelerator=None,
    corrupt_fn: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Run eval-c: returns the results dict (written to ``cfg.out`` and plotted by the main process).

    Args:
        cfg: the run's options.
        accelerator: an ``accelerate.Accelerator``; created when None.
        corrupt_fn: replaces :func:`timm_augmix_plugin.corruptions.corrupt` for ``--generate`` (tests).

    Raises:
        ValueError, FileNotFoundError, TypeError: bad options or inputs, with the fix in the message.
    """
    setup = prepare_evaluation(cfg, accelerator)
    accelerator, loaded, baseline = setup.accelerator, setup.loaded, setup.baseline
    corruptions = list(cfg.corruptions) if cfg.corruptions is not None else list(BENCHMARK_CORRUPTIONS)
    clean_ds = load_clean_data(cfg, setup)
    corrupted_ds, groups, layout, default_name = _build_corrupted(cfg, loaded, corruptions, clean_ds, corrupt_fn)

    clean_preds: Predictions | None = None
    common = dict(num_classes=loaded.num_classes, batch_size=cfg.batch_size, num_workers=cfg.workers,
                  accelerator=accelerator,
                  normalization=(loaded.data_config["mean"], loaded.data_config["std"]))
    if clean_ds is not None:
        indices = subset_indices(len(clean_ds), cfg.limit)
        clean_split = CleanSplit(clean_ds, indices, clean_transform(loaded.data_config))
        clean_preds = predict(loaded.model, clean_split, desc="clean", **common)
    corrupted_preds = predict(loaded.model, corrupted_ds, desc="corrupted", **common)

    style = _auto_style(layout, loaded) if cfg.benchmark_style == "auto" else cfg.benchmark_style
    calibration = {
        "rms_method": metrics.RMS_REFERENCE_SKIP_LAST_BIN if cfg.rms_reference_quirk else metrics.RMS_ALL_BINS,
        "rms_bin_size": cfg.rms_bin_size,
        "ece_bins": cfg.ece_bins,
    }
    summary = summarize(
        clean=clean_preds, corrupted=corrupted_preds, groups=groups, corruptions=corruptions,
        severities=list(cfg.severities), benchmark_style=style, calibration=calibration,
        baseline=baseline, baseline_name=str(cfg.baseline) if cfg.baseline else None,
    )
    from .. import __version__

    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "model": cfg.model,
        "architecture": loaded.architecture,
        "num_classes": loaded.num_classes,
        "weights_sha256": loaded.weights_sha256,
        "dataset": cfg.dataset_name or default_name,
        # which images were evaluated (uint8 pixels + label + split, order-free): `compare` refuses runs that differ
        "evaluated_images_sha256": {
            "corrupted": images_sha256(corrupted_preds.fingerprint),
            "clean": None if clean_preds is None else images_sha256(clean_preds.fingerprint),
        },
        "benchmark_style": style,
        "corruptions": corruptions,
        "severities": list(cfg.severities),
        **summary,
        "plugin_version": __version__,
        "created": utc_now(),
        "source": {
            "checkpoint": cfg.checkpoint, "weights_file": loaded.weights_file, "layout": layout,
            "c_data": None if cfg.c_data is None else os.path.abspath(cfg.c_data),
            "clean_data": cfg.clean_data, "limit_per_split": cfg.limit,
            "generate_seed": cfg.seed if cfg.generate else None, "num_processes": accelerator.num_processes,
        },
        "preprocessing": {
            "input_size": list(loaded.data_config["input_size"]),
            "mean": list(loaded.data_config["mean"]), "std": list(loaded.data_config["std"]),
            "corrupted": "ToTensor + Normalize (no resize / centre crop)",
            "clean": "ToTensor + Normalize; resize + centre crop (crop_pct "
                     f"{loaded.data_config.get('crop_pct')}) only for images not already at input size",
        },
        **cfg.extra,
    }
    return finish_evaluation(cfg, setup, results,
                             lambda folder: write_plots(results, clean_preds, corrupted_preds, folder, cfg.ece_bins))


def write_plots(
    results: dict[str, Any],
    clean: Predictions | None,
    corrupted: Predictions,
    folder: str | os.PathLike,
    num_bins: int = 15,
) -> list[Path]:
    """``error_vs_severity.png`` and ``reliability.png`` (clean vs corrupted) in ``folder``."""
    from .plots import plot_error_vs_severity, plot_reliability

    folder = Path(folder)
    panels = {}
    if clean is not None:
        panels["clean"] = (clean.confidence, clean.correct, results["clean"])
    panels["corrupted (all corruptions & severities)"] = (corrupted.confidence, corrupted.correct, results["corrupted"])
    return [
        plot_error_vs_severity(RobustnessResults.from_dict(results), folder / "error_vs_severity.png"),
        plot_reliability(panels, folder / "reliability.png", num_bins),
    ]
