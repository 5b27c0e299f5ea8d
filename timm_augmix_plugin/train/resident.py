"""Device-resident training for small-image datasets: the decoded training set lives on the accelerator.

On a GPU a CIFAR-sized step takes a few milliseconds, so the DataLoader path (decode, crop, AugMix and collate on CPU
workers, one host-to-device copy per batch) bounds it. Here the whole training set sits on the device as uint8
(CIFAR-10: 150 MB), and each step draws the recipe's crop (padding ``img_size // 8``, zero fill) and flip per
sample there, runs AugMix with :class:`~timm_augmix_plugin.augmix.BatchedAugMix` (dense schedule, parameters drawn on
the device), and trains the recipe's model, loss (:class:`~timm_augmix_plugin.train.objective.Objective`), optimizer
and per-step schedule with the recipe's mixed precision and memory format. Nothing waits for the host except one
loss read every ``train.log_every_steps`` updates (logging and the NaN check).

It writes what the Accelerate trainer writes (``recipe.yaml``, ``metrics.jsonl``, ``metrics.png``, ``final/``), so
``timm-augmix eval-c`` and ``timm-augmix card`` take its runs as they are. Checkpoints are two files
(``checkpoint.model.pt``: weights; ``checkpoint.state.pt``: optimizer, schedule, RNG, plan), each written atomically
every ``checkpoint_every_epochs`` epochs; a rerun with the same output folder resumes from them.

With a wall-clock budget (``time_budget_s``) the number of epochs is planned after the first epoch: the recipe's
epochs if they fit, otherwise as many as fit, with the cosine schedule stretched over that many (the first epoch ran
at the schedule's start, where a shorter cosine differs by < 0.5 %). The plan is recorded in ``recipe.yaml`` and
the checkpoint.

Example:
    python -m timm_augmix_plugin.train.resident --recipe cifar10_wrn40_2_augmix_jsd \\
        --train-pack packs/cifar10-train.npz --eval-pack packs/cifar10-test.npz --out runs/wrn40_2_jsd \\
        train.mixed_precision=bf16 train.channels_last=true
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..augmix.factory import cifar_crop_padding
from ..utils.packed_images import read_pack
from ..utils.seeds import process_seed
from .engine import NonFiniteLossError, build_model, build_optimizer, build_scheduler, resolve_normalization
from .export import export_weights
from .metrics_log import MetricsLog
from .objective import Objective
from .plots import plot_metrics
from .recipe import Recipe, load_recipe

__all__ = ["ResidentRun", "epoch_inputs", "random_crop_flip", "train_resident", "main"]

_MODEL_FILE = "checkpoint.model.pt"
_STATE_FILE = "checkpoint.state.pt"


@dataclass
class ResidentRun:
    """One device-resident training run.

    Attributes:
        recipe: the recipe (model, loss, optimizer, schedule, batch, epochs, seed, precision).
        train_pack: JPEG pack of the training images (:func:`~timm_augmix_plugin.utils.packed_images.pack_jpegs`).
        eval_pack: JPEG pack of the clean evaluation images.
        out: run folder (``recipe.yaml``, ``metrics.jsonl``, ``final/``).
        checkpoint_dir: where the two checkpoint files go (default: ``out``).
        time_budget_s: wall-clock budget of the training loop; None trains the recipe's epochs.
        checkpoint_every_epochs: checkpoint period (the last epoch is always checkpointed).
        limit_train: train on N evenly spread images only (smoke runs).
        limit_eval: evaluate on N evenly spread images only.
        device: torch device; None takes CUDA when available (unless ``train.cpu``), else the CPU.
        name: tag of the progress lines.
        chunk: samples per AugMix call when an epoch's inputs are drawn (:func:`epoch_inputs`).
        stop_after_epochs: end this call after that many epochs of the run (checkpointed; a rerun continues).
        compile: ``none`` (eager), or a ``torch.compile`` mode for the training forward and backward
            (``default``, ``reduce-overhead``: CUDA graphs, ``max-autotune``); ``eager`` compiles with the eager
            backend (checks the plumbing, no speed-up). Evaluation always runs the eager module.
    """

    recipe: Recipe
    train_pack: Path
    eval_pack: Path
    out: Path
    checkpoint_dir: Path | None = None
    time_budget_s: float | None = None
    checkpoint_every_epochs: int = 5
    limit_train: int | None = None
    limit_eval: int | None = None
    device: str | None = None
    name: str = "run"
    chunk: int = 4096
    stop_after_epochs: int | None = None
    compile: str = "none"


def random_crop_flip(padded: torch.Tensor, index: torch.Tensor, size: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-sample random ``size`` crops of padded images, each flipped horizontally with probability 1/2.

    Args:
        padded: (N, C, H + 2p, W + 2p) images, padded once up front.
        index: (B,) which images to take.
        size: crop side.
        generator: RNG on ``padded``'s device.

    Returns:
        (B, C, size, size), same dtype (the crop and flip of torchvision's ``RandomCrop(size, padding=p)`` and
        ``RandomHorizontalFlip``; flipping before or after cropping gives the same distribution).
    """
    b, (c, hp, wp) = index.shape[0], padded.shape[1:]
    dev = padded.device
    oy = torch.randint(0, hp - size + 1, (b, 1), generator=generator, device=dev)
    ox = torch.randint(0, wp - size + 1, (b, 1), generator=generator, device=dev)
    flip = torch.rand((b, 1), generator=generator, device=dev) < 0.5
    steps = torch.arange(size, device=dev)
    cols = ox + torch.where(flip, size - 1 - steps, steps)
    rows = oy + steps
    flat = (rows.unsqueeze(2) * wp + cols.unsqueeze(1)).view(b, 1, size * size).expand(b, c, size * size)
    return padded[index].view(b, c, hp * wp).gather(2, flat).view(b, c, size, size)


