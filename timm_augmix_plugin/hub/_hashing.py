"""Checks that a model card, its results and its weights describe the same tensors."""
from __future__ import annotations

from pathlib import Path

from ..evaluation.results import RobustnessResults, load_results
from ..utils.checkpoints import CONFIG_FILE, WEIGHTS_FILE
from ..utils.weights_hash import file_weights_sha256

__all__ = ["CARD_FILE", "CARD_HASH_KEY", "RESULTS_FILE", "WeightsMismatchError", "check_same_weights",
           "load_card_results", "verify_hub_folder"]

RESULTS_FILE = "results.json"
CARD_FILE = "README.md"
CARD_HASH_KEY = "weights_sha256"


def load_card_results(path: str | Path) -> RobustnessResults:
    """Read a results.json for a card: :func:`~timm_augmix_plugin.evaluation.load_results`, which must hold eval-c
    results (the -P section is optional).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It is not valid JSON, not a results document, or holds only -P results.
    """
    results = load_results(path)
    if not results.has_corruption_results:
        raise ValueError(f"{path} holds only -P results; a card needs eval-c results: run `timm-augmix eval-c ... --out "
                         f"{path}` first, then `timm-augmix eval-p ... --out {path}` adds the -P section to it")
    return results


class WeightsMismatchError(ValueError):
    """Results or a card were made for other weights than the ones at hand."""


def check_same_weights(expected: str, actual: str, *, expected_from: str, actual_from: str) -> None:
    """Raise :class:`WeightsMismatchError` unless two weight hashes agree.

    Args:
        expected: Hash recorded by the results/card.
        actual: Hash of the weights at hand.
        expected_from: Where ``expected`` came from (named in the message).
        actual_from: Where ``actual`` came from (named in the message).
    """
    if expected != actual:
        raise WeightsMismatchError(
            f"{expected_from} was made for weights with sha256 {expected[:16]}..., but {actual_from} has "
            f"sha256 {actual[:16]}... . These are different weights: re-run `timm-augmix eval-c` on this checkpoint "
            "(or pass the checkpoint those results were made for) and build the card again."
        )


def verify_hub_folder(folder: str | Path) -> str:
    """Check a card folder before it is published; returns the weights' sha256.

    The folder must hold ``model.safetensors``, ``config.json``, ``results.json`` and ``README.md``, and both the
    results and the card's ``weights_sha256`` metadata must match the hash of ``model.safetensors``.

    Raises:
        FileNotFoundError: The folder or one of its files is missing.
        WeightsMismatchError: The results or the card describe other weights.
        ValueError: The card or results cannot be read.
    """
    from huggingface_hub import ModelCard

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Card folder not found: {folder}. Build it with `timm-augmix card ... --out {folder}`."
        )
    missing = [n for n in (WEIGHTS_FILE, CONFIG_FILE, RESULTS_FILE, CARD_FILE) if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {missing}; it is not a folder built by `timm-augmix card`. Rebuild it with that command."
        )
    actual = file_weights_sha256(str(folder / WEIGHTS_FILE))
    results = load_card_results(folder / RESULTS_FILE)
    check_same_weights(results.weights_sha256, actual, expected_from=str(folder / RESULTS_FILE),
                       actual_from=str(folder / WEIGHTS_FILE))
    card = ModelCard.load(folder / CARD_FILE)
    recorded = card.data.get(CARD_HASH_KEY)
    if not recorded:
        raise ValueError(
            f"{folder / CARD_FILE} has no `{CARD_HASH_KEY}` in its metadata; rebuild it with `timm-augmix card`."
        )
    check_same_weights(str(recorded), actual, expected_from=str(folder / CARD_FILE),
                       actual_from=str(folder / WEIGHTS_FILE))
    return actual
