"""The training loop: ``train(recipe)`` with separate ``train_one_epoch`` and ``evaluate``, on HF Accelerate.

Accelerate is the only distributed engine (one CPU, one or many GPUs, many nodes, via ``accelerate launch``).
Batches are *global*: Accelerate splits each one over the processes (``split_batches=True``) and the per-sample
augmentation seeds do not depend on the process count, so a 2-process run follows the 1-process run of the same
recipe. The timm scheduler is not prepared by Accelerate: it is stepped per optimizer update with
``step_update(num_updates)`` and checkpointed through ``register_for_checkpointing``.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data_config import model_data_config
from ..utils.cpu_processes import use_cpu
from ..utils.outputs import ensure_writable_dir
from ..utils.run_lock import FolderLock
from .checkpointing import CheckpointManager, TrainState, empty_log_window
from .data import build_loaders, split_batch
from .export import export_weights
from .metrics_log import MetricsLog, read_metrics
from .objective import Objective
from .plots import plot_metrics
from .recipe import Recipe, check_data_paths, load_recipe

__all__ = ["NonFiniteLossError", "TrainResult", "TrainingContext", "build_model", "build_optimizer", "build_scheduler",
           "evaluate", "resolve_normalization", "train", "train_one_epoch"]

_logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    """What a finished run produced.

    Attributes:
        output_dir: The run directory.
        final_dir: The exported ``save_for_hf`` folder of the final weights.
        ema_dir: The exported EMA weights (None without EMA).
        clean_error: Final clean error in percent.
        ema_clean_error: Final clean error of the EMA weights (None without EMA).
        global_step: Optimizer updates done.
        resumed_from: The checkpoint the run resumed from, if any.
    """

    output_dir: Path
    final_dir: Path
    ema_dir: Path | None
    clean_error: float
    ema_clean_error: float | None
    global_step: int
    resumed_from: Path | None


# --------------------------------------------------------------------------------------------------------------------
def build_model(recipe: Recipe) -> torch.nn.Module:
    """``timm.create_model`` for the recipe (split BN converted when asked)."""
    import timm
    from timm.layers import convert_splitbn_model

    import timm_augmix_plugin  # noqa: F401  (registers the paper's architectures in timm)

    m = recipe.model
    if not timm.is_model(m.name):
        raise ValueError(f"model.name={m.name!r} is not a timm model. Pick one of timm.list_models(), e.g. "
                         f"wrn40_2, allconvnet, densenet40_12, resnext29_4x32d or resnet50.")
    model = timm.create_model(m.name, pretrained=m.pretrained, num_classes=recipe.data.num_classes, **m.create_kwargs())
    if recipe.augmix.enabled and recipe.augmix.split_bn:
        model = convert_splitbn_model(model, num_splits=recipe.augmix.num_splits)
    return model


def _sync_batchnorm(model: torch.nn.Module, sync_bn: bool | None, num_processes: int) -> torch.nn.Module:
    """``train.sync_bn``: with several processes, BatchNorm over the global batch (default when the model has BN)."""
    from .global_bn import convert_global_batchnorm, has_batchnorm, unsupported_batchnorms

    if num_processes == 1 or not has_batchnorm(model):
        return model
    if sync_bn is False:
        _logger.warning("train.sync_bn=false: BatchNorm statistics are per process, so the result depends on the "
                        "number of processes.")
        return model
    unsupported = unsupported_batchnorms(model)
    if unsupported:
        message = (f"train.sync_bn: the model's {', '.join(unsupported)} layers cannot use global BatchNorm "
                   "statistics (e.g. augmix.split_bn); their statistics stay per process, so the result depends on "
                   "the number of processes.")
        if sync_bn:
            raise ValueError(message + " Set train.sync_bn=false to accept that, or use one process.")
        _logger.warning(message)
        return model
    return convert_global_batchnorm(model)


def resolve_normalization(recipe: Recipe, model: torch.nn.Module) -> tuple[tuple, tuple]:
    """The recipe's mean / std, or the model's data config's (:func:`~timm_augmix_plugin.data_config.model_data_config`)
    when the recipe leaves them null."""
    cfg = model_data_config(model)
    mean = recipe.data.mean if recipe.data.mean is not None else cfg["mean"]
    std = recipe.data.std if recipe.data.std is not None else cfg["std"]
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


#: Settings that do not change the result and may differ when a run is resumed.
_MAY_CHANGE_ON_RESUME = (
    ("train", "resume"), ("train", "output_dir"), ("train", "log_every_steps"), ("train", "checkpoint_every_steps"),
    ("train", "keep_checkpoints"), ("train", "cpu"), ("train", "channels_last"), ("data", "num_workers"),
    ("eval", "batch_size"),
)


def _check_same_recipe(recipe: Recipe, out: Path) -> None:
    """Refuse to resume the checkpoints in ``out`` with a recipe that changes the result (every process calls it)."""
    saved = out / "recipe.yaml"
    if not saved.is_file():
        return
    previous = load_recipe(saved).to_dict()
    current = recipe.to_dict()
    for d in (previous, current):
        for section, key in _MAY_CHANGE_ON_RESUME:
            d[section].pop(key, None)
    if previous != current:
        changed = sorted(f"{s}.{k}" for s in current if isinstance(current[s], dict)
                         for k in current[s] if previous.get(s, {}).get(k) != current[s][k])
        changed += [k for k in ("name", "description") if previous.get(k) != current.get(k)]
        raise ValueError(
            f"{out} holds checkpoints of a run with a different recipe (changed: {', '.join(changed)}). "
            f"Use another train.output_dir, or train.resume=never to start over in this directory (the earlier "
            f"run's outputs are then moved to {out / PREVIOUS_RUNS}/<time>/, not deleted).")


#: What a run writes in its output directory; a fresh start (``train.resume=never``) moves these aside.
RUN_OUTPUTS = ("checkpoints", "final", "final_ema", "metrics.jsonl", "metrics.png", "recipe.yaml")
#: Folder of ``output_dir`` that keeps the outputs of earlier runs replaced by ``train.resume=never``.
PREVIOUS_RUNS = "previous"


def _prepare_output_dir(recipe: Recipe, out: Path, resume_from: Path | None) -> Path | None:
    """Main process only: move an earlier run's outputs aside when starting fresh; write the resolved recipe.

    Nothing is deleted: the earlier outputs go to ``<out>/previous/<UTC time>/``. Returns that folder, or None.
    """
    moved_to = None
    if resume_from is None:
        present = [name for name in RUN_OUTPUTS[:-1] if (out / name).exists()]  # all but recipe.yaml
        if present and (out / "recipe.yaml").exists():  # recipe.yaml alone is no earlier run
            present.append("recipe.yaml")
        if present:
            moved_to = out / PREVIOUS_RUNS / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            suffix = 1
            while moved_to.exists():
                moved_to = moved_to.with_name(f"{moved_to.name.split('.')[0]}.{suffix}")
                suffix += 1
            moved_to.mkdir(parents=True)
            for name in present:
                os.replace(out / name, moved_to / name)
            _logger.warning("train.resume=never: moved the earlier run's %s to %s", ", ".join(present), moved_to)
    out.mkdir(parents=True, exist_ok=True)
    recipe.to_yaml(out / "recipe.yaml")
    return moved_to


def _claim_output_dir(accelerator, out: Path) -> FolderLock | None:
    """Check ``out`` is writable and lock it for this run (main process); every process raises if that failed."""
    from accelerate.utils import broadcast_object_list

    lock, problem = None, None
    if accelerator.is_main_process:
        try:
            ensure_writable_dir(out, "train.output_dir")
            lock = FolderLock(out, "train.output_dir", fix=", or use another train.output_dir").acquire()
        except ValueError as err:
            problem = err
    problem = broadcast_object_list([problem])[0]
    if problem is not None:
        raise problem
    return lock


# --------------------------------------------------------------------------------------------------------------------
def train(recipe: Recipe) -> TrainResult:
    """Train according to ``recipe``; resumes from the newest checkpoint in the output directory when one exists.

    Raises:
        FileNotFoundError: Data paths are missing (checked before anything is built).
        ValueError: Settings that do not fit the launch (e.g. batch not divisible by the process count).
        NonFiniteLossError: The loss became NaN / inf; the last good checkpoint stays ``latest``.
    """
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration

    check_data_paths(recipe)
    t = recipe.train
    out = recipe.output_dir
    accelerator = Accelerator(
        cpu=use_cpu(t.cpu), mixed_precision=t.mixed_precision,
        gradient_accumulation_steps=t.grad_accum_steps,
        dataloader_config=DataLoaderConfiguration(split_batches=True, use_seedable_sampler=True),
        project_config=ProjectConfiguration(project_dir=str(out), automatic_checkpoint_naming=False),
        step_scheduler_with_optimizer=False)
    lock = _claim_output_dir(accelerator, out)
    try:
        return _train(recipe, accelerator, out)
    finally:
        if lock is not None:
            lock.release()


def _train(recipe: Recipe, accelerator, out: Path) -> TrainResult:
    """The run in named steps: build the context, resume (or start the schedule), the epochs, the final export."""
    from accelerate.utils import set_seed

    t = recipe.train
    set_seed(t.seed)
    ckpt = CheckpointManager(out / "checkpoints", keep=t.keep_checkpoints)
    resume_from = ckpt.latest() if t.resume == "auto" else None
    if resume_from is not None:
        _check_same_recipe(recipe, out)
    ctx, state, data = _build_context(recipe, accelerator, out, ckpt, resume_from)
    _resume(ctx, state, resume_from)
    if accelerator.is_main_process:
        accelerator.print(
            f"Training {recipe.name!r} ({recipe.mode}) on {accelerator.num_processes} process(es), "
            f"device {accelerator.device}: {data.num_train} train / {data.num_eval} eval images, "
            f"{ctx.batches_per_epoch} batches of {recipe.data.batch_size // t.grad_accum_steps} per epoch, "
            f"{t.epochs} epochs -> {out}")
    clean_error, ema_error = _run_epochs(ctx, state)
    return _finish(ctx, state, clean_error, ema_error, resume_from)


def build_optimizer(recipe: Recipe, model: torch.nn.Module) -> torch.optim.Optimizer:
    """``timm.optim.create_optimizer_v2`` with the recipe's ``optim`` section."""
    from timm.optim import create_optimizer_v2

    o = recipe.optim
    return create_optimizer_v2(model, opt=o.name, lr=o.lr, weight_decay=o.weight_decay, momentum=o.momentum,
                               filter_bias_and_bn=o.filter_bias_and_bn, **o.kwargs)


