"""Publishing a card folder to the Hugging Face Hub with ``huggingface_hub``.

The folder is uploaded as built (timm's ``push_to_hf_hub`` would re-save the weights and write its own README, so it
does not fit a folder whose card and results are already tied to the weights by hash).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._build import GENERATED_FILES
from ._datasets import benchmark_names
from ._hashing import RESULTS_FILE, load_card_results, verify_hub_folder

__all__ = ["PublishPlan", "plan_publish", "publish_hub_folder"]


@dataclass(frozen=True)
class PublishPlan:
    """What :func:`publish_hub_folder` sends (or would send, for a dry run).

    Attributes:
        folder: The local card folder.
        repo_id: Target repository (``org/name``).
        files: ``(path in repo, size in bytes)`` of every file uploaded, sorted.
        revision: Target branch (None = the default branch); created when missing.
        create_pr: Open a pull request (against the default branch) instead of committing directly.
        private: Create the repository as private (False: the namespace's default visibility; an existing
            repository keeps its visibility either way).
        commit_message: The commit title.
        weights_sha256: Hash of the weights, checked against the results and the card.
    """

    folder: Path
    repo_id: str
    files: tuple[tuple[str, int], ...]
    revision: str | None
    create_pr: bool
    private: bool
    commit_message: str
    weights_sha256: str

    def describe(self) -> str:
        """A human-readable listing of the upload."""
        target = f"{self.repo_id}@{self.revision or 'main'}" + (" (as a pull request)" if self.create_pr else "")
        lines = [
            f"repo:     {target}{' [private]' if self.private else ''}",
            f"message:  {self.commit_message}",
            f"weights:  sha256 {self.weights_sha256}",
            f"files ({len(self.files)}):",
        ]
        lines += [f"  {path:<28} {_size(size):>10}" for path, size in self.files]
        return "\n".join(lines)


def plan_publish(
        folder: str | Path,
        repo_id: str,
        *,
        private: bool = False,
        revision: str | None = None,
        create_pr: bool = False,
        commit_message: str | None = None,
) -> PublishPlan:
    """Check a card folder (weights vs results vs card hashes, only generated files) and list what would be sent.

    Raises:
        ValueError: ``repo_id`` is not ``org/name``, ``create_pr`` is combined with ``revision``, or the folder
            holds files the card command did not write.
        WeightsMismatchError: The folder's results or card describe other weights.
        FileNotFoundError: The folder is not a built card folder.
    """
    _check_repo_id(repo_id)
    if create_pr and revision is not None:
        raise ValueError(
            "--create-pr opens the pull request against the repository's default branch, so it cannot be combined "
            f"with --revision {revision!r}; drop one of them."
        )
    folder = Path(folder)
    weights_sha256 = verify_hub_folder(folder)
    files = tuple(
        (p.relative_to(folder).as_posix(), p.stat().st_size)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    foreign = [path for path, _ in files if path not in GENERATED_FILES]
    if foreign:
        raise ValueError(
            f"{folder} holds files `timm-augmix card` does not write: {foreign}. Card folders are generated, not "
            "edited: remove them, or rebuild the folder with `timm-augmix card ... --overwrite`."
        )
    if commit_message is None:
        results = load_card_results(folder / RESULTS_FILE)
        names = benchmark_names(results.dataset)
        headline = (f"mCE {results.mce:.2f}" if results.mce is not None
                    else f"mean corruption error {results.mean_corruption_error:.2f}%")
        clean = "" if results.clean_error is None else f", clean error {results.clean_error:.2f}%"
        commit_message = f"Add {folder.name}: {names.corrupted_name} {headline}{clean}"
    return PublishPlan(folder=folder, repo_id=repo_id, files=files, revision=revision, create_pr=create_pr,
                       private=private, commit_message=commit_message, weights_sha256=weights_sha256)


def publish_hub_folder(
        folder: str | Path,
        repo_id: str,
        *,
        token: str | None = None,
        dry_run: bool = False,
        **options: Any,
) -> tuple[PublishPlan, Any]:
    """Upload a folder built by ``timm-augmix card`` to a Hub model repository.

    Plans the upload with :func:`plan_publish` (``options``: its ``private``, ``revision``, ``create_pr`` and
    ``commit_message``), creates the repository (and the ``revision`` branch) when missing, then uploads exactly the
    files of the plan in one commit. The token comes from ``token`` or huggingface_hub's usual places (``HF_TOKEN``,
    ``hf auth login``).

    Args:
        folder: The card folder.
        repo_id: ``org/name`` of the target repository.
        token: Hub token; None uses the stored one.
        dry_run: Only check and plan; nothing is sent.
        **options: Passed to :func:`plan_publish` (private repository, target branch, pull request, commit title).

    Returns:
        The plan and the ``CommitInfo`` from huggingface_hub (None for a dry run).
    """
    plan = plan_publish(folder, repo_id, **options)
    if dry_run:
        return plan, None
    from huggingface_hub import HfApi

    from .. import __version__

    api = HfApi(token=token, library_name="timm-augmix-plugin", library_version=__version__)
    # private=None leaves the visibility to the Hub (the namespace's default) unless --private was asked for
    repo_url = api.create_repo(plan.repo_id, repo_type="model", private=True if plan.private else None, exist_ok=True)
    repo_id = getattr(repo_url, "repo_id", None) or plan.repo_id
    if plan.revision is not None:
        api.create_branch(repo_id, branch=plan.revision, repo_type="model", exist_ok=True)
    commit = api.upload_folder(
        repo_id=repo_id,
        folder_path=plan.folder,
        repo_type="model",
        revision=plan.revision,
        create_pr=plan.create_pr,
        commit_message=plan.commit_message,
        allow_patterns=[path for path, _ in plan.files],
    )
    return plan, commit


def _check_repo_id(repo_id: str) -> None:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts) or any(c.isspace() for c in repo_id):
        raise ValueError(
            f"--repo-id must look like 'org/name' (e.g. 'my-org/wrn40_2.augmix_cifar10'), got {repo_id!r}."
        )


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
