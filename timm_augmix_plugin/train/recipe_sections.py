"""The sections of a training recipe: one dataclass each, validating its own fields on construction.

Rules that tie two sections together (JSD needs AugMix views, warm-up shorter than training, batch divisible by the
accumulation steps) are checked by :class:`~timm_augmix_plugin.train.recipe.Recipe`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from .typed_yaml import require

__all__ = [
    "AUGMIX_BACKENDS",
    "DATASET_KINDS",
    "SECTIONS",
    "AugMixSection",
    "DataSection",
    "EvalSection",
    "LossSection",
    "ModelSection",
    "OptimSection",
    "SchedSection",
    "TrainSection",
    "dataset_kind",
]

#: Dataset names (prefixes) the training data builder understands.
DATASET_KINDS = ("synthetic", "", "folder", "tar", "torch/", "hfds/")
#: AugMix backends: 'pil' (per image in the loader workers) or 'batched' (per-sample AugMix on the device, after
#: the loader; see ``timm_augmix_plugin.augmix.BatchedAugMix``).
AUGMIX_BACKENDS = ("pil", "batched")


@dataclass
class ModelSection:
    """The network, built with ``timm.create_model(name, num_classes=data.num_classes, ...)``.

    Attributes:
        name: Any timm model name (the plugin's ``wrn40_2``, ``allconvnet``, ... or timm's own ``resnet50``).
        pretrained: Start from timm's pretrained weights.
        drop_rate: Classifier dropout; None keeps the model's default.
        kwargs: Extra keyword arguments for ``create_model``.
    """

    name: str = "wrn16_1"
    pretrained: bool = False
    drop_rate: float | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``timm.create_model`` besides name and classes: ``kwargs`` plus ``drop_rate``."""
        kwargs = dict(self.kwargs)
        if self.drop_rate is not None:
            kwargs["drop_rate"] = self.drop_rate
        return kwargs

    def __post_init__(self) -> None:
        require(bool(self.name), "model.name must name a timm model, e.g. model.name=wrn40_2.")


@dataclass
class DataSection:
    """Where the images come from and how they are batched.

    Attributes:
        dataset: ``synthetic`` (the embedded procedurally generated 10-class data, no download), ``''`` / ``folder`` /
            ``tar`` (an ImageFolder-style directory or tar file, via ``timm.data.create_dataset``),
            ``torch/cifar10`` / ``torch/cifar100`` (torchvision), or ``hfds/<name>`` (Hugging Face datasets).
        root: Training data location (folder, tar file or download directory). Relative paths are relative to
            the working directory.
        eval_root: Evaluation data location when it differs from ``root`` (e.g. a separate ``test.tar``).
        train_split: Split name passed to ``create_dataset`` for training.
        eval_split: Split name for the per-epoch clean evaluation.
        download: Let torchvision / Hugging Face download the data.
        num_classes: Number of classes (the classifier size).
        img_size: Training / evaluation image side in pixels.
        preset: Geometric preprocessing: ``cifar`` (flip + random crop padded by ``img_size // 8``, 4 px at 32) or
            ``imagenet`` (random-resized crop + flip; resize + centre crop for evaluation).
        mean: Normalisation mean; None takes the model's ``pretrained_cfg``.
        std: Normalisation std; None takes the model's ``pretrained_cfg``.
        batch_size: Global batch per optimizer update (summed over processes and accumulation steps).
        num_workers: DataLoader worker processes per training process.
        train_samples: Synthetic data: how many training images to generate; other datasets: train on a fixed
            seeded random subset of this size. None uses everything (synthetic: 5000).
        eval_samples: As ``train_samples`` for the evaluation split (synthetic default: 1000).
        seed: Seed of the synthetic images and of subset selection.
    """

    dataset: str = "synthetic"
    root: str | None = None
    eval_root: str | None = None
    train_split: str = "train"
    eval_split: str = "validation"
    download: bool = False
    num_classes: int = 10
    img_size: int = 32
    preset: Literal["cifar", "imagenet"] = "cifar"
    mean: list[float] | None = None
    std: list[float] | None = None
    batch_size: int = 128
    num_workers: int = 2
    train_samples: int | None = None
    eval_samples: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        kind = dataset_kind(self.dataset)
        if kind in ("", "folder", "tar", "torch/"):
            require(self.root is not None, f"data.root is required for data.dataset={self.dataset!r}: set it to the "
                                           f"dataset folder / tar file (or the torchvision download directory).")
        require(self.num_classes >= 2, f"data.num_classes must be >= 2, got {self.num_classes}.")
        if kind == "synthetic":
            require(self.num_classes <= 10, f"The synthetic dataset has 10 classes; data.num_classes="
                                            f"{self.num_classes} must be <= 10 (use data.num_classes=10).")
            require(self.img_size >= 16, f"The synthetic dataset needs data.img_size >= 16, got {self.img_size}.")
        require(self.img_size >= 8, f"data.img_size must be >= 8 pixels, got {self.img_size}.")
        for key in ("mean", "std"):
            val = getattr(self, key)
            if val is not None:
                require(len(val) == 3, f"data.{key} needs 3 values (one per RGB channel), got {val}.")
        if self.std is not None:
            require(all(v > 0 for v in self.std), f"data.std values must be > 0, got {self.std}.")
        require(self.batch_size >= 1, f"data.batch_size must be >= 1, got {self.batch_size}.")
        require(self.num_workers >= 0, f"data.num_workers must be >= 0, got {self.num_workers}.")
        for key in ("train_samples", "eval_samples"):
            val = getattr(self, key)
            require(val is None or val >= 1, f"data.{key} must be >= 1 or null, got {val}.")