def build_scheduler(recipe: Recipe, optimizer: torch.optim.Optimizer, updates_per_epoch: int):
    """timm scheduler of the recipe's ``sched`` section, stepped per optimizer update; None for ``sched.name: none``."""
    from timm.scheduler import create_scheduler_v2

    s = recipe.sched
    if s.name == "none":
        return None
    scheduler, _ = create_scheduler_v2(
        optimizer, sched=s.name, num_epochs=recipe.train.epochs, decay_epochs=s.decay_epochs,
        decay_milestones=list(s.decay_milestones), cooldown_epochs=0, min_lr=s.min_lr, warmup_lr=s.warmup_lr,
        warmup_epochs=s.warmup_epochs, decay_rate=s.decay_rate, step_on_epochs=False,
        updates_per_epoch=updates_per_epoch)
    return scheduler


def _build_context(recipe: Recipe, accelerator, out: Path, ckpt: CheckpointManager, resume_from: Path | None):
    """Build and prepare everything the run works with; returns ``(context, fresh TrainState, TrainData)``.

    A fresh start moves an earlier run's outputs aside only once every setting is built and checked.
    """
    from timm.utils import ModelEmaV3

    t = recipe.train
    model = _sync_batchnorm(build_model(recipe), t.sync_bn, accelerator.num_processes)
    if t.channels_last:
        model = model.to(memory_format=torch.channels_last)
    mean, std = resolve_normalization(recipe, model)
    data = build_loaders(recipe, mean, std, num_processes=accelerator.num_processes)
    optimizer = build_optimizer(recipe, model)
    batches_per_epoch = len(data.train_loader)
    if t.max_steps_per_epoch is not None:
        batches_per_epoch = min(batches_per_epoch, t.max_steps_per_epoch)
    scheduler = build_scheduler(recipe, optimizer, math.ceil(batches_per_epoch / t.grad_accum_steps))
    ema = ModelEmaV3(model, decay=t.ema_decay) if t.ema else None
    objective = Objective(recipe)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        _prepare_output_dir(recipe, out, resume_from)
    accelerator.wait_for_everyone()
    metrics = MetricsLog(out / "metrics.jsonl", enabled=accelerator.is_main_process)

    model, optimizer, train_loader, eval_loader = accelerator.prepare(
        model, optimizer, data.train_loader, data.eval_loader)
    if ema is not None:
        ema.to(accelerator.device)
    state = TrainState()
    accelerator.register_for_checkpointing(state)
    if scheduler is not None:
        accelerator.register_for_checkpointing(scheduler)
    if ema is not None:
        accelerator.register_for_checkpointing(ema)
    device_augmix = None
    if recipe.augmix.enabled and recipe.augmix.backend == "batched":
        from .device_augmix import DeviceAugMix

        device_augmix = DeviceAugMix(recipe, mean, std, accelerator.device, accelerator.process_index)
        accelerator.register_for_checkpointing(device_augmix)
    ctx = TrainingContext(recipe, accelerator, model, objective, optimizer, scheduler, ema, train_loader, metrics,
                          ckpt, batches_per_epoch, data.num_splits, device_augmix, eval_loader, mean, std, out)
    return ctx, state, data


