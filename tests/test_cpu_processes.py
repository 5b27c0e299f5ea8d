"""``accelerate launch --cpu --num_processes 2`` really starts two gloo processes for the plugin's entry points."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from timm_augmix_plugin.utils.cpu_processes import use_cpu

PROBE = '''
import sys
from timm_augmix_plugin.utils.cpu_processes import maybe_relaunch
code = maybe_relaunch("cpu_probe", sys.argv[1:])
if code is not None:
    sys.exit(code)
import torch
from accelerate import Accelerator
acc = Accelerator()
ranks = acc.gather(torch.tensor([acc.process_index])).tolist()
# one file per rank: lines printed by two processes onto one pipe can interleave
with open(f"result_{acc.process_index}.txt", "w") as f:
    f.write(f"RESULT {acc.process_index} {acc.num_processes} {acc.distributed_type.value} {ranks} {sys.argv[1:]}")
acc.end_training()  # as the plugin's entry points do: no live gloo threads at exit
'''


def _launch(tmp_path: Path, *launch_args: str) -> list[str]:
    (tmp_path / "cpu_probe.py").write_text(PROBE)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    launcher = Path(sys.executable).with_name("accelerate")
    proc = subprocess.run([str(launcher), "launch", *launch_args, "-m", "cpu_probe", "arg1"], env=env,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [f.read_text() for f in sorted(tmp_path.glob("result_*.txt"))]


def test_cpu_num_processes_2_gives_two_gloo_processes(tmp_path):
    lines = _launch(tmp_path, "--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
                    "--dynamo_backend", "no")
    assert lines == ["RESULT 0 2 MULTI_CPU [0, 1] ['arg1']", "RESULT 1 2 MULTI_CPU [0, 1] ['arg1']"]


def test_single_cpu_process_is_left_alone(tmp_path):
    lines = _launch(tmp_path, "--cpu", "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "no",
                    "--dynamo_backend", "no")
    assert lines == ["RESULT 0 1 NO [0] ['arg1']"]


@pytest.mark.parametrize("available", [True, False])
def test_cpu_is_used_when_asked_or_when_no_accelerator_exists(monkeypatch, available):
    """Training and eval-c share this rule (their Accelerator gets cpu=use_cpu(flag))."""
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: available)
    assert use_cpu(True) is True
    assert use_cpu(False) is (not available)
