"""Upload a folder built by `timm-augmix card` to a Hugging Face Hub model repository.

The token comes from the usual places (HF_TOKEN, `hf auth login`). The folder is refused when its results.json or
its card were made for other weights than its model.safetensors. Example:

    timm-augmix publish hub/wrn40_2.augmix_cifar10 --repo-id my-org/wrn40_2.augmix_cifar10 --dry-run
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``publish`` options."""
    parser.add_argument("folder", help="card folder built by `timm-augmix card`, e.g. hub/<name>")
    parser.add_argument("--repo-id", required=True, help="target repository, org/name")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--revision", default=None, help="branch to commit to (created when missing)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--commit-message", default=None, help="commit title (default: a summary of the results)")
    parser.add_argument("--dry-run", action="store_true", help="check the folder and list what would be uploaded")


def run(args: argparse.Namespace) -> int:
    """Check and upload (or list, with ``--dry-run``); returns 0, or 2 with a message for a bad folder."""
    from huggingface_hub.errors import HfHubHTTPError

    from ..hub import publish_hub_folder

    try:
        plan, commit = publish_hub_folder(
            args.folder, args.repo_id, private=args.private, revision=args.revision, create_pr=args.create_pr,
            commit_message=args.commit_message, dry_run=args.dry_run,
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"timm-augmix publish: error: {e}", file=sys.stderr)
        return 2
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else None
        hint = ("\nLog in with `hf auth login` or set HF_TOKEN to a token with write access to "
                f"{args.repo_id.split('/')[0]}." if status in (401, 403) else "")
        print(f"timm-augmix publish: the Hub refused the upload: {e}{hint}", file=sys.stderr)
        return 1
    if args.dry_run:
        print("dry run, nothing uploaded; would send:")
        print(plan.describe())
        return 0
    print(plan.describe())
    url = getattr(commit, "pr_url", None) or getattr(commit, "commit_url", None) or commit
    print(f"uploaded: {url}")
    if not args.create_pr:
        at = f"@{plan.revision}" if plan.revision else ""
        print(f"load it with: timm.create_model('hf-hub:{plan.repo_id}{at}', pretrained=True)")
    return 0