@dataclass
class AugMixSection:
    """AugMix augmentation.

    Attributes:
        enabled: Apply AugMix to training images.
        policy: AugMix policy string, e.g. ``augmix_paper`` (severity 3, width 3, random depth) or
            ``augmix_paper-s1`` (the ImageNet severity); see ``timm_augmix_plugin.augmix.parse_policy``.
        num_splits: 1 = one AugMix view per image; 3 = clean + two AugMix views (needed by the JSD loss), fed as one
            split-major batch of ``num_splits * B`` images.
        split_bn: Give each split its own BatchNorm statistics during training (timm ``convert_splitbn_model``).
        backend: Where AugMix runs: ``pil`` (per image in the loader workers, fused clean + views) or ``batched``
            (the loader delivers uint8 crops; every sample gets its own AugMix chains on the training device).
    """

    enabled: bool = False
    policy: str = "augmix_paper"
    num_splits: int = 1
    split_bn: bool = False
    backend: str = "pil"

    def __post_init__(self) -> None:
        require(self.backend in AUGMIX_BACKENDS,
                f"augmix.backend={self.backend!r} is unknown; expected one of {AUGMIX_BACKENDS}.")
        _check_policy(self.policy)
        require(1 <= self.num_splits <= 8, f"augmix.num_splits must be in 1..8, got {self.num_splits}.")
        if self.num_splits > 1:
            require(self.enabled, f"augmix.num_splits={self.num_splits} (clean + augmented splits) needs "
                                  f"augmix.enabled=true.")
        if self.split_bn:
            require(self.num_splits >= 2, "augmix.split_bn=true needs augmix.num_splits >= 2 (one BN per split); "
                                          "set augmix.num_splits=3 or augmix.split_bn=false.")


@dataclass
class LossSection:
    """Training objective.

    Attributes:
        type: Base classification loss of ``timm.loss.create_classification_loss`` (``ce`` or ``bce``).
        smoothing: Label smoothing of the base loss.
        jsd: Add the Jensen-Shannon consistency term over the AugMix splits (base loss on the clean split only).
        jsd_alpha: Weight of the consistency term (the paper's lambda = 12).
    """

    type: Literal["ce", "bce"] = "ce"
    smoothing: float = 0.0
    jsd: bool = False
    jsd_alpha: float = 12.0

    def __post_init__(self) -> None:
        require(0.0 <= self.smoothing < 1.0, f"loss.smoothing must be in [0, 1), got {self.smoothing}.")
        require(self.jsd_alpha >= 0.0, f"loss.jsd_alpha must be >= 0, got {self.jsd_alpha}.")


