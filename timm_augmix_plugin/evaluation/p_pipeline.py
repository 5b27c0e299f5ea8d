"""The eval-p pipeline: model + -P sequences -> flip probability and top-5 distance -> results.json (+ plot).

:func:`evaluate_perturbations` is what ``timm-augmix eval-p`` runs. The -P results go into the ``perturbation``
section of ``results.json`` (schema v2): added to an existing eval-c file for the same weights, or in a -P-only file.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from ..perturbations import ALL_PERTURBATIONS, TEST_PERTURBATIONS, frame_count, is_noise
from ._common import Benchmark, EvalConfig, finish_evaluation, load_clean_data, prepare_evaluation
from .datasets import subset_indices
from .model_loading import LoadedModel
from .p_datasets import CifarPReader, FramesPReader, GeneratedSequences, detect_p_layout
from .results import SCHEMA_VERSION, RobustnessResults, StabilityResults, read_results, utc_now
from .runner import default_accelerator, forward_batches
from .stability import normalized_ratio_mean, video_flip_probability, video_top5_distance
from .transforms import input_hw

__all__ = ["EvalPConfig", "evaluate_perturbations", "predict_stability", "summarize_stability"]

P_LAYOUTS = ("auto", "cifar", "frames")
GENERATE_SIZES = (32, 64, 224)


@dataclass
class EvalPConfig(EvalConfig):
    """Options of one eval-p run (the CLI flags, one to one); the shared ones are :class:`EvalConfig`'s."""

    BENCHMARK: ClassVar[Benchmark] = Benchmark("p_data", "a CIFAR-P .npy folder or make-p frame folders", P_LAYOUTS,
                                               "sequences", "perturb", "-P", "frames")

    p_data: str | None = None
    perturbations: Sequence[str] | None = None
    difficulty: int = 1
    batch_size: int = 8

    def reads_clean_data(self) -> bool:
        return self.generate

    def _check_options(self) -> None:
        names = self.perturbations
        if names is not None:
            bad = [n for n in names if n not in ALL_PERTURBATIONS]
            if bad or not names or len(set(names)) != len(names):
                raise ValueError(f"--perturbations must be distinct names from {', '.join(ALL_PERTURBATIONS)}, "
                                 f"got {list(names)}")

    def _minimums(self) -> tuple[tuple[str, int, int], ...]:
        return (("--difficulty", self.difficulty, 1),)


