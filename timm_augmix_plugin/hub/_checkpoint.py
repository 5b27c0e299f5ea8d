"""Loading a trained checkpoint into a timm model, reading weights with safetensors only (never pickle)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ..utils.weights_hash import state_dict_sha256
from ._hashing import CONFIG_FILE, WEIGHTS_FILE


@dataclass
class LoadedCheckpoint:
    """A timm model holding a checkpoint's weights.

    Attributes:
        model: The model in eval mode, with ``pretrained_cfg`` describing its preprocessing.
        architecture: timm model name (``config.json``'s ``architecture``).
        weights_sha256: :func:`~timm_augmix_plugin.utils.weights_hash.state_dict_sha256` of the weights.
        source: The path the weights came from.
    """

    model: torch.nn.Module
    architecture: str
    weights_sha256: str
    source: Path


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
    """Build the timm model of a checkpoint and load its weights strictly.

    Args:
        checkpoint: A ``save_for_hf`` folder (``config.json`` + ``model.safetensors``, e.g. training's ``<out>/final``)
            or a bare ``.safetensors`` file.
        model_name: timm architecture of a bare ``.safetensors`` file (ignored for folders, which name theirs).
        num_classes: Classifier size of a bare ``.safetensors`` file.

    Raises:
        FileNotFoundError: The checkpoint or its weights file does not exist.
        ValueError: The architecture is unknown or the weights do not fit it.
    """
    import timm
    from safetensors.torch import load_file

    checkpoint = Path(checkpoint)
    if checkpoint.is_dir():
        weights, config_path = checkpoint / WEIGHTS_FILE, checkpoint / CONFIG_FILE
        if not config_path.is_file():
            raise FileNotFoundError(
                f"{checkpoint} has no {CONFIG_FILE}; pass a folder written by timm's save_for_hf (training's "
                "<out>/final) or a .safetensors file together with --model and --num-classes."
            )
        if not weights.is_file():
            raise FileNotFoundError(
                f"{checkpoint} has no {WEIGHTS_FILE}; only safetensors weights are accepted (pickled .bin/.pth files "
                "are not read). Re-save the model with timm.models.save_for_hf(model, dir, safe_serialization=True)."
            )
        architecture = json.loads(config_path.read_text(encoding="utf-8")).get("architecture")
        if not architecture:
            raise ValueError(f"{config_path} has no 'architecture'; it was not written by timm's save_for_hf.")
        _require_known(architecture)
        # Architecture, model_args and pretrained_cfg come from config.json; the weights are loaded below.
        model = timm.create_model(f"local-dir:{checkpoint}", pretrained=False)
    elif checkpoint.is_file():
        if checkpoint.suffix != ".safetensors":
            raise ValueError(
                f"{checkpoint} is not a .safetensors file; only safetensors weights are read (no pickle). Convert it "
                "with safetensors.torch.save_file(state_dict, 'model.safetensors')."
            )
        if not model_name:
            raise ValueError(
                f"{checkpoint} is a bare weights file; say which timm architecture it belongs to with --model "
                "(e.g. --model wrn40_2), or pass a save_for_hf folder instead."
            )
        _require_known(model_name)
        weights = checkpoint
        kwargs = {} if num_classes is None else {"num_classes": int(num_classes)}
        model = timm.create_model(model_name, pretrained=False, **kwargs)
        architecture = model_name
    else:
        raise FileNotFoundError(
            f"Checkpoint not found: {checkpoint}. Pass training's <out>/final folder or a .safetensors file."
        )

    state_dict = load_file(str(weights), device="cpu")
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as e:
        raise ValueError(
            f"The weights in {weights} do not fit {architecture} with num_classes={model.num_classes}: {e}\n"
            "Check --model and --num-classes (a folder's config.json decides both)."
        ) from e
    model.eval()
    # hashed as loaded into the model, exactly as eval-c hashes the model it evaluates
    return LoadedCheckpoint(model=model, architecture=architecture,
                            weights_sha256=state_dict_sha256(model.state_dict()), source=weights)


def _require_known(architecture: str) -> None:
    import timm

    if not timm.is_model(architecture):
        raise ValueError(
            f"Unknown timm architecture {architecture!r}. Use a name from timm.list_models(); the paper's CIFAR "
            "models (wrn40_2, allconvnet, densenet40_12, resnext29_4x32d, ...) need `import timm_augmix_plugin`."
        )