def _resume(ctx: TrainingContext, state: TrainState, resume_from: Path | None) -> None:
    """Load the checkpoint ``resume_from`` into the registered state (and cut ``metrics.jsonl`` back to it), or set
    the schedule's first update when starting fresh."""
    accelerator = ctx.accelerator
    if resume_from is not None:
        info = CheckpointManager.info(resume_from)
        if info.get("num_processes", accelerator.num_processes) != accelerator.num_processes \
                and accelerator.is_main_process:
            _logger.warning("Resuming a %s-process checkpoint with %s processes: RNG streams will differ.",
                            info.get("num_processes"), accelerator.num_processes)
        accelerator.load_state(str(resume_from))
        ctx.metrics.truncate_after(state.global_step)
        accelerator.print(f"Resumed from {resume_from} (epoch {state.epoch + 1}, update {state.global_step}).")
    elif ctx.scheduler is not None:
        ctx.scheduler.step_update(0)


def _run_epochs(ctx: TrainingContext, state: TrainState) -> tuple[float, float | None]:
    """Train the remaining epochs, evaluating every ``eval.every_epochs`` and after the last, checkpointing each.

    Returns:
        The last clean error and EMA clean error evaluated in this call (NaN / None when none was).
    """
    recipe, accelerator, ema = ctx.recipe, ctx.accelerator, ctx.ema
    t = recipe.train
    clean_error, ema_error = float("nan"), None
    while state.epoch < t.epochs:
        epoch = state.epoch
        train_one_epoch(ctx, state)
        last = epoch + 1 == t.epochs
        if last or (epoch + 1) % recipe.eval.every_epochs == 0:
            clean_error, clean_loss = evaluate(ctx.model, ctx.eval_loader, accelerator, channels_last=t.channels_last)
            record = dict(epoch=epoch + 1, step=state.global_step, clean_error=clean_error, clean_loss=clean_loss)
            if ema is not None:
                ema_error, ema_loss = evaluate(ema.module, ctx.eval_loader, accelerator,
                                               channels_last=t.channels_last)
                record.update(ema_clean_error=ema_error, ema_clean_loss=ema_loss)
            ctx.metrics.write("eval", **record)
            accelerator.print(f"epoch {epoch + 1}/{t.epochs}: clean error {clean_error:.2f}%"
                              + (f", EMA {ema_error:.2f}%" if ema is not None else ""))
        state.epoch = epoch + 1
        state.step_in_epoch = 0
        ctx.ckpt.save(accelerator, state)
    return clean_error, ema_error


