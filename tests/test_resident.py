"""JPEG packs, the device-resident trainer and the one-command GPU paper run (rehearsed on the CPU)."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from timm_augmix_plugin.train.recipe import load_recipe
from timm_augmix_plugin.train.resident import ResidentRun, epoch_inputs, random_crop_flip, train_resident
from timm_augmix_plugin.utils.packed_images import pack_jpegs, read_pack

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("cat", "dog", "frog")


def _jpeg(rng: np.random.Generator, size: int = 32) -> bytes:
    base = rng.integers(0, 256, (1, 1, 3))
    noise = rng.integers(-40, 40, (size, size, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=75)
    return buf.getvalue()


def _folder(root: Path, per_class: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for c in CLASSES:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / c / f"{i:04d}.jpg").write_bytes(_jpeg(rng))
    return root


def _tar(folder: Path, target: Path) -> Path:
    with tarfile.open(target, "w") as tar:
        for path in sorted(folder.rglob("*.jpg")):
            tar.add(path, arcname=f"./{path.relative_to(folder)}")
    return target


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("packs")
    for split, n, seed in (("train", 40, 0), ("test", 12, 1)):
        pack_jpegs(_folder(root / split, n, seed), root / f"cifar10-{split}.npz")
    return root


# ---- packs ------------------------------------------------------------------------------------------------------

def test_pack_restores_every_file_and_timms_order(tmp_path):
    folder = _folder(tmp_path / "imgs", 5)
    tar = _tar(folder, tmp_path / "imgs.tar")
    info = pack_jpegs(tar, tmp_path / "p.npz")
    pack = read_pack(tmp_path / "p.npz")
    assert info["images"] == len(pack) == 15 and info["prefix_bytes"] > 100  # quantisation + Huffman tables
    assert info["pack_bytes"] < info["source_bytes"]
    from timm.data import create_dataset

    ds = create_dataset("", root=str(tar))
    images = pack.decode(threads=2)
    assert images.shape == (15, 32, 32, 3) and images.dtype == np.uint8
    for i in range(len(ds)):
        img, label = ds[i]
        assert pack.jpeg_bytes(i) == (folder / pack.names[i]).read_bytes()
        assert np.array_equal(np.asarray(img), images[i]) and label == pack.labels[i]
    assert np.array_equal(pack.decode(threads=1, indices=[7, 0, 14]), images[[7, 0, 14]])  # only those decoded
    assert pack.classes == CLASSES
    out = pack.write_folder(tmp_path / "restored")
    assert sorted(p.read_bytes() for p in out.rglob("*.jpg")) == sorted(p.read_bytes() for p in folder.rglob("*.jpg"))


def test_pack_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pack_jpegs(tmp_path / "nope", tmp_path / "p.npz")
    folder = _folder(tmp_path / "imgs", 2)
    Image.new("RGB", (32, 32)).save(folder / "cat" / "9999.png")
    with pytest.raises(ValueError, match="not JPEGs"):
        pack_jpegs(folder, tmp_path / "p.npz")
    with pytest.raises(FileNotFoundError, match="pack_jpegs"):
        read_pack(tmp_path / "missing.npz")
    (folder / "cat" / "9999.png").unlink()
    pack_jpegs(folder, tmp_path / "p.npz")
    data = (tmp_path / "p.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="rebuild it"):
        read_pack(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a JPEG pack"):
        read_pack(tmp_path / "other.npz")


# ---- crop / flip and epoch inputs ------------------------------------------------------------------------------

def test_random_crop_flip_gives_crops_or_their_mirrors():
    images = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    index = torch.tensor([0, 5, 5, 2, 3, 1, 4, 0] * 8)
    out = random_crop_flip(padded, index, 8, torch.Generator().manual_seed(0))
    assert out.shape == (64, 3, 8, 8) and out.dtype == torch.uint8
    seen_offsets, flips = set(), 0
    for k, i in enumerate(index.tolist()):
        matches = [(dy, dx, f) for dy in range(3) for dx in range(3) for f in (False, True)
                   if torch.equal(out[k], (lambda c: c.flip(-1) if f else c)(padded[i, :, dy:dy + 8, dx:dx + 8]))]
        assert matches, f"output {k} is no crop of image {i}"
        seen_offsets.add(matches[0][:2])
        flips += matches[0][2]
    assert len(seen_offsets) > 4 and 0 < flips < 64  # offsets and flips vary per sample


def test_epoch_inputs_layout_and_clean_split():
    from timm_augmix_plugin.augmix import BatchedAugMix
    from timm_augmix_plugin.train.resident import _Normalize

    padded = torch.nn.functional.pad(torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8), (1, 1, 1, 1))
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(1))
    norm = _Normalize((0.5,) * 3, (0.25,) * 3, torch.device("cpu"))
    gen = torch.Generator().manual_seed(2)
    augmix = BatchedAugMix("augmix_paper", mean=(0.5,) * 3, std=(0.25,) * 3, generator=gen)
    jsd = epoch_inputs(padded, perm, 8, gen, augmix, norm, 3, chunk=4)
    assert jsd.shape == (3, 10, 8, 8, 3)
    crops = random_crop_flip(padded, perm[:4], 8, torch.Generator().manual_seed(2))
    assert torch.allclose(jsd[0, :4].permute(0, 3, 1, 2), norm(crops), atol=1e-6)  # split 0 = the clean crop
    assert not torch.allclose(jsd[1], jsd[2])
    standard = epoch_inputs(padded, perm, 8, torch.Generator().manual_seed(2), None, norm, 1, chunk=4)
    assert standard.shape == (1, 10, 8, 8, 3) and torch.allclose(standard[0, :4].permute(0, 3, 1, 2), norm(crops))


# ---- the trainer --------------------------------------------------------------------------------------------------

def _run(packs: Path, out: Path, *overrides: str, **kw) -> ResidentRun:
    recipe = load_recipe(ROOT / "recipes" / "cifar10_wrn40_2_augmix_jsd.yaml",
                         ["model.name=wrn16_1", "data.num_classes=3", "data.batch_size=16", "train.epochs=2",
                          "train.log_every_steps=2", *overrides])
    return ResidentRun(recipe, packs / "cifar10-train.npz", packs / "cifar10-test.npz", out, device="cpu",
                       checkpoint_every_epochs=1, **kw)


def _weights(out: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(out / "final" / "model.safetensors")


def test_resumed_run_equals_uninterrupted_run(packs, tmp_path):
    full = train_resident(_run(packs, tmp_path / "full"))
    assert full["epochs"] == 2 and full["global_step"] == 2 * (120 // 16)
    stopped = train_resident(_run(packs, tmp_path / "cut", stop_after_epochs=1))
    assert stopped["stopped_at"] == 1 and not (tmp_path / "cut" / "final").exists()
    resumed = train_resident(_run(packs, tmp_path / "cut"))
    assert resumed["global_step"] == full["global_step"]
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "cut")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    records = [json.loads(line) for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert sorted({r["step"] for r in records if r["kind"] == "eval"}) == [7, 14]
    import timm

    model = timm.create_model(f"local-dir:{tmp_path / 'full' / 'final'}", pretrained=True)
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 3)


def test_time_budget_plans_the_epochs(packs, tmp_path):
    summary = train_resident(_run(packs, tmp_path / "b", "train.epochs=50", time_budget_s=1e-3))
    assert summary["epochs"] == 1 and summary["recipe_epochs"] == 50  # nothing beyond the first epoch fits
    assert "epochs: 1" in (tmp_path / "b" / "recipe.yaml").read_text()


def test_checkpoint_errors(packs, tmp_path):
    train_resident(_run(packs, tmp_path / "r", stop_after_epochs=1))
    state = torch.load(tmp_path / "r" / "checkpoint.state.pt", weights_only=True)
    state["tag"] = 999
    torch.save(state, tmp_path / "r" / "checkpoint.state.pt")
    with pytest.raises(ValueError, match="different checkpoints"):
        train_resident(_run(packs, tmp_path / "r"))
    train_resident(_run(packs, tmp_path / "s", stop_after_epochs=1))
    recipe = load_recipe(ROOT / "recipes" / "cifar10_wrn40_2_standard.yaml",
                         ["model.name=wrn16_1", "data.num_classes=3", "data.batch_size=16"])
    with pytest.raises(ValueError, match="another output folder"):
        train_resident(ResidentRun(recipe, packs / "cifar10-train.npz", packs / "cifar10-test.npz", tmp_path / "s",
                                   device="cpu"))
    (tmp_path / "s" / "checkpoint.model.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable checkpoint file"):
        train_resident(_run(packs, tmp_path / "s"))
    for name in ("checkpoint.model.pt", "checkpoint.state.pt"):  # the fix the message names
        (tmp_path / "s" / name).unlink()
    assert train_resident(_run(packs, tmp_path / "s", "train.epochs=1"))["epochs"] == 1
    with pytest.raises(ValueError, match="fewer than one batch"):
        train_resident(_run(packs, tmp_path / "t", "data.batch_size=512"))


# ---- the one-command GPU run, rehearsed ------------------------------------------------------------------------

@pytest.mark.slow
def test_gpu_paper_script_smoke_end_to_end(packs, tmp_path):
    """scripts/gpu_paper_wrn40_2.py --smoke: make-c, both trainings, eval-c, cards, the returned files."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_paper_wrn40_2.py"), "--smoke", "--out", str(out),
                           "--work", str(tmp_path / "work"), "--packs", str(packs)],
                          capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = sorted(p.name for p in out.iterdir() if p.is_file())
    assert names == ["hub_augmix_jsd.tar", "hub_standard.tar", "run.log", "runs.tar", "summary.json"]
    assert len([p for p in out.rglob("*") if p.is_file()]) <= 8  # what a device call returns
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["runs"]) == {"standard", "augmix_jsd"}
    for run in summary["runs"].values():
        assert 0 <= run["mean_corruption_error"] <= 100 and run["epochs"] == 1
    with tarfile.open(out / "hub_augmix_jsd.tar") as tar:
        members = {Path(m).name for m in tar.getnames()}
    assert {"model.safetensors", "config.json", "README.md", "results.json"} <= members


def test_compiled_step_plumbing_matches_eager(packs, tmp_path):
    """--compile runs the training forward/backward through torch.compile (eager backend here: same numbers)."""
    eager = train_resident(_run(packs, tmp_path / "e", "train.epochs=1"))
    compiled = train_resident(_run(packs, tmp_path / "c", "train.epochs=1", compile="eager"))
    assert compiled["clean_error"] == eager["clean_error"]
    a, b = _weights(tmp_path / "e"), _weights(tmp_path / "c")
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)
    with pytest.raises(ValueError, match="is not one of"):
        train_resident(_run(packs, tmp_path / "x", compile="fast"))


def test_one_run_per_folder(packs, tmp_path):
    from timm_augmix_plugin.utils.run_lock import FolderInUseError, FolderLock

    with FolderLock(tmp_path / "busy"):
        with pytest.raises(FolderInUseError, match="in use"):
            train_resident(_run(packs, tmp_path / "busy"))