def epoch_inputs(padded: torch.Tensor, perm: torch.Tensor, size: int, generator: torch.Generator | None,
                 augmix, normalize, num_splits: int, chunk: int = 4096) -> torch.Tensor:
    """Every model input of one epoch, drawn up front in large chunks: (S, N, H, W, C) float32, normalised.

    Row ``i`` of split ``s`` is split ``s`` of the sample ``perm[i]`` (S = 1 without JSD: the crop, or its one
    AugMix view; S = ``num_splits`` with JSD: clean then the AugMix views). Stored channels-last, so a step's slice
    reshaped to (S * B, H, W, C) and permuted is a channels-last NCHW batch. Drawing a whole epoch at once puts the
    launch cost of AugMix's many small kernels on a few large batches instead of every step.
    """
    n, c = perm.shape[0], padded.shape[1]
    splits = num_splits if augmix is not None and num_splits > 1 else 1
    out = torch.empty((splits, n, size, size, c), dtype=torch.float32, device=padded.device)
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        crops = random_crop_flip(padded, perm[rows], size, generator)
        views = (normalize(crops),) if augmix is None else augmix(crops)
        if augmix is not None and splits == 1:
            views = views[1:]
        for v in range(splits):
            out[v, rows] = views[v].permute(0, 2, 3, 1)
    return out


