"""`timm-augmix publish`: checked up to the HTTP boundary, with no network.

huggingface_hub runs for real against a fake Hub (an ``httpx2.MockTransport`` installed with huggingface_hub's public
``set_client_factory``), so the tests see the exact requests it would send: repo creation, branch, README validation,
preupload and the commit payload with every file's bytes. One test records the ``HfApi`` calls instead.
The hash checks are tested too: a folder whose weights, results or card disagree never reaches the network.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
from pathlib import Path

import httpx2
import huggingface_hub
import pytest
import timm
import torch
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.utils import _http as hf_http
from safetensors.torch import load_file, save_file
from test_hub_card import make_run

from timm_augmix_plugin.cli import publish as publish_cli
from timm_augmix_plugin.hub import WeightsMismatchError, build_hub_folder, plan_publish, publish_hub_folder

REPO_ID = "my-org/test_resnet.augmix_cifar10"


class FakeHub:
    """Answers the Hub endpoints an upload uses and records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.refuse_status: int | None = None  # answer every POST with this status (e.g. 401: bad token)
        self.stored: dict[str, bytes] = {}  # files committed so far, served back by /resolve/

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        path = request.url.path
        if self.refuse_status is not None and request.method == "POST":
            return httpx2.Response(self.refuse_status, json={"error": "Invalid credentials in Authorization header"})
        if "/resolve/" in path:  # downloads: hf_hub_download sends HEAD then GET
            name = path.split("/resolve/", 1)[1].split("/", 1)[1]
            if name not in self.stored:
                return httpx2.Response(404, headers={"X-Error-Code": "EntryNotFound"})
            data = self.stored[name]
            headers = {"X-Repo-Commit": "c" * 40, "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                       "Content-Length": str(len(data))}
            return httpx2.Response(200, headers=headers, content=b"" if request.method == "HEAD" else data)
        if path == "/api/repos/create":
            payload = json.loads(request.content)
            return httpx2.Response(200, json={"url": f"https://huggingface.co/{payload['organization']}/"
                                                     f"{payload['name']}"})
        if path == "/api/validate-yaml":
            return httpx2.Response(200, json={"errors": [], "warnings": []})
        if "/branch/" in path:
            return httpx2.Response(200, json={})
        if "/preupload/" in path:
            files = json.loads(request.content)["files"]
            return httpx2.Response(200, json={"files": [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files]})
        if path.endswith("/discussions") and request.method == "POST":  # a pull request opened before the commit
            return httpx2.Response(200, json={"num": 1})
        if path.endswith("/discussions/1"):
            repo = path.split("/api/models/")[1].rsplit("/discussions", 1)[0]
            return httpx2.Response(200, json={
                "num": 1, "title": "PR", "isPullRequest": True, "status": "draft", "createdAt": "2026-11-25T18:00:00Z",
                "repo": {"name": repo, "type": "model"}, "changes": {"base": "refs/heads/main"},
                "filesWithConflicts": [], "events": []})
        if "/commit/" in path:
            for line in request.content.decode().splitlines()[1:]:
                value = json.loads(line)["value"]
                self.stored[value["path"]] = base64.b64decode(value["content"])
            return httpx2.Response(200, json={"commitOid": "c" * 40,
                                              "commitUrl": f"https://huggingface.co/{REPO_ID}/commit/{'c' * 40}",
                                              "pullRequestUrl": f"https://huggingface.co/{REPO_ID}/discussions/1"})
        return httpx2.Response(404, json={"error": f"not served by the fake Hub: {request.method} {path}"})

    def posts(self) -> list[httpx2.Request]:
        return [r for r in self.requests if r.method == "POST"]

    def commit(self) -> tuple[httpx2.Request, dict, dict[str, bytes]]:
        """The commit request, its header line and the files it carries (path -> bytes)."""
        (request,) = [r for r in self.requests if "/commit/" in r.url.path]
        lines = [json.loads(line) for line in request.content.decode().splitlines()]
        assert lines[0]["key"] == "header"
        files = {}
        for line in lines[1:]:
            assert line["key"] == "file", line["key"]
            files[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
        return request, lines[0]["value"], files


@pytest.fixture
def fake_hub():
    hub = FakeHub()
    huggingface_hub.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(hub.handler)))
    yield hub
    huggingface_hub.set_client_factory(hf_http.default_client_factory)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("publish")
    run = make_run(root / "run")
    return build_hub_folder(run["final"], run["results"], root / "hub" / "test_resnet.augmix_cifar10",
                            recipe=run["recipe"], repo_id=REPO_ID)


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def run_publish(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    publish_cli.add_arguments(parser)
    return publish_cli.run(parser.parse_args(argv))


class TestUploadOverHttp:
    def test_commit_to_a_branch_sends_every_file_with_message(self, folder, fake_hub):
        plan, commit = publish_hub_folder(folder, REPO_ID, private=True, revision="v1.0", commit_message="Release v1",
                                          token="hf_test_token")
        create, branch, validate, preupload, commit_request = fake_hub.posts()
        assert create.url.path == "/api/repos/create"
        assert json.loads(create.content) == {"name": "test_resnet.augmix_cifar10", "organization": "my-org",
                                              "visibility": "private", "type": "model"}
        assert branch.url.path == f"/api/models/{REPO_ID}/branch/v1.0"
        assert validate.url.path == "/api/validate-yaml"
        assert json.loads(validate.content)["content"] == (folder / "README.md").read_text()
        assert preupload.url.path == f"/api/models/{REPO_ID}/preupload/v1.0"
        request, header, files = fake_hub.commit()
        assert request.url.path == f"/api/models/{REPO_ID}/commit/v1.0"
        assert "create_pr" not in request.url.params
        assert header["summary"] == "Release v1"
        assert files == folder_files(folder)  # exactly the folder, byte for byte
        for r in fake_hub.posts():
            assert r.headers["authorization"] == "Bearer hf_test_token"
        assert commit.oid == "c" * 40
        assert plan.files == tuple(sorted((name, len(data)) for name, data in files.items()))

    def test_pull_request_on_default_branch_with_default_message(self, folder, fake_hub):
        _, commit = publish_hub_folder(folder, REPO_ID, create_pr=True, token="hf_test_token")
        assert not [r for r in fake_hub.requests if "/branch/" in r.url.path]
        create = fake_hub.posts()[0]
        assert "visibility" not in json.loads(create.content)  # the namespace's default unless --private
        request, header, files = fake_hub.commit()
        opened = [r for r in fake_hub.posts() if r.url.path.endswith("/discussions")]
        if opened:  # huggingface_hub with hf_xet opens the pull request first, then commits to its ref
            assert json.loads(opened[0].content)["pullRequest"] is True
            assert request.url.path == f"/api/models/{REPO_ID}/commit/refs/pr/1"
        else:  # without hf_xet it commits to the default branch with create_pr=1
            assert request.url.path == f"/api/models/{REPO_ID}/commit/main"
            assert request.url.params["create_pr"] == "1"
        results = json.loads((folder / "results.json").read_text())
        assert header["summary"] == (f"Add {folder.name}: CIFAR-10-C mean corruption error "
                                     f"{results['mean_corruption_error']:.2f}%, clean error "
                                     f"{results['clean_error']:.2f}%")
        assert set(files) == set(folder_files(folder))
        assert commit.pr_url.endswith("/discussions/1")

    def test_hf_hub_load_after_upload_gives_the_folders_logits(self, folder, fake_hub, monkeypatch, tmp_path):
        """`timm.create_model('hf-hub:...')` against the fake Hub after the upload: same logits, safetensors only."""
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        publish_hub_folder(folder, REPO_ID, token="hf_test_token")
        first_download = len(fake_hub.requests)
        from_hub = timm.create_model(f"hf-hub:{REPO_ID}", pretrained=True).eval()
        local = timm.create_model(f"local-dir:{folder}", pretrained=True).eval()
        x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            torch.testing.assert_close(from_hub(x), local(x), rtol=0, atol=0)
        downloads = [r for r in fake_hub.requests[first_download:] if "/resolve/" in r.url.path]
        fetched = {r.url.path.rsplit("/", 1)[1] for r in downloads}
        assert fetched == {"config.json", "model.safetensors"}  # no pickle file is ever asked for

    def test_cli_uses_the_token_from_the_environment(self, folder, fake_hub, monkeypatch, capsys):
        monkeypatch.setenv("HF_TOKEN", "hf_env_token")
        rc = run_publish([str(folder), "--repo-id", REPO_ID, "--revision", "exp", "--commit-message", "cli upload"])
        assert rc == 0
        assert all(r.headers["authorization"] == "Bearer hf_env_token" for r in fake_hub.posts())
        request, header, _ = fake_hub.commit()
        assert request.url.path.endswith("/commit/exp") and header["summary"] == "cli upload"
        assert "uploaded:" in capsys.readouterr().out


def test_hfapi_calls_recorded(folder, fake_hub, monkeypatch):
    """The same upload seen one level up: the HfApi calls and their arguments (the fake Hub catches anything else)."""
    calls: list[tuple[str, tuple, dict]] = []

    def record(name, result=None):
        def fake(self, *args, **kwargs):
            calls.append((name, args, kwargs))
            return result
        return fake

    monkeypatch.setattr(HfApi, "create_repo", record("create_repo", huggingface_hub.RepoUrl(
        f"https://huggingface.co/{REPO_ID}")))
    monkeypatch.setattr(HfApi, "create_branch", record("create_branch"))
    monkeypatch.setattr(HfApi, "upload_folder", record("upload_folder", "commit-info"))
    plan, commit = publish_hub_folder(folder, REPO_ID, private=True, revision="dev", commit_message="msg")
    assert commit == "commit-info"
    assert [c[0] for c in calls] == ["create_repo", "create_branch", "upload_folder"]
    (_, repo_args, repo_kwargs), (_, branch_args, branch_kwargs), (_, upload_args, upload_kwargs) = calls
    assert repo_args == (REPO_ID,) and repo_kwargs["private"] is True and repo_kwargs["exist_ok"] is True
    assert repo_kwargs["repo_type"] == "model"
    assert branch_args == (REPO_ID,) and branch_kwargs["branch"] == "dev" and branch_kwargs["exist_ok"] is True
    assert upload_args == ()
    assert upload_kwargs["repo_id"] == REPO_ID and upload_kwargs["revision"] == "dev"
    assert upload_kwargs["create_pr"] is False and upload_kwargs["commit_message"] == "msg"
    assert Path(upload_kwargs["folder_path"]) == folder
    assert sorted(upload_kwargs["allow_patterns"]) == sorted(folder_files(folder))
    assert not [r for r in fake_hub.requests if r.method == "POST"]


def test_cli_explains_a_refused_token(folder, fake_hub, monkeypatch, capsys):
    fake_hub.refuse_status = 401
    monkeypatch.setenv("HF_TOKEN", "hf_expired")
    assert run_publish([str(folder), "--repo-id", REPO_ID]) == 1
    err = capsys.readouterr().err
    assert "401" in err and "hf auth login" in err and "my-org" in err
    assert not [r for r in fake_hub.requests if "/commit/" in r.url.path]


class TestDryRun:
    def test_lists_files_and_sends_nothing(self, folder, fake_hub, capsys):
        rc = run_publish([str(folder), "--repo-id", REPO_ID, "--private", "--dry-run"])
        assert rc == 0
        out = capsys.readouterr().out
        assert "dry run" in out and f"{REPO_ID}@main" in out and "[private]" in out
        for name in folder_files(folder):
            assert name in out
        assert fake_hub.requests == []

    def test_plan_matches_folder(self, folder):
        plan = plan_publish(folder, REPO_ID, revision="v2")
        assert dict(plan.files) == {name: len(data) for name, data in folder_files(folder).items()}
        assert plan.weights_sha256 == ModelCard.load(folder / "README.md").data["weights_sha256"]


class TestRefusals:
    def test_swapped_weights_are_refused_before_any_request(self, folder, tmp_path, fake_hub, capsys):
        tampered = shutil.copytree(folder, tmp_path / "tampered")
        weights = load_file(tampered / "model.safetensors")
        name = next(k for k, v in weights.items() if v.is_floating_point())
        weights[name] = weights[name] + 1
        save_file(weights, tampered / "model.safetensors")
        with pytest.raises(WeightsMismatchError, match="different weights"):
            publish_hub_folder(tampered, REPO_ID, token="hf_test_token")
        assert run_publish([str(tampered), "--repo-id", REPO_ID]) == 2
        assert "results.json was made for weights" in capsys.readouterr().err
        assert fake_hub.requests == []

    def test_results_for_other_weights_are_refused(self, folder, tmp_path):
        tampered = shutil.copytree(folder, tmp_path / "other-results")
        results = json.loads((tampered / "results.json").read_text())
        results["weights_sha256"] = "0" * 64
        (tampered / "results.json").write_text(json.dumps(results))
        with pytest.raises(WeightsMismatchError, match="results.json"):
            plan_publish(tampered, REPO_ID)

    def test_card_hash_edited_by_hand_is_refused(self, folder, tmp_path):
        tampered = shutil.copytree(folder, tmp_path / "edited-card")
        card = ModelCard.load(tampered / "README.md")
        card.data["weights_sha256"] = "f" * 64
        card.save(tampered / "README.md")
        with pytest.raises(WeightsMismatchError, match="README.md"):
            plan_publish(tampered, REPO_ID)

    def test_files_added_by_hand_are_refused(self, folder, tmp_path):
        edited = shutil.copytree(folder, tmp_path / "hand-edited")
        (edited / "notes.txt").write_text("added by hand")
        with pytest.raises(ValueError, match="notes.txt"):
            plan_publish(edited, REPO_ID)

    def test_bad_arguments(self, folder, tmp_path):
        with pytest.raises(ValueError, match="org/name"):
            plan_publish(folder, "just-a-name")
        with pytest.raises(ValueError, match="--create-pr"):
            plan_publish(folder, REPO_ID, revision="v1", create_pr=True)
        with pytest.raises(FileNotFoundError, match="timm-augmix card"):
            plan_publish(tmp_path / "absent", REPO_ID)
        partial = shutil.copytree(folder, tmp_path / "partial")
        (partial / "results.json").unlink()
        with pytest.raises(FileNotFoundError, match="results.json"):
            plan_publish(partial, REPO_ID)
