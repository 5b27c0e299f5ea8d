"""What eval-c and eval-p share: the options both take (:class:`EvalConfig`), the setup before any data is read
(:func:`prepare_evaluation`: option and output checks, accelerator, model, baseline), the clean images
(:func:`load_clean_data`) and the end of a run (:func:`finish_evaluation`: results.json and plots on the main process).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from torch.utils.data import Dataset

from .datasets import check_clean_labels, load_clean_dataset
from .model_loading import LoadedModel, load_model
from .results import RobustnessResults, load_results, write_results
from .runner import default_accelerator
from .transforms import input_hw

__all__ = ["Benchmark", "EvalConfig", "EvalSetup", "finish_evaluation", "load_clean_data", "prepare_evaluation"]


@dataclass(frozen=True)
class Benchmark:
    """How an evaluation's benchmark is named in options and messages."""

    data_field: str  # the config field of the -C / -P folder: "c_data", "p_data"
    data_kind: str  # what that folder is, for "pass --c-data DIR (...)"
    layouts: tuple[str, ...]  # the --layout choices
    generated: str  # what --generate makes: "corruptions", "sequences"
    generate_verb: str  # what --generate does to the clean images: "corrupt", "perturb"
    name: str  # "-C", "-P"
    unit: str  # what the benchmark holds: "images", "frames"
    size_source: str = ""  # where the model's input size comes from, in the size message

    @property
    def data_flag(self) -> str:
        """The option of the folder: ``--c-data``, ``--p-data``."""
        return "--" + self.data_field.replace("_", "-")


@dataclass
class EvalConfig:
    """The options eval-c and eval-p share (the CLI flags, one to one); each evaluation subclasses it.

    A subclass sets ``BENCHMARK`` and adds its own fields, and its own checks with :meth:`_check_options` /
    :meth:`_minimums`.
    """

    BENCHMARK: ClassVar[Benchmark]

    model: str
    out: str
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
    baseline: str | None = None
    dataset_name: str | None = None
    batch_size: int = 256
    workers: int = 2
    limit: int | None = None
    plots: bool = True
    plots_dir: str | None = None

    @property
    def data(self) -> str | None:
        """The -C / -P folder (``c_data`` / ``p_data``)."""
        return getattr(self, self.BENCHMARK.data_field)

    @property
    def plots_folder(self) -> Path:
        """Where the plots go: ``plots_dir``, else the folder of ``out``."""
        return Path(self.plots_dir or Path(self.out).parent)

    def default_dataset_name(self) -> str:
        """The dataset name results.json records without ``--dataset-name``: the data folder's name, lower case;
        with ``--generate`` the clean data's stem and ``-c-generated`` / ``-p-generated``."""
        if self.generate:
            return f"{Path(str(self.clean_data).rstrip('/')).stem.lower()}-{self.BENCHMARK.name[1:].lower()}-generated"
        return Path(str(self.data).rstrip("/")).name.lower()

    def reads_clean_data(self) -> bool:
        """Whether the run reads ``clean_data`` (eval-c whenever given, eval-p for ``--generate`` only)."""
        return bool(self.clean_data)

    def check(self) -> None:
        """Raise ``ValueError`` for contradictory or out-of-range options (naming the fix)."""
        bench, flag = self.BENCHMARK, self.BENCHMARK.data_flag
        if self.generate and self.data:
            raise ValueError(f"--generate makes the {bench.generated} from --clean-data; drop {flag} (or drop "
                             "--generate)")
        if self.generate and not self.clean_data:
            raise ValueError(f"--generate needs --clean-data (a folder/tar of clean images to {bench.generate_verb})")
        if not self.generate and not self.data:
            raise ValueError(f"pass {flag} DIR ({bench.data_kind}), or --generate with --clean-data")
        if self.layout not in bench.layouts:
            raise ValueError(f"--layout must be one of {bench.layouts}, got {self.layout!r}")
        self._check_options()
        for name, value, low in (("--batch-size", self.batch_size, 1), ("--workers", self.workers, 0),
                                 *self._minimums()):
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be >= 1, got {self.limit}")

    def _check_options(self) -> None:
        """The evaluation's own option checks (after the data and layout checks)."""

    def _minimums(self) -> tuple[tuple[str, int, int], ...]:
        """``(flag, value, lowest allowed)`` of the evaluation's own integer options."""
        return ()

    def check_input_size(self, data_hw: tuple[int, int], loaded: LoadedModel, where: str) -> None:
        """Raise ``ValueError`` when the benchmark's images at ``where`` are not the model's input size."""
        model_hw = input_hw(loaded.data_config)
        if tuple(data_hw) != model_hw:
            bench = self.BENCHMARK
            raise ValueError(
                f"{where} holds {data_hw[0]}x{data_hw[1]} {bench.unit} but {loaded.spec} expects "
                f"{model_hw[0]}x{model_hw[1]} input{bench.size_source}; {bench.name} {bench.unit} are not resized. "
                f"Pass --img-size {data_hw[0]} if the model works at that size, or use {bench.name} data made at "
                f"{model_hw[0]}x{model_hw[1]}"
            )