def _finish(ctx: TrainingContext, state: TrainState, clean_error: float, ema_error: float | None,
            resume_from: Path | None) -> TrainResult:
    """Export the final (and EMA) weights, plot the metrics, end the run; a relaunch of a finished run reports the
    logged result."""
    recipe, accelerator, ema, out = ctx.recipe, ctx.accelerator, ctx.ema, ctx.output_dir
    if math.isnan(clean_error):  # relaunch of a finished run: report the logged result
        evals = read_metrics(out / "metrics.jsonl", "eval") if (out / "metrics.jsonl").is_file() else []
        if evals:
            clean_error, ema_error = float(evals[-1]["clean_error"]), evals[-1].get("ema_clean_error")
    final_dir, ema_dir = out / "final", None
    if accelerator.is_main_process:
        export_weights(accelerator.unwrap_model(ctx.model), recipe, ctx.mean, ctx.std, final_dir)
        if ema is not None:
            ema_dir = export_weights(ema.module, recipe, ctx.mean, ctx.std, out / "final_ema")
        plot_metrics(out / "metrics.jsonl", out / "metrics.png")
        accelerator.print(f"Final weights: {final_dir} (timm.create_model('local-dir:{final_dir}', pretrained=True))")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(out, final_dir, ema_dir, clean_error, ema_error, state.global_step, resume_from)


