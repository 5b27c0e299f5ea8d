"""make-c must never produce a mixed or shifted set (issue 15): a rerun with other settings is refused (or redone
with --overwrite), a truncated source image raises instead of being replaced by the next one, and an unwritable
--out is found before any image is read."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_make_c import make_folder, run_make_c

from timm_augmix_plugin.corruptions import writer


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "data")


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name != ".lock"}


@pytest.mark.parametrize("changed", [["--limit", "4"], ["--seed", "1"]])
def test_a_rerun_with_other_settings_is_refused_and_overwrite_redoes_it(folder, tmp_path, capsys, changed):
    out = tmp_path / "c"
    args = ["--data", str(folder), "--out", str(out), "--size", "32", "--workers", "0", "--corruptions", "contrast"]
    assert run_make_c(*args) == 0
    before = _snapshot(out)
    capsys.readouterr()
    assert run_make_c(*args[:-1], "contrast,brightness", *changed) == 2
    err = capsys.readouterr().err
    assert "already holds a -C set made differently" in err and changed[0].strip("-") in err and "--overwrite" in err
    assert _snapshot(out) == before  # nothing rewritten: no labels.npy of another size, no second make_c.json
    assert run_make_c(*args, *changed, "--overwrite") == 0
    n = 4 if changed[0] == "--limit" else 6
    assert np.load(out / "contrast.npy").shape[0] == np.load(out / "labels.npy").shape[0] == 5 * n
    if changed[0] == "--seed":
        assert np.load(out / "contrast.npy").tobytes() != before["contrast.npy"]


def test_a_truncated_source_image_raises_naming_the_file(folder, tmp_path, capsys):
    victim = sorted(folder.glob("class0/*.png"))[1]
    victim.write_bytes(victim.read_bytes()[:200])
    out = tmp_path / "c"
    assert run_make_c("--data", str(folder), "--out", str(out), "--size", "32", "--workers", "0",
                      "--corruptions", "contrast") == 2
    err = capsys.readouterr().err
    assert victim.name in err and "truncated or corrupt" in err
    assert not (out / "contrast.npy").exists()


def test_an_unwritable_out_is_refused_before_reading_images(folder, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setattr(writer, "make_cifar_layout", lambda *a, **k: pytest.fail("work started"))
    assert run_make_c("--data", str(folder), "--out", str(blocker / "c"), "--size", "32", "--workers", "0") == 2
    assert "is not a writable folder" in capsys.readouterr().err