def predict_stability(model: torch.nn.Module, dataset: Dataset, *, noise: bool, difficulty: int, num_classes: int,
                      mean: Sequence[float], std: Sequence[float], batch_size: int = 8, num_workers: int = 2,
                      accelerator=None, desc: str = "eval-p") -> dict[str, np.ndarray]:
    """Per video: flip probability, top-5 distance and the label, gathered from every process in dataset order.

    Args:
        model: the classifier (eval mode is enforced).
        dataset: yields ``(frames uint8 (T, H, W, 3), label, group)``; all videos have the same T.
        noise: compare frames with frame 0 (noise sequences) rather than with the frame ``difficulty`` before.
        difficulty: step between compared frames.
        num_classes: the model's class count (a different logits width raises ``ValueError``).
        mean, std: the model's normalisation.
        batch_size: videos per batch and process.
        num_workers: DataLoader workers per process.
        accelerator: an ``accelerate.Accelerator`` (created when None).
        desc: progress-bar label.
    """
    accelerator = default_accelerator(accelerator)
    device = accelerator.device
    m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255
    s = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255

    def inputs(batch: Sequence[torch.Tensor]) -> torch.Tensor:
        b, t, h, w, _c = batch[0].shape
        x = batch[0].to(device).reshape(b * t, h, w, 3).permute(0, 3, 1, 2).float()
        return ((x - m) / s).contiguous(memory_format=torch.channels_last)

    def outputs(logits: torch.Tensor, batch: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        frames, labels = batch[0], batch[1]
        logits = logits.view(frames.shape[0], frames.shape[1], num_classes)
        return {"flip": video_flip_probability(logits.argmax(-1), noise, difficulty),
                "top5": video_top5_distance(logits, noise, difficulty), "label": labels.to(device).long()}

    return forward_batches(model, dataset, outputs, num_classes=num_classes, batch_size=batch_size,
                           num_workers=num_workers, accelerator=accelerator, desc=desc, inputs=inputs,
                           empty="no videos to evaluate")


def summarize_stability(per_video: dict[str, dict[str, np.ndarray]], frames: dict[str, int], *, difficulty: int,
                        dataset: str, layout: str, baseline: RobustnessResults | None = None,
                        baseline_name: str | None = None) -> dict[str, Any]:
    """The ``perturbation`` section of results.json from each perturbation's per-video values.

    Means go over the test perturbations evaluated (all evaluated ones when none is a test perturbation).
    """
    names = list(per_video)
    fp = {n: 100.0 * float(per_video[n]["flip"].mean()) for n in names}
    t5 = {n: float(per_video[n]["top5"].mean()) for n in names}
    averaged = [n for n in TEST_PERTURBATIONS if n in names] or names
    block: dict[str, Any] = {
        "dataset": dataset, "layout": layout, "perturbations": names, "frames": dict(frames),
        "difficulty": difficulty, "num_videos": int(min(len(v["flip"]) for v in per_video.values())),
        "flip_probability": fp, "top5_distance": t5, "averaged_perturbations": averaged,
        "mean_flip_probability": float(np.mean([fp[n] for n in averaged])),
        "mean_top5_distance": float(np.mean([t5[n] for n in averaged])),
        "flip_rate": None, "top5_distance_ratio": None, "mfr": None, "mt5d": None, "normalizer": None,
        "created": utc_now(),
    }
    if baseline is not None:
        base = baseline.perturbation
        if base is None:
            raise ValueError(f"--baseline {baseline_name} has no -P results; run eval-p for the baseline model first")
        block["flip_rate"], block["mfr"] = normalized_ratio_mean(fp, base.flip_probability, averaged)
        block["top5_distance_ratio"], block["mt5d"] = normalized_ratio_mean(t5, base.top5_distance, averaged)
        block["normalizer"] = str(baseline_name)
    return block


def _layout(cfg: EvalPConfig) -> str:
    """How the sequences are read: ``generated`` (``--generate``), else the -P folder's layout."""
    if cfg.generate:
        return "generated"
    return detect_p_layout(cfg.p_data) if cfg.layout == "auto" else cfg.layout


def _datasets(cfg: EvalPConfig, loaded: LoadedModel, names: list[str], clean: Dataset | None, layout: str,
              ) -> tuple[dict[str, Dataset], dict[str, int], str]:
    if cfg.generate:
        assert clean is not None
        side = input_hw(loaded.data_config)
        if side[0] != side[1] or side[0] not in GENERATE_SIZES:
            raise ValueError(f"--generate makes -P sequences at {GENERATE_SIZES} px as the reference generators; "
                             f"{loaded.spec} expects {side[0]}x{side[1]} input; pass --img-size 32, 64 or 224")
        size = side[0]
        table = cfg.size_table or size
        indices = subset_indices(len(clean), cfg.limit)
        sets = {n: GeneratedSequences(clean, indices, n, size=size, seed=cfg.seed, size_table=cfg.size_table)
                for n in names}
        return sets, {n: frame_count(n, table) for n in names}, cfg.default_dataset_name()
    reader_cls = CifarPReader if layout == "cifar" else FramesPReader
    reader = reader_cls(cfg.p_data, names, loaded.num_classes)
    cfg.check_input_size(reader.image_size, loaded, str(cfg.p_data))
    sets = {n: reader.split(n, cfg.limit, group=g) for g, n in enumerate(names)}
    name = cfg.default_dataset_name()
    if (Path(cfg.p_data) / "make_p.json").is_file() and not name.endswith("-generated"):
        name += "-generated"  # made by make-p: never passed off as the released set
    return sets, {n: reader.frames(n) for n in names}, name


def _default_perturbations(cfg: EvalPConfig, layout: str) -> list[str]:
    if cfg.perturbations is not None:
        return list(cfg.perturbations)
    if cfg.generate:
        return list(TEST_PERTURBATIONS)
    root = Path(cfg.p_data)
    present = [n for n in ALL_PERTURBATIONS if (root / (f"{n}.npy" if layout == "cifar" else n)).exists()]
    return [n for n in present if n in TEST_PERTURBATIONS] or present


def evaluate_perturbations(cfg: EvalPConfig, *, accelerator=None) -> dict[str, Any]:
    """Run eval-p; returns the results document written to ``cfg.out`` (by the main process).

    When ``cfg.out`` already holds results for the same weights (e.g. eval-c's), its ``perturbation`` section is
    added or replaced and everything else is kept; results for other weights are refused.

    Raises:
        ValueError, FileNotFoundError, TypeError: bad options or inputs, with the fix in the message.
    """
    setup = prepare_evaluation(cfg, accelerator)
    accelerator, loaded = setup.accelerator, setup.loaded
    existing = read_results(cfg.out) if Path(cfg.out).is_file() else None
    if existing is not None and existing["weights_sha256"] != loaded.weights_sha256:
        raise ValueError(
            f"{cfg.out} holds results for other weights (sha256 {existing['weights_sha256'][:12]}...) than "
            f"{loaded.spec} ({loaded.weights_sha256[:12]}...); eval-p adds its section only to results of the same "
            "weights: pass another --out, or the model those results were made for")
    layout = _layout(cfg)
    names = _default_perturbations(cfg, layout)
    clean = load_clean_data(cfg, setup)
    sets, frames, default_name = _datasets(cfg, loaded, names, clean, layout)
    for n in names:
        if not is_noise(n) and cfg.difficulty >= frames[n]:
            raise ValueError(f"--difficulty {cfg.difficulty} leaves no frame pairs in {n}'s {frames[n]} frames")
    per_video = {}
    for i, n in enumerate(names):
        per_video[n] = predict_stability(
            loaded.model, sets[n], noise=is_noise(n), difficulty=cfg.difficulty, num_classes=loaded.num_classes,
            mean=loaded.data_config["mean"], std=loaded.data_config["std"], batch_size=cfg.batch_size,
            num_workers=cfg.workers, accelerator=accelerator, desc=f"{n} ({i + 1}/{len(names)})")
    block = summarize_stability(per_video, frames, difficulty=cfg.difficulty,
                                dataset=cfg.dataset_name or default_name, layout=layout, baseline=setup.baseline,
                                baseline_name=cfg.baseline)
    block["source"] = {
        "p_data": None if cfg.p_data is None else os.path.abspath(cfg.p_data), "clean_data": cfg.clean_data,
        "limit": cfg.limit, "generate_seed": cfg.seed if cfg.generate else None,
        "num_processes": accelerator.num_processes, "model": cfg.model,
    }
    from .. import __version__

    if existing is not None:
        results = dict(existing)
        results["schema_version"] = SCHEMA_VERSION
    else:
        results = {"schema_version": SCHEMA_VERSION, "model": cfg.model, "architecture": loaded.architecture,
                   "num_classes": loaded.num_classes, "weights_sha256": loaded.weights_sha256,
                   "plugin_version": __version__, "created": utc_now()}
    results["perturbation"] = block

    def plot(folder: Path) -> None:
        from .plots import plot_flip_probability

        plot_flip_probability(StabilityResults.from_dict(block), folder / "flip_probability.png",
                              title=f"{cfg.model} on {block['dataset']}")

    return finish_evaluation(cfg, setup, results, plot)
