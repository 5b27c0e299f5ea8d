"""Batched inference over a dataset of ``(image, label, group)`` samples, sharded across processes with Accelerate.

:func:`forward_batches` is the one batched forward loop of the evaluations (eval-c's :func:`predict`, eval-p's
``predict_stability``). It works in a plain ``python`` process (one shard) and under ``accelerate launch
--num_processes N``: each process runs its shard, and ``gather_for_metrics`` returns every sample exactly once, in
dataset order, on all processes.
Per sample only four numbers are kept (confidence, prediction, label, log-probability of the label) plus the group,
and, when asked, a 64-bit fingerprint of the evaluated image (its uint8 pixels recovered from the normalised tensor,
with its label and group), from which :func:`images_sha256` identifies the evaluated set.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

__all__ = ["Predictions", "default_accelerator", "forward_batches", "images_sha256", "predict"]


@dataclass
class Predictions:
    """Per-sample outputs of :func:`predict`, all 1-D numpy arrays of equal length."""

    confidence: np.ndarray  # max softmax probability, float64
    prediction: np.ndarray  # top-1 class, int64
    label: np.ndarray  # true class, int64
    log_prob: np.ndarray  # log p(label), float64
    group: np.ndarray  # split id (corruption x severity), int64
    fingerprint: np.ndarray | None = None  # per-sample image+label+group hash, int64 (see images_sha256)

    @property
    def correct(self) -> np.ndarray:
        """Boolean vector: top-1 prediction equals the label."""
        return self.prediction == self.label

    def __len__(self) -> int:
        return len(self.label)

    def select(self, mask: np.ndarray) -> Predictions:
        """The samples where ``mask`` is True."""
        fields = ("confidence", "prediction", "label", "log_prob", "group")
        fingerprint = None if self.fingerprint is None else self.fingerprint[mask]
        return Predictions(*(getattr(self, f)[mask] for f in fields), fingerprint=fingerprint)


def _fingerprints(images: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor, mean: torch.Tensor,
                  std: torch.Tensor) -> torch.Tensor:
    """One signed 64-bit blake2b digest per sample of its uint8 pixels (un-normalised), label and group."""
    pixels = ((images.float() * std + mean) * 255.0).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()
    out = np.empty(len(pixels), dtype=np.int64)
    for i, (px, label, group) in enumerate(zip(pixels, labels.tolist(), groups.tolist(), strict=True)):
        h = hashlib.blake2b(np.ascontiguousarray(px).tobytes(), digest_size=8)
        h.update(f"{px.shape}|{label}|{group}".encode())
        out[i] = int.from_bytes(h.digest(), "little", signed=True)
    return torch.from_numpy(out)


def images_sha256(fingerprints: np.ndarray | None) -> str | None:
    """sha256 of the sorted per-sample fingerprints: the same for the same set of (image, label, split), whatever
    the order, batch size or process count; None without fingerprints."""
    if fingerprints is None:
        return None
    return hashlib.sha256(np.sort(np.asarray(fingerprints, dtype=np.int64)).tobytes()).hexdigest()


def default_accelerator(accelerator=None):
    """``accelerator``, or a new ``accelerate.Accelerator`` when it is None."""
    if accelerator is not None:
        return accelerator
    from accelerate import Accelerator

    return Accelerator()


@torch.inference_mode()
def forward_batches(
    model: nn.Module,
    dataset: Dataset,
    outputs: Callable[[torch.Tensor, Sequence[torch.Tensor]], dict[str, torch.Tensor]],
    *,
    num_classes: int,
    batch_size: int = 256,
    num_workers: int = 2,
    accelerator=None,
    desc: str = "eval",
    inputs: Callable[[Sequence[torch.Tensor]], torch.Tensor] | None = None,
    empty: str = "the dataset is empty",
) -> dict[str, np.ndarray]:
    """The batched forward loop of both evaluations: shard ``dataset`` across processes, run ``model`` on each batch
    and gather the per-sample values ``outputs`` derives from the logits, from every process in dataset order.

    Args:
        model: the classifier (eval mode is enforced).
        dataset: yields tuples whose first item is the model input unless ``inputs`` builds it.
        outputs: ``(logits (batch, num_classes) float32, batch) -> {name: per-sample tensor}``, the same names for
            every batch; the tensors are gathered and returned as numpy arrays under those names.
        num_classes: the model's class count; a different logits width raises ``ValueError``.
        batch_size: per-process batch size.
        num_workers: DataLoader worker processes per process.
        accelerator: an ``accelerate.Accelerator`` (one is created when None).
        desc: progress-bar label (the bar shows on the main process only).
        inputs: ``batch -> model input`` (default: the batch's first item).
        empty: the message (after ``desc:``) of the ``ValueError`` raised when there is nothing to evaluate.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    accelerator = default_accelerator(accelerator)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=accelerator.device.type == "cuda",
        persistent_workers=False,
    )
    loader = accelerator.prepare_data_loader(loader)
    model = accelerator.prepare_model(model, evaluation_mode=True)
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    bar = tqdm(total=len(loader), desc=desc, unit="batch", disable=not accelerator.is_local_main_process, leave=False)
    for batch in loader:
        x = batch[0] if inputs is None else inputs(batch)
        with accelerator.autocast():
            logits = model(x)
        logits = logits.float()
        if logits.ndim != 2 or logits.shape[1] != num_classes:
            raise ValueError(f"model returned logits of shape {tuple(logits.shape)}, expected (batch, {num_classes})")
        per_sample = outputs(logits, batch)
        gathered = accelerator.gather_for_metrics(tuple(per_sample.values()))
        for key, value in zip(per_sample, gathered, strict=True):
            parts.setdefault(key, []).append(value.cpu().numpy())
        bar.update(1)
    bar.close()
    if not parts:
        raise ValueError(f"{desc}: {empty}")
    return {k: np.concatenate(v) for k, v in parts.items()}