@dataclass
class OptimSection:
    """Optimizer, built with ``timm.optim.create_optimizer_v2``.

    Attributes:
        name: timm optimizer name: ``sgd`` is SGD with Nesterov momentum (the paper's CIFAR setting), ``momentum``
            is SGD with plain momentum; ``adamw`` etc. also work.
        lr: Peak learning rate.
        momentum: Momentum (SGD family).
        weight_decay: L2 weight decay.
        filter_bias_and_bn: Exempt biases and norm parameters from weight decay (the paper decays everything).
        clip_grad: Clip the global gradient norm to this value; None disables clipping.
        kwargs: Extra keyword arguments for ``create_optimizer_v2``.
    """

    name: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    filter_bias_and_bn: bool = False
    clip_grad: float | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(self.lr > 0 and math.isfinite(self.lr), f"optim.lr must be a positive number, got {self.lr}.")
        require(self.weight_decay >= 0, f"optim.weight_decay must be >= 0, got {self.weight_decay}.")
        require(self.momentum >= 0, f"optim.momentum must be >= 0, got {self.momentum}.")
        require(self.clip_grad is None or self.clip_grad > 0,
                f"optim.clip_grad must be > 0 or null, got {self.clip_grad}.")


@dataclass
class SchedSection:
    """Learning-rate schedule, built with ``timm.scheduler.create_scheduler_v2`` and stepped per optimizer update.

    Attributes:
        name: ``cosine`` (the paper's CIFAR schedule), ``multistep``, ``step``, ``poly``, ``tanh`` or ``none``.
        min_lr: Floor of the cosine / poly / tanh schedules (paper: 1e-6).
        warmup_epochs: Linear warm-up length in epochs.
        warmup_lr: Learning rate at the start of the warm-up.
        decay_milestones: Epochs at which ``multistep`` multiplies the rate by ``decay_rate``.
        decay_epochs: Period of the ``step`` schedule in epochs.
        decay_rate: Multiplier of the ``step`` / ``multistep`` schedules.
    """

    name: Literal["cosine", "multistep", "step", "poly", "tanh", "none"] = "cosine"
    min_lr: float = 1e-6
    warmup_epochs: int = 0
    warmup_lr: float = 1e-5
    decay_milestones: list[int] = field(default_factory=lambda: [30, 60])
    decay_epochs: float = 30.0
    decay_rate: float = 0.1

    def __post_init__(self) -> None:
        require(self.min_lr >= 0, f"sched.min_lr must be >= 0, got {self.min_lr}.")
        require(self.warmup_epochs >= 0, f"sched.warmup_epochs must be >= 0, got {self.warmup_epochs}.")
        require(0 < self.decay_rate <= 1, f"sched.decay_rate must be in (0, 1], got {self.decay_rate}.")
        if self.name == "multistep":
            ms = self.decay_milestones
            require(list(ms) == sorted(ms) and all(m > 0 for m in ms),
                    f"sched.decay_milestones must be increasing positive epochs, got {ms}.")


