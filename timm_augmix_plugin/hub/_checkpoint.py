"""The card builder's view of a trained checkpoint, loaded by the shared safetensors-only loader."""
from __future__ import annotations

from pathlib import Path

from ..utils.checkpoints import LoadedCheckpoint, load_trained_model

__all__ = ["is_plugin_architecture", "load_checkpoint"]


def is_plugin_architecture(architecture: str) -> bool:
    """Whether a timm model name is one of this plugin's registered architectures (so loading it needs the plugin)."""
    import timm

    if not timm.is_model(architecture):
        return False
    return timm.models.model_entrypoint(architecture).__module__.startswith("timm_augmix_plugin")


def load_checkpoint(
        checkpoint: str | Path,
        *,
        model_name: str | None = None,
        num_classes: int | None = None,
) -> LoadedCheckpoint:
    """Build the timm model of a checkpoint and load its weights strictly (no pickled code is run).

    Args:
        checkpoint: A ``save_for_hf`` folder (``config.json`` + ``model.safetensors``, e.g. training's ``<out>/final``),
            a bare ``.safetensors`` file, or a timm train.py checkpoint (``.pth.tar``, its ``state_dict``).
        model_name: timm architecture of a bare ``.safetensors`` file (ignored for folders, which name theirs).
        num_classes: Classifier size of a bare ``.safetensors`` file (ignored for folders); by default read off its
            classifier weights.

    Raises:
        FileNotFoundError: The checkpoint, its ``config.json`` or its weights file does not exist.
        ValueError: Pickled weights, an unknown architecture, or weights that do not fit it.
    """
    if Path(checkpoint).is_dir():  # a card is built from a save_for_hf folder only: its config.json decides
        return load_trained_model(checkpoint)
    return load_trained_model(checkpoint, model_name=model_name, num_classes=num_classes)