@dataclass
class EvalSetup:
    """What :func:`prepare_evaluation` made: the accelerator, the loaded model and the baseline results (or None)."""

    accelerator: Any
    loaded: LoadedModel
    baseline: RobustnessResults | None


def prepare_evaluation(cfg: EvalConfig, accelerator=None) -> EvalSetup:
    """Check the options and the output locations, then load the model and the ``--baseline`` results.

    The outputs are checked before any work: an unwritable output must not cost an evaluation. Every process loads
    and checks on its own (no barrier), so bad input fails fast everywhere instead of leaving the other processes
    waiting; concurrent Hub downloads are safe (huggingface_hub locks its cache files).

    Raises:
        ValueError, FileNotFoundError, TypeError: bad options or inputs, with the fix in the message.
    """
    cfg.check()
    from ..utils.outputs import ensure_writable_dir, ensure_writable_file

    ensure_writable_file(cfg.out, "--out")
    if cfg.plots and cfg.plots_dir:
        ensure_writable_dir(cfg.plots_dir, "--plots-dir")
    accelerator = default_accelerator(accelerator)
    loaded = load_model(cfg.model, checkpoint=cfg.checkpoint, num_classes=cfg.num_classes,
                        img_size=cfg.img_size, pretrained=cfg.pretrained)
    baseline = load_results(cfg.baseline) if cfg.baseline else None
    return EvalSetup(accelerator=accelerator, loaded=loaded, baseline=baseline)


def load_clean_data(cfg: EvalConfig, setup: EvalSetup) -> Dataset | None:
    """The ``--clean-data`` dataset, its labels checked against the model; None when the run reads none.

    With ``--download`` one process downloads and the others read afterwards.
    """
    if not cfg.reads_clean_data():
        return None
    with setup.accelerator.main_process_first() if cfg.download else contextlib.nullcontext():
        clean = load_clean_dataset(cfg.clean_data, cfg.clean_split, cfg.download)
    check_clean_labels(clean, setup.loaded.num_classes, f"clean data {cfg.clean_data}")
    return clean


def finish_evaluation(cfg: EvalConfig, setup: EvalSetup, results: dict[str, Any],
                      plot: Callable[[Path], Any]) -> dict[str, Any]:
    """Write ``results`` to ``cfg.out`` and, unless ``--no-plots``, call ``plot(cfg.plots_folder)`` on the main
    process; every process waits for it and gets ``results`` back."""
    if setup.accelerator.is_main_process:
        write_results(results, cfg.out)
        if cfg.plots:
            plot(cfg.plots_folder)
    setup.accelerator.wait_for_everyone()
    return results