# --------------------------------------------------------------------------------------------------------------------
@dataclass
class TrainingContext:
    """What one training epoch works with, built once by :func:`train` (the progress is the separate ``TrainState``).

    Attributes:
        recipe: the run's recipe.
        accelerator: the ``accelerate.Accelerator``.
        model: the prepared model.
        objective: the loss (``Objective``: base loss, JSD term, split-BN handling).
        optimizer: the prepared optimizer.
        scheduler: timm scheduler stepped per update, or None (``sched.name: none``).
        ema: ``timm.utils.ModelEmaV3`` or None.
        loader: the prepared training loader.
        metrics: the ``metrics.jsonl`` writer.
        ckpt: the checkpoint manager.
        batches_per_epoch: micro-batches per epoch (``train.max_steps_per_epoch`` applied).
        num_splits: images each sample contributes to the forward pass (clean + AugMix views).
        device_augmix: ``augmix.backend: batched``: turns each uint8 micro-batch into its AugMix splits on the
            device; None for the loader-side backend.
        eval_loader: the prepared evaluation loader (used between epochs, not by :func:`train_one_epoch`).
        mean: normalisation mean of the run (exported with the weights).
        std: normalisation std of the run.
        output_dir: the run directory.
    """

    recipe: Recipe
    accelerator: Any
    model: torch.nn.Module
    objective: Objective
    optimizer: Any
    scheduler: Any
    ema: Any
    loader: Any
    metrics: MetricsLog
    ckpt: CheckpointManager
    batches_per_epoch: int
    num_splits: int
    device_augmix: Any = None
    eval_loader: Any = None
    mean: tuple = ()
    std: tuple = ()
    output_dir: Path | None = None


