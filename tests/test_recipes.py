"""Recipe files and the recipe loader: every shipped recipe validates, the paper's hyper-parameters are in the paper
recipes, bad recipes fail with clear errors before any training, and recipes round-trip through YAML."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from timm_augmix_plugin.train import Recipe, check_data_paths, load_recipe, train
from timm_augmix_plugin.train.recipe import apply_overrides

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
ARCHS = {"wrn40_2": (100, 5e-4), "allconvnet": (100, 5e-4), "densenet40_12": (200, 1e-4),
         "resnext29_4x32d": (200, 5e-4)}


def _write(tmp_path: Path, data: dict, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


# ----------------------------------------------------------------------------------------------------------------
# The shipped recipes
# ----------------------------------------------------------------------------------------------------------------
def test_expected_recipe_files_exist():
    names = {p.stem for p in RECIPES.glob("*.yaml")}
    expected = {"quickstart", "imagenet_resnet50_augmix_jsd"}
    expected |= {f"{ds}_{arch}_{mode}" for ds in ("cifar10", "cifar100") for arch in ARCHS
                 for mode in ("standard", "augmix_jsd")}
    expected |= {f"cpu_cifar10_wrn16_1_{mode}" for mode in ("standard", "augmix", "augmix_jsd")}
    assert expected <= names, f"missing recipes: {sorted(expected - names)}"


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_recipe_loads_validates_and_round_trips(path, tmp_path):
    import timm

    recipe = load_recipe(path)
    assert recipe.name == path.stem
    assert timm.is_model(recipe.model.name), recipe.model.name
    resolved = tmp_path / "resolved.yaml"
    recipe.to_yaml(resolved)
    assert load_recipe(resolved) == recipe


@pytest.mark.parametrize("dataset,classes", [("cifar10", 10), ("cifar100", 100)])
@pytest.mark.parametrize("arch", sorted(ARCHS))
@pytest.mark.parametrize("mode", ["standard", "augmix_jsd"])
def test_paper_cifar_recipes_use_the_papers_hyper_parameters(dataset, classes, arch, mode):
    r = load_recipe(RECIPES / f"{dataset}_{arch}_{mode}.yaml")
    epochs, wd = ARCHS[arch]
    assert (r.model.name, r.data.dataset, r.data.num_classes) == (arch, f"torch/{dataset}", classes)
    assert (r.train.epochs, r.optim.weight_decay, r.optim.lr, r.optim.momentum) == (epochs, wd, 0.1, 0.9)
    assert r.optim.name == "sgd" and not r.optim.filter_bias_and_bn  # timm 'sgd' = Nesterov; decay on everything
    assert (r.sched.name, r.sched.min_lr, r.sched.warmup_epochs) == ("cosine", 1e-6, 0)
    assert (r.data.batch_size, r.eval.batch_size, r.train.seed, r.data.preset) == (128, 1000, 1, "cifar")
    assert r.data.mean == [0.5] * 3 and r.data.std == [0.5] * 3
    assert r.mode == mode
    if mode == "augmix_jsd":
        assert (r.augmix.policy, r.augmix.num_splits, r.loss.jsd_alpha) == ("augmix_paper", 3, 12.0)


def test_imagenet_recipe_matches_the_released_model():
    r = load_recipe(RECIPES / "imagenet_resnet50_augmix_jsd.yaml")
    assert (r.model.name, r.train.epochs, r.augmix.policy, r.mode) == ("resnet50", 180, "augmix_paper-s1", "augmix_jsd")
    assert (r.data.batch_size, r.optim.lr, r.optim.weight_decay, r.data.preset) == (256, 0.1, 1e-4, "imagenet")
    assert (r.sched.name, r.sched.decay_milestones) == ("multistep", [60, 120])


def test_cpu_recipes_share_everything_but_the_mode():
    recipes = {m: load_recipe(RECIPES / f"cpu_cifar10_wrn16_1_{m}.yaml") for m in ("standard", "augmix", "augmix_jsd")}
    assert {m: r.mode for m, r in recipes.items()} == {m: m for m in recipes}
    for section in ("model", "data", "optim", "sched", "train", "eval"):
        values = [getattr(r, section) for r in recipes.values()]
        assert all(v == values[0] for v in values), section
    r = recipes["standard"]
    assert r.data.root.endswith("cifar10-jpeg/train.tar") and r.data.eval_root.endswith("cifar10-jpeg/test.tar")
    assert r.train.epochs == 10 and r.model.name == "wrn16_1"


# ----------------------------------------------------------------------------------------------------------------
# Bad recipes: clear errors naming the key and the fix
# ----------------------------------------------------------------------------------------------------------------
def test_unknown_key_is_rejected_with_a_suggestion(tmp_path):
    path = _write(tmp_path, {"optim": {"lr": 0.1, "wieght_decay": 1e-4}})
    with pytest.raises(ValueError, match=r"unknown key 'wieght_decay' in section 'optim'.*Did you mean 'weight_decay'"):
        load_recipe(path)


def test_unknown_section_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"unknown top-level key 'optimizer'.*Did you mean 'optim'"):
        load_recipe(_write(tmp_path, {"optimizer": {"lr": 0.1}}))


@pytest.mark.parametrize("section,key,value,expected", [
    ("optim", "lr", "fast", r"optim\.lr must be float, got str 'fast'"),
    ("train", "epochs", 2.5, r"train\.epochs must be int, got float"),
    ("augmix", "enabled", "yes please", r"augmix\.enabled must be bool"),
    ("data", "mean", 0.5, r"data\.mean must be list\[float\] \| null"),
])
def test_wrong_type_is_rejected(tmp_path, section, key, value, expected):
    with pytest.raises(TypeError, match=expected):
        load_recipe(_write(tmp_path, {section: {key: value}}))


def test_wrong_choice_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"train\.mixed_precision='fp8' is not one of 'no', 'fp16', 'bf16'"):
        load_recipe(_write(tmp_path, {"train": {"mixed_precision": "fp8"}}))


@pytest.mark.parametrize("data,expected", [
    ({"loss": {"jsd": True}}, r"loss\.jsd=true needs AugMix views"),
    ({"augmix": {"enabled": True, "num_splits": 1}, "loss": {"jsd": True}}, r"augmix\.num_splits=3"),
    ({"augmix": {"enabled": True, "split_bn": True}}, r"split_bn=true needs augmix\.num_splits >= 2"),
    ({"augmix": {"enabled": True, "backend": "gpu"}}, r"augmix\.backend='gpu' is unknown.*pil.*batched"),
    ({"augmix": {"enabled": True, "policy": "augmix-m3-w3"}}, r"not a valid AugMix policy"),
    ({"augmix": {"num_splits": 3}}, r"needs augmix\.enabled=true"),
    ({"data": {"dataset": "", "root": None}}, r"data\.root is required"),
    ({"data": {"dataset": "imagenet-ish"}}, r"data\.dataset='imagenet-ish' is not supported"),
    ({"data": {"batch_size": 10}, "train": {"grad_accum_steps": 4}}, r"divisible by train\.grad_accum_steps=4"),
    ({"data": {"std": [0.2, 0.0, 0.2]}}, r"data\.std values must be > 0"),
    ({"optim": {"lr": -1.0}}, r"optim\.lr must be a positive number"),
    ({"sched": {"name": "multistep", "decay_milestones": [60, 30]}}, r"decay_milestones must be increasing"),
    ({"train": {"grad_accum_steps": 2, "max_steps_per_epoch": 3}}, r"multiple of train\.grad_accum_steps=2"),
])
def test_cross_field_rules(tmp_path, data, expected):
    with pytest.raises(ValueError, match=expected):
        load_recipe(_write(tmp_path, data))


def test_missing_dataset_path_fails_before_any_training(tmp_path):
    missing = tmp_path / "nowhere" / "train.tar"
    recipe = Recipe.from_dict({"data": {"dataset": "", "root": str(missing)},
                               "train": {"output_dir": str(tmp_path / "run")}})
    with pytest.raises(FileNotFoundError, match=r"data\.root=.*does not exist.*Point data\.root at the dataset"):
        check_data_paths(recipe)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        train(recipe)
    assert not (tmp_path / "run").exists()  # nothing was built or written


def test_missing_recipe_file():
    with pytest.raises(FileNotFoundError, match="Recipe file 'no/such.yaml' not found"):
        load_recipe("no/such.yaml")


def test_cli_reports_bad_recipes_cleanly(tmp_path):
    path = _write(tmp_path, {"optim": {"lr": 0.1}, "train": {"epohcs": 3}})
    proc = subprocess.run([sys.executable, "-m", "timm_augmix_plugin.train", "--recipe", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "unknown key 'epohcs' in section 'train'" in proc.stderr and "Did you mean 'epochs'" in proc.stderr
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------------------------------------------
# Overrides and round trip
# ----------------------------------------------------------------------------------------------------------------
def test_dotted_overrides_are_parsed_as_yaml(tmp_path):
    path = _write(tmp_path, {"optim": {"lr": 0.1}}, name="base.yaml")
    r = load_recipe(path, ["optim.lr=0.05", "data.mean=[0.5, 0.5, 0.5]", "train.ema=true", "name=other"])
    assert (r.optim.lr, r.data.mean, r.train.ema, r.name) == (0.05, [0.5, 0.5, 0.5], True, "other")
    assert load_recipe(path).name == "base"


@pytest.mark.parametrize("override,expected", [
    ("optim.lrr=0.1", r"unknown key 'lrr' in section 'optim'.*Did you mean 'lr'"),
    ("optimm.lr=0.1", r"unknown section 'optimm'"),
    ("optim.lr", r"not of the form section\.key=value"),
    ("a.b.c=1", r"one dot"),
])
def test_bad_overrides(override, expected):
    with pytest.raises(ValueError, match=expected):
        apply_overrides({}, [override])


def test_round_trip_of_a_non_default_recipe(tmp_path):
    recipe = Recipe.from_dict({
        "name": "rt", "description": "round trip",
        "model": {"name": "test_vit", "kwargs": {"img_size": 16, "patch_size": 4}, "drop_rate": 0.1},
        "data": {"img_size": 16, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "train_samples": 64},
        "augmix": {"enabled": True, "num_splits": 3, "split_bn": True, "policy": "augmix_paper-s2-w2"},
        "loss": {"jsd": True, "jsd_alpha": 6, "smoothing": 0.1},
        "sched": {"name": "multistep", "decay_milestones": [1, 2]},
        "train": {"epochs": 3, "ema": True, "grad_accum_steps": 2},
    })
    assert recipe.loss.jsd_alpha == 6.0 and isinstance(recipe.loss.jsd_alpha, float)
    recipe.to_yaml(tmp_path / "recipe.yaml")
    assert load_recipe(tmp_path / "recipe.yaml") == recipe
    assert Recipe.from_dict(recipe.to_dict()) == recipe


def test_every_recipe_is_installed_with_the_package_and_loads_by_name():
    from timm_augmix_plugin.train import packaged_recipes

    packaged = packaged_recipes()
    assert sorted(packaged) == sorted(p.stem for p in RECIPES.glob("*.yaml"))
    for name in ("quickstart", "cpu_cifar10_wrn16_1_augmix_jsd.yaml"):
        by_name = load_recipe(name, ["train.epochs=2"])
        assert by_name == load_recipe(RECIPES / Path(name).with_suffix(".yaml").name, ["train.epochs=2"])


def test_unknown_recipe_name_lists_the_packaged_ones():
    with pytest.raises(FileNotFoundError, match="packaged recipe: .*cifar10_wrn40_2_augmix_jsd.*quickstart"):
        load_recipe("cifar10_wrn40_2_augmix")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_recipe("some/dir/quickstart.yaml")  # a path with folders is never looked up by name


def test_quickstart_command_uses_the_packaged_recipe(tmp_path):
    from timm_augmix_plugin.cli.quickstart import quickstart_recipe

    out = tmp_path / "a: b #c"  # a path YAML would misread unless quoted
    assert quickstart_recipe(out) == load_recipe(RECIPES / "quickstart.yaml", [f"train.output_dir='{out}'"])
    assert str(quickstart_recipe(out).output_dir) == str(out)
