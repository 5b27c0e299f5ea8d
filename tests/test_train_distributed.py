"""Multi-process and crash tests of the trainer, run as real subprocesses on the CPU:

* a 2-process gloo run (``accelerate launch --cpu --num_processes 2``, the command CI proves the distributed
  path with; see ``timm_augmix_plugin.utils.cpu_processes``) ends with the same weights and metrics as a
  1-process run of the same global batch;
* a run killed with SIGKILL right after a mid-epoch checkpoint, relaunched with the same command, resumes from that
  checkpoint and ends with the weights and metrics of the uninterrupted run.

The model is a LayerNorm ViT (no BatchNorm, whose per-process statistics would legitimately differ), so the
comparisons can be tight.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from timm_augmix_plugin.train.checkpointing import CheckpointManager
from timm_augmix_plugin.train.metrics_log import read_metrics

RECIPE = {
    "name": "dist",
    "model": {"name": "test_vit", "kwargs": {"img_size": 16, "patch_size": 4}},
    "data": {"dataset": "synthetic", "img_size": 16, "batch_size": 16, "num_workers": 0, "train_samples": 96,
             "eval_samples": 40},
    "augmix": {"enabled": True, "num_splits": 3},
    "loss": {"jsd": True},
    "optim": {"lr": 0.05},
    "train": {"epochs": 2, "log_every_steps": 1, "checkpoint_every_steps": 2, "keep_checkpoints": 2},
    "eval": {"batch_size": 20},
}
TIMEOUT = 300


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", HF_HOME=str(tmp / "hf_home"), TQDM_DISABLE="1", PYTHONUNBUFFERED="1")
    return env


def _trainer(recipe: Path, out: Path, *overrides: str) -> list[str]:
    return ["--recipe", str(recipe), f"train.output_dir={out}", *overrides]


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def _weights(out: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(out / "final" / "model.safetensors"))


def _assert_same_run(a: Path, b: Path, rtol: float, atol: float) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=rtol, atol=atol, msg=lambda m, k=key: f"{k}: {m}")
    ta, tb = read_metrics(a / "metrics.jsonl", "train"), read_metrics(b / "metrics.jsonl", "train")
    assert [r["step"] for r in ta] == [r["step"] for r in tb] == list(range(1, 13))
    for ra, rb in zip(ta, tb, strict=True):
        assert rb["loss"] == pytest.approx(ra["loss"], rel=rtol * 10, abs=atol * 10), ra["step"]
        assert rb["lr"] == pytest.approx(ra["lr"], rel=1e-9)
    ea, eb = read_metrics(a / "metrics.jsonl", "eval"), read_metrics(b / "metrics.jsonl", "eval")
    assert [e["clean_error"] for e in ea] == [e["clean_error"] for e in eb]
    assert [e["clean_loss"] for e in eb] == pytest.approx([e["clean_loss"] for e in ea], rel=1e-4)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The recipe file and the uninterrupted 1-process reference run."""
    tmp = tmp_path_factory.mktemp("dist")
    recipe = tmp / "dist.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    env = _env(tmp)
    reference = tmp / "reference"
    _run([sys.executable, "-m", "timm_augmix_plugin.train", *_trainer(recipe, reference)], env)
    return tmp, recipe, env, reference


def test_two_cpu_processes_match_one_process(setup):
    tmp, recipe, env, reference = setup
    out = tmp / "two_procs"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "timm_augmix_plugin.train",
           # one loader worker per process here, none in the reference: augmentations must not depend on it
           *_trainer(recipe, out, "data.num_workers=1")]
    proc = _run(cmd, env)
    assert "on 2 process(es)" in proc.stdout, proc.stdout[-2000:]
    _assert_same_run(reference, out, rtol=1e-4, atol=1e-5)


