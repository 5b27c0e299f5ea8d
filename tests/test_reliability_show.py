"""`timm-augmix show` on a truncated image and an unwritable --out: a clear error, no traceback (issue 15)."""
from __future__ import annotations

import pytest

from timm_augmix_plugin.cli.main import main


@pytest.fixture
def png(tmp_path, rgb_image):
    path = tmp_path / "img.png"
    rgb_image.resize((64, 64)).save(path)
    return path


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_png_is_reported(tmp_path, png, capsys, keep):
    data = png.read_bytes()
    png.write_bytes(data[: int(len(data) * keep)])
    assert main(["show", str(png), "--out", str(tmp_path / "grid.png"), "--num-views", "2"]) == 2
    err = capsys.readouterr().err
    assert "truncated or corrupt" in err and str(png) in err


def test_an_unwritable_out_is_reported_before_drawing(tmp_path, png, capsys, monkeypatch):
    from timm_augmix_plugin import visualize

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setattr(visualize, "save_augmix_grid", lambda *a, **k: pytest.fail("work started"))
    assert main(["show", str(png), "--out", str(blocker / "grid.png")]) == 2
    assert "is not a writable folder" in capsys.readouterr().err