def _load_images(pack_path: Path, limit: int | None, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    from ..evaluation.datasets import subset_indices

    pack = read_pack(pack_path)
    keep = subset_indices(len(pack), limit)  # evenly spread, so a small subset still has every class
    images, labels = pack.decode(indices=keep.tolist()), pack.labels[keep]  # only the kept images are decoded
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().to(device)
    return x, torch.from_numpy(labels).to(device)


COMPILE_MODES = ("none", "eager", "default", "reduce-overhead", "max-autotune")


def _compiled(model: torch.nn.Module, mode: str):
    """The module the training steps call: ``model`` itself or its ``torch.compile`` (same parameters)."""
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile={mode!r} is not one of {COMPILE_MODES}.")
    if mode == "none":
        return model
    if mode == "eager":
        return torch.compile(model, backend="eager")
    return torch.compile(model, mode=mode)


def _load_checkpoint_file(path: Path, map_location) -> dict:
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)  # tensors and plain types only
    except Exception as err:  # truncated, not a torch file, or holding pickled objects
        raise ValueError(f"{path} is not a readable checkpoint file ({type(err).__name__}: {str(err)[:200]}); "
                         f"delete {_MODEL_FILE} and {_STATE_FILE} in {path.parent} to start the run over.") from err
    if not isinstance(data, dict) or "tag" not in data:
        raise ValueError(f"{path} is not a checkpoint of the resident trainer; delete {_MODEL_FILE} and "
                         f"{_STATE_FILE} in {path.parent} to start the run over.")
    return data


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _apply_plan(recipe: Recipe, epochs: int, optimizer, steps_per_epoch: int, global_step: int, out: Path):
    """The recipe with ``epochs`` epochs (written to ``out/recipe.yaml``) and its per-step schedule at
    ``global_step``; returns ``(planned recipe, scheduler or None)``."""
    raw = recipe.to_dict()
    raw["train"]["epochs"] = int(epochs)
    plan_recipe = Recipe.from_dict(raw, source="planned recipe")
    plan_recipe.to_yaml(out / "recipe.yaml")
    scheduler = build_scheduler(plan_recipe, optimizer, steps_per_epoch)
    if scheduler is not None:
        scheduler.step_update(global_step)
    return plan_recipe, scheduler


class _Progress:
    """Progress lines on stdout and appended to ``<checkpoint_dir>/progress.log``."""

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path

    def __call__(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {self.name}: {message}"
        print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")


class _Normalize:
    """uint8 (B, C, H, W) -> normalised float32 with device-resident constants (no host copy per call)."""

    def __init__(self, mean, std, device: torch.device) -> None:
        from ..data_config import normalization_affine

        self.scale, self.bias = (t.to(device) for t in normalization_affine(mean, std))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.bias, x.float(), self.scale)


@torch.no_grad()
def _evaluate(model, images: torch.Tensor, labels: torch.Tensor, normalize: _Normalize, autocast,
              channels_last: bool, batch_size: int) -> tuple[float, float]:
    was_training = model.training
    model.eval()
    correct = torch.zeros((), device=images.device)
    loss = torch.zeros((), device=images.device, dtype=torch.float64)
    for start in range(0, images.shape[0], batch_size):
        x = normalize(images[start:start + batch_size])
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast():
            logits = model(x).float()
        y = labels[start:start + batch_size]
        correct += (logits.argmax(-1) == y).sum()
        loss += F.cross_entropy(logits, y, reduction="sum").double()
    model.train(was_training)
    n = images.shape[0]
    return float(100.0 * (1 - correct.item() / n)), float(loss.item() / n)


def train_resident(run: ResidentRun) -> dict:
    """Train ``run`` (resuming from its checkpoint files when present); returns a summary dict.

    One run per folder: ``out`` and the checkpoint folder are locked for the whole run.

    Raises:
        NonFiniteLossError: the loss became NaN / inf (the last checkpoint is kept).
        ValueError: a checkpoint of another recipe, an inconsistent pair of checkpoint files, or a folder in use
            by another run (:class:`~timm_augmix_plugin.utils.run_lock.FolderInUseError`).
    """
    from ..utils.run_lock import FolderLock

    folders = {Path(run.out).resolve(): "--out"}
    if run.checkpoint_dir is not None:
        folders.setdefault(Path(run.checkpoint_dir).resolve(), "--checkpoint-dir")
    with contextlib.ExitStack() as stack:
        for folder, what in folders.items():
            stack.enter_context(FolderLock(folder, what))
        return _train_resident(run)