def predict(
    model: nn.Module,
    dataset: Dataset,
    *,
    num_classes: int,
    batch_size: int = 256,
    num_workers: int = 2,
    accelerator=None,
    desc: str = "eval",
    normalization: tuple[Sequence[float], Sequence[float]] | None = None,
) -> Predictions:
    """Run ``model`` over ``dataset`` in batches and gather per-sample results from every process.

    Args:
        model: the classifier (eval mode is enforced).
        dataset: yields ``(image_tensor, label, group)``.
        num_classes: the model's class count; a different logits width raises ``ValueError``.
        batch_size: per-process batch size.
        num_workers: DataLoader worker processes per process.
        accelerator: an ``accelerate.Accelerator`` (one is created when None).
        desc: progress-bar label (the bar shows on the main process only).
        normalization: ``(mean, std)`` the dataset's tensors were normalised with: also fingerprint every sample's
            uint8 pixels (``Predictions.fingerprint``), so results can name exactly which images were evaluated.
    """
    if normalization is not None:
        norm_mean, norm_std = (torch.tensor(v, dtype=torch.float32).view(1, -1, 1, 1) for v in normalization)

    def outputs(logits: torch.Tensor, batch: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        images, labels, groups = batch
        log_probs = torch.log_softmax(logits, dim=1)
        top_log_prob, prediction = log_probs.max(dim=1)
        labels = labels.to(log_probs.device).long()
        per_sample = {
            "confidence": top_log_prob.exp(),
            "prediction": prediction,
            "label": labels,
            "log_prob": log_probs.gather(1, labels[:, None]).squeeze(1),
            "group": groups.to(log_probs.device).long(),
        }
        if normalization is not None:
            prints = _fingerprints(images.detach().cpu(), labels, groups, norm_mean, norm_std)
            per_sample["fingerprint"] = prints.to(log_probs.device)
        return per_sample

    out = forward_batches(model, dataset, outputs, num_classes=num_classes, batch_size=batch_size,
                          num_workers=num_workers, accelerator=accelerator, desc=desc)
    return Predictions(
        confidence=out["confidence"].astype(np.float64),
        prediction=out["prediction"].astype(np.int64),
        label=out["label"].astype(np.int64),
        log_prob=out["log_prob"].astype(np.float64),
        group=out["group"].astype(np.int64),
        fingerprint=out["fingerprint"].astype(np.int64) if "fingerprint" in out else None,
    )