def train_one_epoch(ctx: TrainingContext, state: TrainState) -> None:
    """Train for the rest of epoch ``state.epoch`` (skipping micro-batches a resumed checkpoint already consumed).

    Raises:
        NonFiniteLossError: On any process the loss is NaN / inf; nothing after the last checkpoint is saved.
    """
    recipe, accelerator, model, objective = ctx.recipe, ctx.accelerator, ctx.model, ctx.objective
    optimizer, scheduler, ema, loader = ctx.optimizer, ctx.scheduler, ctx.ema, ctx.loader
    metrics, ckpt, batches_per_epoch, num_splits = ctx.metrics, ctx.ckpt, ctx.batches_per_epoch, ctx.num_splits
    device_augmix = ctx.device_augmix
    t = recipe.train
    model.train()
    loader.set_epoch(state.epoch)
    loader.dataset.set_epoch(state.epoch)  # per-sample augmentation seeds (also in worker copies)
    skip = state.step_in_epoch
    batches = accelerator.skip_first_batches(loader, skip) if skip else loader
    main = accelerator.is_main_process
    pbar = tqdm(total=batches_per_epoch, initial=skip, desc=f"epoch {state.epoch + 1}/{t.epochs}",
                disable=not main, dynamic_ncols=True, leave=False)
    window = state.log_window  # checkpointed: a resumed run averages over the same micro-batches
    timer = dict(images=0, start=time.perf_counter())  # throughput of this process's own work only
    global_batch = recipe.data.batch_size // t.grad_accum_steps
    for batch_idx, (images, target) in enumerate(batches, start=skip):
        if batch_idx >= batches_per_epoch:
            break
        images, _ = split_batch(images)
        if device_augmix is not None:
            images = device_augmix(images)
        if t.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with accelerator.accumulate(model):
            with accelerator.autocast():
                logits = model(images)
                loss, parts = objective(logits, target)
            names = sorted(parts)
            local = torch.stack([loss.detach().float(), *(parts[n].float() for n in names)]).reshape(1, -1)
            # one small collective and one device->host copy per micro-batch: NaN check + logging
            values = accelerator.gather(local).mean(0).tolist()
            if not all(map(math.isfinite, values)):
                _raise_non_finite(values[0], state, ckpt, batch_idx)
            accelerator.backward(loss)
            if accelerator.sync_gradients and recipe.optim.clip_grad is not None:
                accelerator.clip_grad_norm_(model.parameters(), recipe.optim.clip_grad)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        state.step_in_epoch = batch_idx + 1
        state.last_good_loss = values[0]
        window["loss"] += values[0]
        for n, v in zip(names, values[1:], strict=True):
            window["parts"][n] = window["parts"].get(n, 0.0) + v
        window["count"] += 1
        timer["images"] += global_batch
        pbar.update(1)
        if not accelerator.sync_gradients:
            continue
        state.global_step += 1
        if scheduler is not None:
            scheduler.step_update(num_updates=state.global_step)
        if ema is not None:
            ema.update(accelerator.unwrap_model(model), step=state.global_step)
        lr = optimizer.param_groups[0]["lr"]
        pbar.set_postfix(loss=f"{values[0]:.3f}", lr=f"{lr:.3g}")
        if state.global_step % t.log_every_steps == 0 or state.step_in_epoch == batches_per_epoch:
            elapsed = max(time.perf_counter() - timer["start"], 1e-9)
            n = window["count"]
            parts = {f"loss_{k}": v / n for k, v in sorted(window["parts"].items())}
            metrics.write("train", epoch=state.epoch + 1, step=state.global_step, loss=window["loss"] / n, **parts,
                          lr=lr, images_per_s=timer["images"] / elapsed,
                          views_per_s=timer["images"] * num_splits / elapsed)
            window = state.log_window = empty_log_window()
            timer = dict(images=0, start=time.perf_counter())
        if (t.checkpoint_every_steps and state.global_step % t.checkpoint_every_steps == 0
                and state.step_in_epoch < batches_per_epoch):
            ckpt.save(accelerator, state)
    pbar.close()


def _raise_non_finite(loss: float, state: TrainState, ckpt: CheckpointManager, batch_idx: int):
    latest = ckpt.latest()
    kept = (f"The last good checkpoint {latest} is kept; relaunching the same command resumes from it"
            if latest is not None else "No checkpoint had been written yet")
    raise NonFiniteLossError(
        f"Training stopped: the loss is {loss} at epoch {state.epoch + 1}, batch {batch_idx + 1} "
        f"(after {state.global_step} updates; last finite loss {state.last_good_loss:.4g}). {kept}. "
        f"Lower optim.lr, set optim.clip_grad (e.g. optim.clip_grad=5.0), use train.mixed_precision=no or bf16 "
        f"instead of fp16, or check the data for broken images.")


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader, accelerator, *, channels_last: bool = False) -> tuple[float, float]:
    """Clean top-1 error (percent) and mean cross-entropy over the whole evaluation set (all processes).

    Uses ``accelerator.gather_for_metrics``, which drops the samples padded in to even out the last batch.
    """
    net = accelerator.unwrap_model(model)
    was_training = net.training
    net.eval()
    correct = torch.zeros((), dtype=torch.float64)
    loss_sum = torch.zeros((), dtype=torch.float64)
    count = 0
    for images, target in tqdm(loader, desc="eval", disable=not accelerator.is_main_process, leave=False,
                               dynamic_ncols=True):
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with accelerator.autocast():
            logits = net(images)
        logits, target = accelerator.gather_for_metrics((logits.float(), target))
        correct += (logits.argmax(-1) == target).sum().double().cpu()
        loss_sum += F.cross_entropy(logits, target, reduction="sum").double().cpu()
        count += target.shape[0]
    net.train(was_training)
    if count == 0:
        raise ValueError("The evaluation set is empty. Check data.eval_root / data.eval_split.")
    return float(100.0 * (1.0 - correct / count)), float(loss_sum / count)
