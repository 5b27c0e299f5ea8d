"""Training runs that must lose nothing and collide with nothing (issue 15): ``train.resume=never`` keeps the earlier
run until the new settings are built and then moves it aside, one run per output folder, an unwritable output
folder is found before any work, and a resumed run's metrics equal the uninterrupted run's for any pair of
checkpoint / logging intervals."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_train import tiny_recipe

from timm_augmix_plugin.train import Recipe, engine, train
from timm_augmix_plugin.train.checkpointing import CheckpointManager
from timm_augmix_plugin.train.metrics_log import read_metrics
from timm_augmix_plugin.utils.run_lock import FolderInUseError, FolderLock

pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")


def _recipe(out: Path, **train_kw) -> Recipe:
    """test_train's tiny AugMix + JSD recipe with 20 evaluation images and the ``train`` settings given."""
    return tiny_recipe(out, data={"eval_samples": 20}, train=train_kw)


def _with(recipe: Recipe, section: str, **values) -> Recipe:
    raw = recipe.to_dict()
    raw[section] = {**raw[section], **values}
    return Recipe.from_dict(raw)


def _reset():
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)


def test_resume_never_keeps_everything_until_the_new_settings_are_built_then_moves_it_aside(tmp_path):
    out = tmp_path / "run"
    first = train(_recipe(out))
    weights = (first.final_dir / "model.safetensors").read_bytes()
    metrics = (out / "metrics.jsonl").read_text()
    _reset()
    typo = _with(_with(_recipe(out), "train", resume="never"), "model", name="tset_vit")
    with pytest.raises(ValueError, match="not a timm model"):
        train(typo)
    assert (first.final_dir / "model.safetensors").read_bytes() == weights
    assert (out / "metrics.jsonl").read_text() == metrics and CheckpointManager(out / "checkpoints").latest()
    _reset()
    train(_with(_recipe(out), "train", resume="never"))
    (previous,) = (out / engine.PREVIOUS_RUNS).iterdir()
    assert (previous / "final" / "model.safetensors").read_bytes() == weights  # moved, not deleted
    assert (previous / "metrics.jsonl").read_text() == metrics and (previous / "checkpoints").is_dir()
    assert (out / "final" / "model.safetensors").is_file() and (out / "metrics.jsonl").is_file()


def test_one_run_per_output_folder(tmp_path):
    out = tmp_path / "run"
    with FolderLock(out):  # another live holder of the folder
        with pytest.raises(FolderInUseError, match=r"in use by a running job \(pid \d+.*another train\.output_dir"):
            train(_recipe(out))
    assert not (out / "checkpoints").exists()


def test_a_killed_holder_leaves_no_lock_behind(tmp_path):
    folder = tmp_path / "run"
    code = ("import sys, time; from timm_augmix_plugin.utils.run_lock import FolderLock; "
            f"FolderLock({str(folder)!r}).acquire(); print('locked', flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderInUseError, match=f"pid {holder.pid}"):
            FolderLock(folder).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        holder.stdout.close()
    FolderLock(folder).acquire().release()


def test_an_unwritable_output_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    built = []
    monkeypatch.setattr(engine, "build_model", lambda recipe: built.append(recipe))
    with pytest.raises(ValueError, match=r"train\.output_dir .*a_file/run' is not a writable folder"):
        train(_recipe(blocker / "run"))
    assert not built


def test_cli_reports_an_unwritable_output_folder_cleanly(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    recipe = tmp_path / "r.yaml"
    _recipe(blocker / "run").to_yaml(recipe)
    proc = subprocess.run([sys.executable, "-m", "timm_augmix_plugin.train", "--recipe", str(recipe)],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, TQDM_DISABLE="1"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "is not a writable folder" in proc.stderr and "Traceback" not in proc.stderr


class _Crash(Exception):
    pass


@pytest.mark.parametrize("log_every,checkpoint_every", [(3, 2), (2, 3), (4, 1)])
def test_resumed_metrics_equal_the_uninterrupted_run_whatever_the_intervals(tmp_path, monkeypatch, log_every,
                                                                           checkpoint_every):
    def recipe(out):
        return _recipe(out, epochs=2, log_every_steps=log_every, checkpoint_every_steps=checkpoint_every)

    reference = train(recipe(tmp_path / "reference"))
    _reset()
    evaluate = engine.evaluate

    def crash_in_the_first_evaluation(*args, **kwargs):  # after mid-epoch checkpoints, before the epoch's one
        raise _Crash

    monkeypatch.setattr(engine, "evaluate", crash_in_the_first_evaluation)
    out = tmp_path / "resumed"
    with pytest.raises(_Crash):
        train(recipe(out))
    monkeypatch.setattr(engine, "evaluate", evaluate)
    _reset()
    resumed = train(recipe(out))
    assert resumed.resumed_from is not None and int(resumed.resumed_from.name.split("_")[1]) < 4
    a = read_metrics(reference.output_dir / "metrics.jsonl", "train")
    b = read_metrics(out / "metrics.jsonl", "train")
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        for key in ("loss", "loss_base", "loss_consistency", "lr"):
            assert rb[key] == pytest.approx(ra[key], rel=1e-5, abs=1e-7), (ra["step"], key)


def _folder_recipe(out: Path, root: Path, workers: int = 0) -> Recipe:
    return Recipe.from_dict({
        "name": "folder",
        "model": {"name": "test_vit", "kwargs": {"img_size": 16, "patch_size": 4}},
        "data": {"dataset": "", "root": str(root), "num_classes": 2, "img_size": 16, "batch_size": 4,
                 "num_workers": workers, "mean": [0.5] * 3, "std": [0.25] * 3},
        "optim": {"lr": 0.05},
        "train": {"epochs": 1, "output_dir": str(out), "log_every_steps": 1},
        "eval": {"batch_size": 4},
    })


def test_a_truncated_training_image_stops_the_run_naming_it(tmp_path, image_folder):
    from timm_augmix_plugin.utils.images import UnreadableImageError

    victim = sorted(image_folder.glob("class1/*.png"))[2]
    victim.write_bytes(victim.read_bytes()[:120])
    with pytest.raises(UnreadableImageError, match=rf"{victim.name}.*truncated or corrupt"):
        train(_folder_recipe(tmp_path / "run", image_folder))
    recipe = tmp_path / "r.yaml"
    _folder_recipe(tmp_path / "run2", image_folder, workers=1).to_yaml(recipe)
    proc = subprocess.run([sys.executable, "-m", "timm_augmix_plugin.train", "--recipe", str(recipe)],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, TQDM_DISABLE="1"))
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert victim.name in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
