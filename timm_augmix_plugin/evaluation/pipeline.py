"""The eval-c pipeline: model + -C data -> inference -> results.json + plots.

:func:`evaluate_corruptions` is what ``timm-augmix eval-c`` runs; it is importable for scripts and tests.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch.utils.data import ConcatDataset, Dataset

from . import metrics
from .datasets import (
    CifarCReader,
    CleanSplit,
    GeneratedSplit,
    ImageNetCReader,
    check_clean_labels,
    dataset_classes,
    detect_layout,
    load_clean_dataset,
    subset_indices,
)
from .model_loading import LoadedModel, load_model
from .results import SCHEMA_VERSION, RobustnessResults, load_results, utc_now, write_results
from .runner import Predictions, images_sha256, predict
from .summary import summarize
from .transforms import clean_transform, corrupted_transform, input_hw, reference_prepare

LAYOUTS = ("auto", "cifar", "imagenet")
STYLES = ("auto", "cifar", "imagenet")


@dataclass
class EvalCConfig:
    """Options of one eval-c run (the CLI flags, one to one)."""

    model: str
    out: str
    c_data: str | None = None
    checkpoint: str | None = None
    num_classes: int | None = None
    img_size: int | None = None
    pretrained: bool = True
    clean_data: str | None = None
    clean_split: str = "validation"
    download: bool = False
    generate: bool = False
    seed: int = 0
    size_table: int | None = None
    layout: str = "auto"
    corruptions: Sequence[str] | None = None
    severities: Sequence[int] = (1, 2, 3, 4, 5)
    benchmark_style: str = "auto"
    baseline: str | None = None
    dataset_name: str | None = None
    rms_reference_quirk: bool = False
    rms_bin_size: int = 100
    ece_bins: int = 15
    batch_size: int = 256
    workers: int = 2
    limit: int | None = None
    plots: bool = True
    plots_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Raise ``ValueError`` for contradictory or out-of-range options (naming the fix)."""
        if self.generate and self.c_data:
            raise ValueError("--generate makes the corruptions from --clean-data; drop --c-data (or drop --generate)")
        if self.generate and not self.clean_data:
            raise ValueError("--generate needs --clean-data (a folder/tar of clean images to corrupt)")
        if not self.generate and not self.c_data:
            raise ValueError("pass --c-data DIR (a CIFAR-C or ImageNet-C folder), or --generate with --clean-data")
        if self.layout not in LAYOUTS:
            raise ValueError(f"--layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.benchmark_style not in STYLES:
            raise ValueError(f"--benchmark-style must be one of {STYLES}, got {self.benchmark_style!r}")
        bad = [s for s in self.severities if s not in range(1, 6)]
        if bad or not self.severities or len(set(self.severities)) != len(self.severities):
            raise ValueError(f"--severities must be distinct values in 1..5, got {list(self.severities)}")
        names = self.corruptions
        if names is not None and (not names or len(set(names)) != len(names)):
            raise ValueError(f"--corruptions must be distinct names, got {list(self.corruptions)}")
        for name, value, low in (("--batch-size", self.batch_size, 1), ("--workers", self.workers, 0),
                                 ("--rms-bin-size", self.rms_bin_size, 1), ("--ece-bins", self.ece_bins, 1)):
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be >= 1, got {self.limit}")


def _default_corruptions() -> tuple[str, ...]:
    return metrics.BENCHMARK_CORRUPTIONS


def _check_size(data_hw: tuple[int, int], loaded: LoadedModel, where: str) -> None:
    model_hw = input_hw(loaded.data_config)
    if tuple(data_hw) != model_hw:
        raise ValueError(
            f"{where} holds {data_hw[0]}x{data_hw[1]} images but {loaded.spec} expects {model_hw[0]}x{model_hw[1]} "
            "input (its pretrained_cfg input_size); -C images are not resized. Pass --img-size "
            f"{data_hw[0]} if the model works at that size, or use -C data made at {model_hw[0]}x{model_hw[1]}"
        )


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
        name = f"{Path(str(cfg.clean_data).rstrip('/')).stem.lower()}-c-generated"
        return ConcatDataset(splits), groups, "generated", name
    layout = detect_layout(cfg.c_data) if cfg.layout == "auto" else cfg.layout
    if layout == "cifar":
        reader: CifarCReader | ImageNetCReader = CifarCReader(cfg.c_data, corruptions, loaded.num_classes)
    else:
        reader = ImageNetCReader(cfg.c_data, corruptions, cfg.severities, loaded.num_classes)
    _check_size(reader.image_size, loaded, str(cfg.c_data))
    if clean is not None and isinstance(reader, ImageNetCReader):
        clean_classes = dataset_classes(clean)
        if clean_classes is not None and clean_classes != reader.classes:
            raise ValueError(
                f"the clean data's classes differ from the -C set's class folders ({len(clean_classes)} vs "
                f"{len(reader.classes)} classes, or different names); use the clean split the -C set was made from"
            )
    splits = [reader.split(c, s, to_tensor, cfg.limit, group=g) for g, (c, s) in groups.items()]
    return ConcatDataset(splits), groups, layout, Path(str(cfg.c_data).rstrip("/")).name.lower()


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
    cfg.check()
    from ..utils.outputs import ensure_writable_dir, ensure_writable_file

    ensure_writable_file(cfg.out, "--out")  # before any work: an unwritable output must not cost an evaluation
    if cfg.plots and cfg.plots_dir:
        ensure_writable_dir(cfg.plots_dir, "--plots-dir")
    if accelerator is None:
        from accelerate import Accelerator

        accelerator = Accelerator()
    # Every process loads and checks on its own (no barrier), so bad input fails fast everywhere instead of leaving
    # the other processes waiting; concurrent Hub downloads are safe (huggingface_hub locks its cache files).
    loaded = load_model(cfg.model, checkpoint=cfg.checkpoint, num_classes=cfg.num_classes,
                        img_size=cfg.img_size, pretrained=cfg.pretrained)
    corruptions = list(cfg.corruptions) if cfg.corruptions is not None else list(_default_corruptions())
    baseline = load_results(cfg.baseline) if cfg.baseline else None

    clean_ds = None
    if cfg.clean_data:
        # with --download, one process downloads and the others read afterwards
        with accelerator.main_process_first() if cfg.download else contextlib.nullcontext():
            clean_ds = load_clean_dataset(cfg.clean_data, cfg.clean_split, cfg.download)
        check_clean_labels(clean_ds, loaded.num_classes, f"clean data {cfg.clean_data}")
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
    if accelerator.is_main_process:
        write_results(results, cfg.out)
        if cfg.plots:
            write_plots(results, clean_preds, corrupted_preds, cfg.plots_dir or str(Path(cfg.out).parent), cfg.ece_bins)
    accelerator.wait_for_everyone()
    return results


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