def test_sigkill_then_relaunch_resumes_and_matches_the_uninterrupted_run(setup):
    tmp, recipe, env, reference = setup
    out = tmp / "killed"
    cmd = [sys.executable, "-m", "timm_augmix_plugin.train", *_trainer(recipe, out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    manager = CheckpointManager(out / "checkpoints")
    deadline = time.monotonic() + TIMEOUT
    try:
        while manager.latest() is None:
            assert proc.poll() is None, f"the run ended before its first checkpoint:\n{proc.stdout.read()[-3000:]}"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "final").exists(), "the run finished before it could be killed"
    killed_at = CheckpointManager.info(manager.latest())["global_step"]
    assert killed_at < 12

    relaunched = _run(cmd, env)
    assert "Resumed from" in relaunched.stdout, relaunched.stdout[-2000:]
    _assert_same_run(reference, out, rtol=1e-5, atol=1e-6)


def test_sigkill_of_the_two_process_launcher_ends_every_rank_and_a_relaunch_resumes(setup):
    """Killing `accelerate launch --cpu --num_processes 2` must not leave ranks training (they run in their own
    sessions); a relaunch in the same folder resumes, and each update is logged once."""
    import psutil

    tmp, recipe, env, reference = setup
    out = tmp / "killed_launcher"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "timm_augmix_plugin.train",
           *_trainer(recipe, out)]
    log = tmp / "killed_launcher.log"  # a file, not a pipe: orphans must not die of a closed pipe instead
    with open(log, "w") as sink:
        launcher = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    manager = CheckpointManager(out / "checkpoints")
    deadline = time.monotonic() + TIMEOUT
    family: list = []
    try:
        while manager.latest() is None:
            assert launcher.poll() is None, f"the run ended before its first checkpoint:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.005)
        family = psutil.Process(launcher.pid).children(recursive=True)
        launcher.send_signal(signal.SIGKILL)
    finally:
        launcher.wait(timeout=60)
        _, alive = psutil.wait_procs(family, timeout=20)
        for p in alive:  # never leave them behind, even when the test fails
            p.kill()
    assert len(family) >= 3  # the relaunching entry point, torch.distributed.run and its 2 ranks
    assert not alive, f"{len(alive)} processes still ran 20 s after the launcher was killed"
    assert not (out / "final").exists(), "the run finished before it could be killed"

    relaunched = _run(cmd, env)
    assert "Resumed from" in relaunched.stdout, relaunched.stdout[-2000:]
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl", "train")]
    assert steps == sorted(set(steps)), f"updates logged twice: {steps}"
    _assert_same_run(reference, out, rtol=1e-4, atol=1e-5)


BN_RECIPE = {**RECIPE, "name": "dist_bn", "model": {"name": "wrn16_1"},
             "train": {**RECIPE["train"], "epochs": 1, "checkpoint_every_steps": 0}}


def _assert_close_weights(a: Path, b: Path, rtol: float, atol: float) -> float:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    worst = max(float((wa[k].double() - wb[k].double()).abs().max()) for k in wa if wa[k].is_floating_point())
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=rtol, atol=atol, msg=lambda m, k=key: f"{k}: {m}")
    return worst


def test_batchnorm_models_do_not_depend_on_the_process_count(setup):
    """With BatchNorm, 2 processes follow 1 process because the statistics span the global batch (train.sync_bn,
    on by default with several processes); per-process statistics (train.sync_bn=false) do not."""
    tmp, _, env, _ = setup
    recipe = tmp / "dist_bn.yaml"
    recipe.write_text(yaml.safe_dump(BN_RECIPE))
    one, two, per_process = tmp / "bn_one", tmp / "bn_two", tmp / "bn_per_process"
    _run([sys.executable, "-m", "timm_augmix_plugin.train", *_trainer(recipe, one)], env)
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2", "--num_machines",
              "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "timm_augmix_plugin.train"]
    _run([*launch, *_trainer(recipe, two)], env)
    _assert_close_weights(one, two, rtol=1e-3, atol=1e-4)
    _run([*launch, *_trainer(recipe, per_process, "train.sync_bn=false")], env)
    with pytest.raises(AssertionError):
        _assert_close_weights(one, per_process, rtol=1e-3, atol=1e-4)
