"""In-process training runs on tiny synthetic data: what each mode feeds the model, the run's outputs (resolved
recipe, metrics log, checkpoints, exported weights), the NaN stop, gradient accumulation and the building blocks."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from conftest import SHARED_DATA

from timm_augmix_plugin.train import NonFiniteLossError, Recipe, engine, load_recipe, train
from timm_augmix_plugin.train.checkpointing import CheckpointManager
from timm_augmix_plugin.train.data import SeededSamples, build_datasets, build_loaders, split_batch
from timm_augmix_plugin.train.metrics_log import MetricsLog, read_metrics
from timm_augmix_plugin.train.synthetic import CLASS_NAMES, SyntheticShapes

BATCH = 16


pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")


def tiny_recipe(out: Path, mode: str = "augmix_jsd", **sections) -> Recipe:
    """A few-second recipe: a LayerNorm ViT on 16x16 synthetic images, 4 updates per epoch."""
    raw = {
        "name": "tiny",
        "model": {"name": "test_vit", "kwargs": {"img_size": 16, "patch_size": 4}},
        "data": {"dataset": "synthetic", "img_size": 16, "batch_size": BATCH, "num_workers": 0,
                 "train_samples": 4 * BATCH, "eval_samples": 40},
        "augmix": {"enabled": mode != "standard", "num_splits": 3 if mode == "augmix_jsd" else 1},
        "loss": {"jsd": mode == "augmix_jsd"},
        "optim": {"lr": 0.05},
        "train": {"epochs": 1, "output_dir": str(out), "log_every_steps": 1},
        "eval": {"batch_size": 20},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return Recipe.from_dict(raw)


def _safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


# ----------------------------------------------------------------------------------------------------------------
# Modes
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,rows", [("standard", BATCH), ("augmix", BATCH), ("augmix_jsd", 3 * BATCH)])
def test_each_mode_feeds_the_model_the_expected_batch(tmp_path, monkeypatch, mode, rows):
    seen: list[int] = []
    build = engine.build_model

    def build_and_watch(recipe):
        model = build(recipe)
        model.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[0]) if m.training else None)
        return model

    monkeypatch.setattr(engine, "build_model", build_and_watch)
    result = train(tiny_recipe(tmp_path / "run", mode))
    assert seen == [rows] * 4  # 4 updates, each one forward pass over B (standard / AugMix) or 3B (JSD) images
    records = read_metrics(tmp_path / "run" / "metrics.jsonl", kind="train")
    assert ("loss_consistency" in records[0]) == (mode == "augmix_jsd")
    assert math.isfinite(result.clean_error)


@pytest.mark.parametrize("num_splits,rows", [(3, 3 * BATCH), (1, BATCH)])
def test_batched_backend_augments_on_the_device_and_resumes_its_stream(tmp_path, monkeypatch, num_splits, rows):
    seen: list[torch.Tensor] = []
    build = engine.build_model

    def build_and_watch(recipe):
        model = build(recipe)
        model.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()) if m.training else None)
        return model

    monkeypatch.setattr(engine, "build_model", build_and_watch)
    recipe = tiny_recipe(tmp_path / "run", "augmix_jsd" if num_splits == 3 else "augmix",
                         augmix={"backend": "batched"}, train={"checkpoint_every_steps": 2})
    loader = build_loaders(recipe, (0.5,) * 3, (0.5,) * 3).train_loader
    crops, _ = next(iter(loader))
    assert crops.dtype == torch.uint8 and crops.shape == (BATCH, 3, 16, 16)  # the loader does no AugMix
    result = train(recipe)
    assert [x.shape[0] for x in seen] == [rows] * 4 and math.isfinite(result.clean_error)
    assert all(x.dtype == torch.float32 for x in seen)
    if num_splits == 3:
        clean, aug1, aug2 = torch.split(seen[0], BATCH)
        assert not torch.allclose(aug1, aug2) and not torch.allclose(clean, aug1)
    # its parameter stream is checkpoint state: restoring it replays the same views
    from timm_augmix_plugin.train.device_augmix import DeviceAugMix

    augmix = DeviceAugMix(recipe, (0.5,) * 3, (0.5,) * 3, torch.device("cpu"))
    state = augmix.state_dict()
    first = augmix(crops)
    assert not torch.equal(first, augmix(crops))
    augmix.load_state_dict(state)
    assert torch.equal(first, augmix(crops))


def test_jsd_batches_are_clean_plus_two_independent_augmix_views(tmp_path):
    recipe = tiny_recipe(tmp_path, "augmix_jsd")
    data = build_loaders(recipe, (0.5,) * 3, (0.5,) * 3)
    views, target = next(iter(data.train_loader))
    assert len(views) == 3 and all(v.shape == (BATCH, 3, 16, 16) for v in views) and target.shape == (BATCH,)
    joined, splits = split_batch(views)
    assert splits == 3 and joined.shape == (3 * BATCH, 3, 16, 16)
    assert torch.equal(joined[:BATCH], views[0])  # split-major: clean first
    assert not torch.allclose(views[1], views[2]) and not torch.allclose(views[0], views[1])


def _crop_paddings(transform) -> list[int]:
    """Paddings of every RandomCrop inside a transform (a Compose, possibly nested, or a tuple of them)."""
    from torchvision import transforms as T

    found: list[int] = []
    stack = list(transform) if isinstance(transform, tuple) else [transform]
    while stack:
        t = stack.pop()
        if isinstance(t, T.Compose):
            stack.extend(t.transforms)
        elif isinstance(t, T.RandomCrop):
            found.append(t.padding)
    return found


@pytest.mark.parametrize("img_size", [16, 32, 64])
@pytest.mark.parametrize("mode,backend", [("standard", "pil"), ("augmix", "pil"), ("augmix_jsd", "pil"),
                                          ("augmix_jsd", "batched")])
def test_every_training_path_crops_alike(tmp_path, img_size, mode, backend):
    """Standard, pil AugMix and batched AugMix share one crop: padding img_size // 8 (the paper's 4 px at 32)."""
    from PIL import Image

    from timm_augmix_plugin.train.data import build_train_transform

    recipe = tiny_recipe(tmp_path, mode, data={"img_size": img_size}, augmix={"backend": backend})
    transform = build_train_transform(recipe, (0.5,) * 3, (0.25,) * 3)
    assert _crop_paddings(transform) == [img_size // 8]
    with pytest.raises(ValueError, match="RGBA"):
        transform(Image.new("RGBA", (img_size, img_size)))


# ----------------------------------------------------------------------------------------------------------------
# A finished run and its outputs
# ----------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from accelerate.state import AcceleratorState

    out = tmp_path_factory.mktemp("finished") / "run"
    recipe = tiny_recipe(out, "augmix_jsd", model={"name": "wrn16_1", "kwargs": {}}, augmix={"split_bn": True},
                         data={"mean": [0.5] * 3, "std": [0.25] * 3},
                         train={"epochs": 2, "ema": True, "ema_decay": 0.9, "checkpoint_every_steps": 3})
    AcceleratorState._reset_state(True)
    result = train(recipe)
    AcceleratorState._reset_state(True)
    return recipe, result


def test_run_writes_resolved_recipe_metrics_and_checkpoints(finished_run):
    recipe, result = finished_run
    out = result.output_dir
    assert load_recipe(out / "recipe.yaml") == recipe
    train_records = read_metrics(out / "metrics.jsonl", kind="train")
    assert [r["step"] for r in train_records] == list(range(1, 9))
    for r in train_records:
        assert {"epoch", "loss", "loss_base", "loss_consistency", "lr", "images_per_s", "views_per_s"} <= set(r)
        assert r["loss"] == pytest.approx(r["loss_base"] + r["loss_consistency"], rel=1e-4, abs=1e-5)
    assert train_records[0]["lr"] > train_records[-1]["lr"]  # cosine, stepped per update
    evals = read_metrics(out / "metrics.jsonl", kind="eval")
    assert [e["epoch"] for e in evals] == [1, 2] and all("ema_clean_error" in e for e in evals)
    assert evals[-1]["clean_error"] == pytest.approx(result.clean_error)
    manager = CheckpointManager(out / "checkpoints", keep=recipe.train.keep_checkpoints)
    kept = manager.complete_checkpoints()
    assert [p.name for p in kept] == ["step_00000006", "step_00000008"]  # keep=2: mid-epoch step 6, end step 8
    assert manager.latest() == kept[-1]
    assert CheckpointManager.info(kept[-1])["epoch"] == 2


def test_final_weights_load_with_timm_and_reproduce_the_logged_error(finished_run):
    import timm

    recipe, result = finished_run
    model = timm.create_model(f"local-dir:{result.final_dir}", pretrained=True)
    assert tuple(model.pretrained_cfg["mean"]) == (0.5,) * 3 and tuple(model.pretrained_cfg["std"]) == (0.25,) * 3
    trained = _safetensors(CheckpointManager(result.output_dir / "checkpoints").latest() / "model.safetensors")
    assert any(".aux_bn." in k for k in trained)  # trained with split BN ...
    assert not any("aux_bn" in k for k in model.state_dict())  # ... whose extra statistics are training-only
    _, eval_ds = build_datasets(recipe, (0.5,) * 3, (0.25,) * 3)
    model.eval()
    with torch.no_grad():
        images = torch.stack([eval_ds[i][0] for i in range(len(eval_ds))])
        labels = torch.tensor([eval_ds[i][1] for i in range(len(eval_ds))])
        error = 100.0 * (model(images).argmax(-1) != labels).float().mean().item()
    assert error == pytest.approx(result.clean_error, abs=1e-4)
    ema = timm.create_model(f"local-dir:{result.ema_dir}", pretrained=True)
    pairs = zip(ema.state_dict().values(), model.state_dict().values(), strict=True)
    assert not all(torch.equal(a, b) for a, b in pairs)


def test_relaunch_of_a_finished_run_resumes_without_training(finished_run):
    recipe, result = finished_run
    before = read_metrics(result.output_dir / "metrics.jsonl")
    again = train(recipe)
    assert again.resumed_from is not None and again.global_step == result.global_step
    assert again.clean_error == pytest.approx(result.clean_error)
    assert read_metrics(result.output_dir / "metrics.jsonl") == before


def test_resuming_with_a_different_recipe_is_refused(finished_run):
    recipe, result = finished_run
    changed = Recipe.from_dict({**recipe.to_dict(), "optim": {**recipe.to_dict()["optim"], "lr": 0.5}})
    with pytest.raises(ValueError, match=r"different recipe \(changed: optim\.lr\).*train\.resume=never"):
        train(changed)
    longer = Recipe.from_dict({**recipe.to_dict(), "train": {**recipe.to_dict()["train"], "epochs": 5}})
    with pytest.raises(ValueError, match=r"changed: train\.epochs"):  # the schedule was built for 2 epochs
        train(longer)


# ----------------------------------------------------------------------------------------------------------------
# NaN stop
# ----------------------------------------------------------------------------------------------------------------
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    out = tmp_path / "run"
    recipe = tiny_recipe(out, "standard", optim={"lr": 1e12, "weight_decay": 0.0}, sched={"name": "none"},
                         train={"epochs": 3, "checkpoint_every_steps": 1})
    with pytest.raises(NonFiniteLossError, match=r"the loss is (nan|inf).*last good checkpoint .*step_\d+ is kept"
                                                 r".*Lower optim\.lr"):
        train(recipe)
    latest = CheckpointManager(out / "checkpoints").latest()
    assert latest is not None
    weights = _safetensors(latest / "model.safetensors")
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert not (out / "final").exists()
    last_step = CheckpointManager.info(latest)["global_step"]
    assert max(r["step"] for r in read_metrics(out / "metrics.jsonl")) <= last_step


# ----------------------------------------------------------------------------------------------------------------
# Gradient accumulation
# ----------------------------------------------------------------------------------------------------------------
def test_gradient_accumulation_matches_the_full_batch(tmp_path):
    full = train(tiny_recipe(tmp_path / "full", "standard"))
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(True)
    accum = train(tiny_recipe(tmp_path / "accum", "standard", train={"grad_accum_steps": 2}))
    a = _safetensors(full.final_dir / "model.safetensors")
    b = _safetensors(accum.final_dir / "model.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
    assert full.global_step == accum.global_step == 4


# ----------------------------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------------------------
def test_seeded_samples_depend_only_on_seed_epoch_and_index():
    from torchvision import transforms as T

    base = SyntheticShapes(8, img_size=16, seed=0, transform=T.Compose([T.RandomCrop(16, padding=4), T.ToTensor()]))
    ds = SeededSamples(base, seed=3)
    first = ds[5][0]
    torch.manual_seed(1234)  # the caller's RNG state must not matter ...
    assert torch.equal(ds[5][0], first)
    state = torch.get_rng_state()
    ds[5]
    assert torch.equal(torch.get_rng_state(), state)  # ... and is left untouched
    ds.set_epoch(1)
    assert any(not torch.equal(ds[i][0], SeededSamples(base, seed=3)[i][0]) for i in range(8))


def test_synthetic_data_is_deterministic_balanced_and_split():
    a = SyntheticShapes(20, img_size=16, seed=0)
    b = SyntheticShapes(20, img_size=16, seed=0)
    test = SyntheticShapes(20, img_size=16, seed=0, split="test")
    assert all(a.image(i).tobytes() == b.image(i).tobytes() for i in range(20))
    assert all(a.image(i).tobytes() != test.image(i).tobytes() for i in range(20))
    assert [a[i][1] for i in range(20)] == [i % len(CLASS_NAMES) for i in range(20)]
    with pytest.raises(ValueError, match="num_classes must be in 2..10"):
        SyntheticShapes(5, num_classes=11)


def test_checkpoint_manager_ignores_incomplete_checkpoints(tmp_path):
    ckpts = tmp_path / "checkpoints"
    (ckpts / "step_00000002").mkdir(parents=True)
    (ckpts / "step_00000002" / "checkpoint_complete.json").write_text('{"global_step": 2}')
    (ckpts / "step_00000004").mkdir()  # crashed before it was marked complete
    (ckpts / ".tmp-step_00000006").mkdir()
    (ckpts / "latest").write_text("step_00000004\n")
    manager = CheckpointManager(ckpts)
    assert manager.latest() == ckpts / "step_00000002"
    assert manager.complete_checkpoints() == [ckpts / "step_00000002"]


def test_metrics_log_truncation_and_torn_lines(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    for step in (1, 2, 3):
        log.write("train", step=step, loss=float("nan") if step == 3 else 1.0)
    with open(log.path, "a") as f:
        f.write('{"kind": "train", "st')  # a line cut short by a crash
    assert [r["loss"] for r in read_metrics(log.path)] == [1.0, 1.0, "nan"]
    log.truncate_after(2)
    assert [r["step"] for r in read_metrics(log.path)] == [1, 2]


def test_quickstart_command_trains_and_says_where_the_outputs_are(tmp_path, capsys):
    from timm_augmix_plugin.cli import quickstart

    out = tmp_path / "qs"
    code = quickstart.main(["--out", str(out), "data.train_samples=64", "data.batch_size=16", "data.eval_samples=32",
                            "data.num_workers=0", "train.epochs=1", "eval.batch_size=32"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Training loss:" in printed and f"local-dir:{out}/final" in printed
    for name in ("recipe.yaml", "metrics.jsonl", "metrics.png", "final/model.safetensors", "final/config.json"):
        assert (out / name).is_file(), name
    assert load_recipe(out / "recipe.yaml").mode == "augmix_jsd"




@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED_DATA / "train.tar").is_file(), reason="shared CIFAR-10 tar files not present")
def test_cpu_recipe_reads_the_shared_cifar10_tars(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # the recipe's ../shared paths are relative to the repo
    recipe = load_recipe(Path("recipes") / "cpu_cifar10_wrn16_1_augmix_jsd.yaml",
                         ["data.train_samples=32", "data.eval_samples=32", "data.batch_size=16", "data.num_workers=0",
                          "eval.batch_size=32"])
    data = build_loaders(recipe, (0.5,) * 3, (0.5,) * 3)
    assert (data.num_train, data.num_eval) == (32, 32)
    views, target = next(iter(data.train_loader))
    assert [tuple(v.shape) for v in views] == [(16, 3, 32, 32)] * 3 and int(target.max()) < 10
    images, labels = next(iter(data.eval_loader))
    assert images.shape == (32, 3, 32, 32)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_objective_reports_the_parts_of_the_jsd_loss(tmp_path, smoothing):
    """The logged parts add up to the loss: base = the loss on the clean split, consistency = alpha * JS."""
    import torch.nn.functional as F

    from timm_augmix_plugin.loss import js_divergence
    from timm_augmix_plugin.train.objective import Objective

    recipe = tiny_recipe(tmp_path, "augmix_jsd", loss={"smoothing": smoothing, "jsd_alpha": 12.0})
    logits = torch.randn(3 * 5, 4, generator=torch.Generator().manual_seed(0), requires_grad=True)
    target = torch.tensor([0, 1, 2, 3, 1])
    loss, parts = Objective(recipe)(logits, target)
    clean = F.cross_entropy(logits[:5], target, label_smoothing=smoothing)
    js = js_divergence([F.softmax(s, dim=1) for s in logits.split(5)])
    torch.testing.assert_close(parts["base"], clean.detach())
    torch.testing.assert_close(parts["consistency"], 12.0 * js.detach(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(loss, clean + 12.0 * js, rtol=1e-4, atol=1e-6)
    loss.backward()
    assert logits.grad is not None and logits.grad[5:].abs().sum() > 0  # the augmented splits get gradient


def test_objective_without_jsd_applies_the_loss_to_every_split(tmp_path):
    import torch.nn.functional as F

    from timm_augmix_plugin.train.objective import Objective

    recipe = tiny_recipe(tmp_path, "augmix", augmix={"num_splits": 2})
    logits = torch.randn(2 * 3, 4, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([0, 2, 3])
    loss, parts = Objective(recipe)(logits, target)
    torch.testing.assert_close(loss, F.cross_entropy(logits, target.repeat(2)))
    assert parts == {"base": loss.detach()}
    with pytest.raises(ValueError, match="split-major"):
        Objective(recipe)(logits[:5], target)


def test_build_optimizer_and_scheduler_follow_the_recipe(tmp_path):
    """The one place both trainers build the optimizer and the per-update schedule from a recipe."""
    recipe = tiny_recipe(tmp_path, "standard", optim={"lr": 0.05, "weight_decay": 1e-4},
                         sched={"name": "cosine", "min_lr": 1e-4}, train={"epochs": 2})
    model = torch.nn.Linear(3, 2)
    optimizer = engine.build_optimizer(recipe, model)
    assert optimizer.param_groups[0]["lr"] == 0.05
    scheduler = engine.build_scheduler(recipe, optimizer, updates_per_epoch=4)
    scheduler.step_update(num_updates=0)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    scheduler.step_update(num_updates=8)  # the end of the 2-epoch cosine
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    none = tiny_recipe(tmp_path, "standard", sched={"name": "none"})
    assert engine.build_scheduler(none, optimizer, updates_per_epoch=4) is None
