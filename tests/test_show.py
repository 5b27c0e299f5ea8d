"""`timm-augmix show`: the AugMix grid of an image, its views and chains, and its errors for bad input."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
from PIL import Image
from synthetic import make_image

from timm_augmix_plugin.augmix import AugMixPaper, parse_policy
from timm_augmix_plugin.cli import show as show_cli
from timm_augmix_plugin.visualize import draw_augmix_grid, load_image, make_augmix_views, save_augmix_grid


def run_show(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    show_cli.add_arguments(parser)
    return show_cli.run(parser.parse_args(argv))


@pytest.fixture
def image() -> Image.Image:
    return make_image(40, seed=3)


@pytest.fixture
def image_file(tmp_path, image):
    path = tmp_path / "photo.png"
    image.save(path)
    return path


class TestViews:
    def test_same_seed_same_views_other_seed_other_views(self, image):
        a = make_augmix_views(image, num_views=3, seed=5)
        b = make_augmix_views(image, num_views=3, seed=5)
        c = make_augmix_views(image, num_views=3, seed=6)
        for va, vb in zip(a, b):
            np.testing.assert_array_equal(va.mixed, vb.mixed)
            assert va.params == vb.params
        assert any(not np.array_equal(va.mixed, vc.mixed) for va, vc in zip(a, c))

    def test_view_is_the_plugins_augmix_of_its_params(self, image):
        policy = "augmix_paper-s3-w4-d2"
        views = make_augmix_views(image, policy, num_views=2, seed=0)
        aug = AugMixPaper(policy)
        for view in views:
            assert view.mixed.shape == (40, 40, 3) and view.mixed.dtype == np.float32
            np.testing.assert_array_equal(view.mixed, aug.transform(image, view.params).permute(1, 2, 0).numpy())
            assert len(view.chains) == 4 and all(len(chain) == 2 for chain in view.params.chains)

    def test_chains_are_what_was_mixed(self, image):
        """mixed = (1 - m) x + m sum_i w_i chain_i, with the chain images the grid shows."""
        for view in make_augmix_views(image, num_views=3, seed=1):
            m = view.params.skip_weight
            chains = sum(w * np.asarray(c, dtype=np.float64) / 255
                         for w, c in zip(view.params.chain_weights, view.chains))
            expected = (1 - m) * np.asarray(image, dtype=np.float64) / 255 + m * chains
            np.testing.assert_allclose(view.mixed, expected, atol=1e-5)

    def test_num_views_must_be_positive(self, image):
        with pytest.raises(ValueError, match="num_views"):
            make_augmix_views(image, num_views=0)


class TestGrid:
    def test_original_plus_views_with_policy_in_title(self, image):
        fig = draw_augmix_grid(image, "augmix_paper-w2", num_views=6, seed=0)
        shown = [ax for ax in fig.axes if ax.images]
        assert len(shown) == 7
        assert shown[0].get_title() == "original"
        assert [ax.get_title().split(",")[0] for ax in shown[1:]] == [f"view {i}" for i in range(1, 7)]
        title = fig._suptitle.get_text()
        assert "augmix_paper-w2" in title and parse_policy("augmix_paper-w2").to_policy() in title

    def test_chains_layout(self, image):
        fig = draw_augmix_grid(image, "augmix_paper-w3-d1", num_views=2, show_chains=True, seed=0)
        shown = [ax for ax in fig.axes if ax.images]
        assert len(shown) == 2 * (1 + 3 + 1)  # per row: original, 3 chains, the mix
        titles = [ax.get_title() for ax in shown]
        assert titles.count("original") == 2
        assert sum(t.startswith("mix, m=") for t in titles) == 2
        assert sum(t.startswith("w=") for t in titles) == 6


class TestCli:
    def test_writes_a_png(self, image_file, tmp_path, capsys):
        out = tmp_path / "grid.png"
        assert run_show([str(image_file), "--policy", "augmix_paper", "--out", str(out), "--num-views", "3"]) == 0
        with Image.open(out) as grid:
            assert grid.format == "PNG" and grid.width > grid.height > 100
        assert str(out) in capsys.readouterr().out

    def test_chains_and_seed_are_reproducible(self, image_file, tmp_path):
        a, b = tmp_path / "a.png", tmp_path / "b.png"
        for out in (a, b):
            assert run_show([str(image_file), "--out", str(out), "--num-views", "2", "--chains", "--seed", "4"]) == 0
        np.testing.assert_array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))

    @pytest.mark.parametrize("make_input, message", [
        (lambda d: d / "absent.png", "Image not found"),
        (lambda d: (d / "notes.png").write_text("not an image") and d / "notes.png", "not an image format"),
        (lambda d: Image.new("RGBA", (16, 16)).save(d / "alpha.png") or d / "alpha.png", "alpha channel"),
    ])
    def test_bad_image_files(self, tmp_path, capsys, make_input, message):
        assert run_show([str(make_input(tmp_path)), "--out", str(tmp_path / "g.png")]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "g.png").exists()

    def test_bad_policy_and_output(self, image_file, tmp_path, capsys):
        assert run_show([str(image_file), "--policy", "augmix-m3-w3", "--out", str(tmp_path / "g.png")]) == 2
        assert "augmix_paper" in capsys.readouterr().err
        assert run_show([str(image_file), "--out", str(tmp_path / "grid.gif")]) == 2
        assert ".png" in capsys.readouterr().err


def test_load_image_shrinks_large_images(tmp_path):
    path = tmp_path / "big.jpg"
    make_image(64, seed=0).resize((300, 150)).convert("L").save(path)
    img = load_image(path, max_side=100)
    assert img.mode == "RGB" and img.size == (100, 50)
    assert load_image(path, max_side=None).size == (300, 150)


def test_save_accepts_a_path(image_file, tmp_path):
    out = save_augmix_grid(image_file, tmp_path / "sub" / "grid.pdf", num_views=1)
    assert out.read_bytes().startswith(b"%PDF")