def _train_resident(run: ResidentRun) -> dict:
    started = time.perf_counter()
    recipe, t = run.recipe, run.recipe.train
    if run.device is not None:
        device = torch.device(run.device)
    else:
        device = torch.device("cuda" if torch.cuda.is_available() and not t.cpu else "cpu")
    out = Path(run.out)
    ckpt_dir = Path(run.checkpoint_dir or out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    say = _Progress(run.name, ckpt_dir / "progress.log")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    torch.manual_seed(t.seed)
    model = build_model(recipe).to(device)
    if t.channels_last:
        model = model.to(memory_format=torch.channels_last)
    mean, std = resolve_normalization(recipe, model)
    normalize = _Normalize(mean, std, device)
    train_x, train_y = _load_images(Path(run.train_pack), run.limit_train, device)
    eval_x, eval_y = _load_images(Path(run.eval_pack), run.limit_eval, device)
    size = recipe.data.img_size
    if train_x.shape[-2:] != (size, size):
        raise ValueError(f"The training pack holds {tuple(train_x.shape[-2:])} images but data.img_size={size}; "
                         "the resident trainer crops at the stored size (set data.img_size to match).")
    pad = cifar_crop_padding(size)  # the DataLoader path's crop padding
    padded = F.pad(train_x, (pad, pad, pad, pad))  # zero fill, as RandomCrop(padding=...)
    del train_x
    batch = recipe.data.batch_size
    steps_per_epoch = padded.shape[0] // batch  # drop_last, as the DataLoader path
    if steps_per_epoch < 1:
        raise ValueError(f"{padded.shape[0]} training images are fewer than one batch of {batch}; lower "
                         "data.batch_size or use more images.")

    objective = Objective(recipe)
    optimizer = build_optimizer(recipe, model)
    augmix = None
    generator = torch.Generator(device=device).manual_seed(process_seed(t.seed, 0))
    if recipe.augmix.enabled:
        from ..augmix import BatchedAugMix

        augmix = BatchedAugMix(recipe.augmix.policy, mean=mean, std=std,
                               num_views=max(recipe.augmix.num_splits - 1, 1), generator=generator).to(device)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(t.mixed_precision)

    def autocast():
        return torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None)

    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    planned = None if run.time_budget_s else t.epochs
    epoch, global_step = 0, 0
    if (ckpt_dir / _MODEL_FILE).is_file() and (ckpt_dir / _STATE_FILE).is_file():
        weights = _load_checkpoint_file(ckpt_dir / _MODEL_FILE, device)
        state = _load_checkpoint_file(ckpt_dir / _STATE_FILE, "cpu")
        if weights["tag"] != state["tag"]:
            raise ValueError(f"{ckpt_dir}: {_MODEL_FILE} (update {weights['tag']}) and {_STATE_FILE} (update "
                             f"{state['tag']}) come from different checkpoints; delete both to start over.")
        if state["recipe_name"] != recipe.name or state["mode"] != recipe.mode:
            raise ValueError(f"{ckpt_dir} holds a checkpoint of {state['recipe_name']!r} ({state['mode']}); use "
                             "another output folder for this recipe.")
        model.load_state_dict(weights["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        epoch, global_step, planned = state["epoch"], state["global_step"], state["planned_epochs"]
        say(f"resumed from {ckpt_dir} at epoch {epoch} (update {global_step}, plan {planned} epochs)")
    plan_recipe, scheduler = _apply_plan(recipe, planned or t.epochs, optimizer, steps_per_epoch, global_step, out)
    metrics = MetricsLog(out / "metrics.jsonl")
    metrics.truncate_after(global_step)

    def save_checkpoint() -> None:
        tag = global_step
        _atomic_save(dict(tag=tag, recipe_name=recipe.name, mode=recipe.mode, epoch=epoch, global_step=global_step,
                          planned_epochs=planned, optimizer=optimizer.state_dict(),
                          generator=generator.get_state()), ckpt_dir / _STATE_FILE)
        _atomic_save(dict(tag=tag, model=model.state_dict()), ckpt_dir / _MODEL_FILE)

    plan = f"{planned} epochs" if planned is not None else f"epochs planned after epoch 1 within {run.time_budget_s} s"
    say(f"{recipe.name} ({recipe.mode}) on {device}: {padded.shape[0]} train / {eval_x.shape[0]} eval images, "
        f"{steps_per_epoch} steps of {batch} per epoch, precision {t.mixed_precision}, channels_last "
        f"{t.channels_last}, {plan}")
    model.train()
    forward = _compiled(model, run.compile)
    loss_sum = torch.zeros((), device=device)
    parts_sum: dict[str, torch.Tensor] = {}
    window = dict(count=0, start=time.perf_counter())
    clean_error = float("nan")
    def sync() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    while planned is None or epoch < planned:
        epoch_start = sync()
        perm = torch.randperm(padded.shape[0], generator=generator, device=device)
        inputs = epoch_inputs(padded, perm, size, generator, augmix, normalize, objective.num_splits, run.chunk)
        prepared = sync()
        timing_from = None
        for step in range(steps_per_epoch):
            if step == min(20, steps_per_epoch // 4):
                timing_from = sync()
            rows = slice(step * batch, (step + 1) * batch)
            target = train_y[perm[rows]]
            images = inputs[:, rows].reshape(-1, *inputs.shape[2:]).permute(0, 3, 1, 2)  # split-major, NCHW view
            images = images if t.channels_last else images.contiguous()
            with autocast():
                logits = forward(images)
            loss, parts = objective(logits.float(), target)
            scaler.scale(loss).backward()
            if recipe.optim.clip_grad is not None:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.optim.clip_grad)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            global_step += 1
            if scheduler is not None:
                scheduler.step_update(num_updates=global_step)
            loss_sum += loss.detach()
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, torch.zeros((), device=device)) + v.detach()
            window["count"] += 1
            if global_step % t.log_every_steps == 0 or step + 1 == steps_per_epoch:
                n = window["count"]
                values = torch.stack([loss_sum, *parts_sum.values()]).div(n).tolist()  # the one host sync
                if not all(map(math.isfinite, values)):
                    raise NonFiniteLossError(
                        f"{run.name}: the loss is {values[0]} at epoch {epoch + 1}, update {global_step}; the last "
                        f"checkpoint in {ckpt_dir} is kept. Lower optim.lr or set optim.clip_grad.")
                elapsed = max(time.perf_counter() - window["start"], 1e-9)
                metrics.write("train", epoch=epoch + 1, step=global_step, loss=values[0],
                              **{f"loss_{k}": v for k, v in zip(parts_sum, values[1:])},
                              lr=optimizer.param_groups[0]["lr"], images_per_s=n * batch / elapsed,
                              views_per_s=n * batch * objective.num_splits / elapsed)
                loss_sum.zero_()
                parts_sum = {}
                window = dict(count=0, start=time.perf_counter())
        del inputs
        now = sync()
        epoch_s = now - epoch_start
        timed = steps_per_epoch - min(20, steps_per_epoch // 4)
        step_ms = 1000 * (now - timing_from) / max(timed, 1)
        epoch += 1
        if planned is None:  # plan the run from the first epoch's preparation and steady step time
            remaining = run.time_budget_s - (now - started)
            fit = int(remaining // (prepared - epoch_start + step_ms * steps_per_epoch / 1000)) + 1
            planned = max(1, min(t.epochs, fit))
            plan_recipe, scheduler = _apply_plan(recipe, planned, optimizer, steps_per_epoch, global_step, out)
            say(f"plan: {planned} of the recipe's {t.epochs} epochs fit the {run.time_budget_s:.0f} s budget "
                f"(steady step {step_ms:.2f} ms)")
        last = epoch >= planned
        evaluate_now = last or epoch % max(1, recipe.eval.every_epochs) == 0
        if evaluate_now:
            clean_error, clean_loss = _evaluate(model, eval_x, eval_y, normalize, autocast, t.channels_last,
                                                recipe.eval.batch_size)
            metrics.write("eval", epoch=epoch, step=global_step, clean_error=clean_error, clean_loss=clean_loss)
        stop = run.stop_after_epochs is not None and epoch >= run.stop_after_epochs and not last
        if last or stop or epoch % run.checkpoint_every_epochs == 0:
            save_checkpoint()
        evaluated = f", clean error {clean_error:.2f}%" if evaluate_now else ""
        say(f"epoch {epoch}/{planned}: {epoch_s:.1f} s (inputs {prepared - epoch_start:.2f} s, step {step_ms:.2f} ms)"
            f"{evaluated}, elapsed {time.perf_counter() - started:.0f} s")
        if stop:
            say(f"stopped after epoch {epoch} as asked; the checkpoint in {ckpt_dir} continues the run")
            return dict(name=run.name, recipe=recipe.name, mode=recipe.mode, epochs=planned, stopped_at=epoch,
                        global_step=global_step, clean_error=clean_error)
    final_dir = export_weights(model, plan_recipe, mean, std, out / "final")
    plot_metrics(out / "metrics.jsonl", out / "metrics.png")
    summary = dict(name=run.name, recipe=recipe.name, mode=recipe.mode, epochs=planned,
                   recipe_epochs=t.epochs, global_step=global_step, clean_error=clean_error,
                   wall_s=time.perf_counter() - started, final=str(final_dir), device=str(device))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    say(f"done: {planned} epochs, clean error {clean_error:.2f}%, final weights {final_dir}")
    return summary


def build_parser() -> argparse.ArgumentParser:
    """Command line of the resident trainer."""
    p = argparse.ArgumentParser(prog="python -m timm_augmix_plugin.train.resident",
                                description="Train a recipe with the decoded images resident on the device.")
    p.add_argument("--recipe", required=True, help="recipe file or packaged recipe name")
    p.add_argument("overrides", nargs="*", metavar="section.key=value", help="recipe overrides")
    p.add_argument("--train-pack", required=True, type=Path, help="JPEG pack of the training images")
    p.add_argument("--eval-pack", required=True, type=Path, help="JPEG pack of the clean evaluation images")
    p.add_argument("--out", required=True, type=Path, help="run folder")
    p.add_argument("--checkpoint-dir", type=Path, default=None, help="checkpoint folder (default: --out)")
    p.add_argument("--time-budget", type=float, default=None, help="wall-clock seconds for training (plans epochs)")
    p.add_argument("--checkpoint-every", type=int, default=5, help="checkpoint every N epochs")
    p.add_argument("--limit-train", type=int, default=None, help="N evenly spread training images only")
    p.add_argument("--limit-eval", type=int, default=None, help="N evenly spread evaluation images only")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available)")
    p.add_argument("--name", default=None, help="tag of the progress lines (default: the recipe name)")
    p.add_argument("--stop-after", type=int, default=None, help="end this call after N epochs (a rerun continues)")
    p.add_argument("--compile", default="none", choices=COMPILE_MODES,
                   help="torch.compile mode of the training step's forward/backward (reduce-overhead: CUDA graphs)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, train; returns the exit code (2 for bad input, 3 for a non-finite loss)."""
    args = build_parser().parse_intermixed_args(argv)  # overrides may stand between the options
    try:
        recipe = load_recipe(args.recipe, args.overrides)
        train_resident(ResidentRun(recipe, args.train_pack, args.eval_pack, args.out, args.checkpoint_dir,
                                   args.time_budget, args.checkpoint_every, args.limit_train, args.limit_eval,
                                   args.device, args.name or recipe.name, stop_after_epochs=args.stop_after,
                                   compile=args.compile))
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except NonFiniteLossError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