@dataclass
class TrainSection:
    """The training loop.

    Attributes:
        epochs: Number of epochs.
        seed: Seed of model initialisation, shuffling and augmentation (``accelerate.utils.set_seed``).
        output_dir: Where ``recipe.yaml``, ``metrics.jsonl``, ``checkpoints/`` and ``final/`` go; None uses
            ``runs/<recipe name>``.
        mixed_precision: ``no``, ``fp16`` or ``bf16`` (Accelerate's autocast).
        grad_accum_steps: Micro-batches per optimizer update.
        ema: Keep an exponential moving average of the weights (timm ``ModelEmaV3``), evaluated and exported too.
        ema_decay: EMA decay per update.
        checkpoint_every_steps: Also checkpoint every this many updates inside an epoch (0: at epoch ends only).
        keep_checkpoints: How many checkpoints to keep (older ones are deleted).
        resume: ``auto`` resumes from the latest checkpoint in ``output_dir`` when one exists; ``never`` starts over.
        log_every_steps: Write a training record to ``metrics.jsonl`` every this many updates.
        max_steps_per_epoch: Stop each epoch after this many micro-batches (smoke tests); None runs full epochs.
        cpu: Train on the CPU even when an accelerator is present.
        channels_last: Use the channels-last memory format for the model and its inputs (often faster, on CPUs too).
        sync_bn: BatchNorm statistics over the global batch of all processes (``GlobalBatchNorm``, CPU and GPU), so a
            several-process run follows the 1-process run; None (default) = on when there are several processes and
            the model has BatchNorm; false = per-process statistics (results then depend on the process count).
    """

    epochs: int = 100
    seed: int = 1
    output_dir: str | None = None
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    grad_accum_steps: int = 1
    ema: bool = False
    ema_decay: float = 0.9998
    checkpoint_every_steps: int = 0
    keep_checkpoints: int = 2
    resume: Literal["auto", "never"] = "auto"
    log_every_steps: int = 20
    max_steps_per_epoch: int | None = None
    cpu: bool = False
    channels_last: bool = False
    sync_bn: bool | None = None

    def __post_init__(self) -> None:
        require(self.epochs >= 1, f"train.epochs must be >= 1, got {self.epochs}.")
        require(self.grad_accum_steps >= 1, f"train.grad_accum_steps must be >= 1, got {self.grad_accum_steps}.")
        require(0 < self.ema_decay < 1, f"train.ema_decay must be in (0, 1), got {self.ema_decay}.")
        require(self.checkpoint_every_steps >= 0, f"train.checkpoint_every_steps must be >= 0, got "
                                                  f"{self.checkpoint_every_steps}.")
        require(self.keep_checkpoints >= 1, f"train.keep_checkpoints must be >= 1, got {self.keep_checkpoints}.")
        require(self.log_every_steps >= 1, f"train.log_every_steps must be >= 1, got {self.log_every_steps}.")
        steps = self.max_steps_per_epoch
        require(steps is None or steps >= 1, f"train.max_steps_per_epoch must be >= 1 or null, got {steps}.")
        require(steps is None or steps % self.grad_accum_steps == 0,
                f"train.max_steps_per_epoch={steps} counts micro-batches and must be a multiple of "
                f"train.grad_accum_steps={self.grad_accum_steps}.")


@dataclass
class EvalSection:
    """Per-epoch clean evaluation.

    Attributes:
        batch_size: Global evaluation batch size (paper: 1000).
        every_epochs: Evaluate after every this many epochs (and always after the last one).
    """

    batch_size: int = 1000
    every_epochs: int = 1

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, f"eval.batch_size must be >= 1, got {self.batch_size}.")
        require(self.every_epochs >= 1, f"eval.every_epochs must be >= 1, got {self.every_epochs}.")


SECTIONS: dict[str, type] = {
    "model": ModelSection,
    "data": DataSection,
    "augmix": AugMixSection,
    "loss": LossSection,
    "optim": OptimSection,
    "sched": SchedSection,
    "train": TrainSection,
    "eval": EvalSection,
}


def dataset_kind(name: str) -> str:
    low = name.lower()
    for kind in DATASET_KINDS:
        if kind.endswith("/") and low.startswith(kind) and len(low) > len(kind):
            return kind
        if low == kind:
            return kind
    raise ValueError(f"data.dataset={name!r} is not supported. Use 'synthetic', '' (a folder or tar file given by "
                     f"data.root), 'torch/cifar10', 'torch/cifar100' or 'hfds/<name>'.")


def _check_policy(policy: str) -> None:
    from timm_augmix_plugin.augmix import parse_policy

    try:
        parse_policy(policy)
    except ValueError as err:
        raise ValueError(f"augmix.policy={policy!r} is not a valid AugMix policy: {err} Use e.g. 'augmix_paper' "
                         f"(CIFAR: severity 3, width 3, random depth) or 'augmix_paper-s1' (ImageNet).") from err
