"""The generic typed-YAML reader (``train/typed_yaml.py``) and the recipe sections that validate themselves."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from timm_augmix_plugin.train.recipe import Recipe
from timm_augmix_plugin.train.recipe_sections import (
    SECTIONS,
    AugMixSection,
    DataSection,
    EvalSection,
    LossSection,
    OptimSection,
    SchedSection,
    TrainSection,
)
from timm_augmix_plugin.train.typed_yaml import build_dataclass, coerce, load_yaml, type_name


@dataclass
class Box:
    """Not a recipe section: the reader knows nothing of recipes."""

    size: float = 1.0
    label: str | None = None
    kind: Literal["a", "b"] = "a"
    sides: list[int] = field(default_factory=list)


def test_build_dataclass_checks_keys_and_types_of_any_dataclass():
    box = build_dataclass(Box, load_yaml("size: 2\nlabel: null\nkind: b\nsides: [1, 2]"), "box", "f.yaml")
    assert box == Box(2.0, None, "b", [1, 2]) and isinstance(box.size, float)
    with pytest.raises(ValueError, match=r"f.yaml: unknown key 'sise' in section 'box'. Did you mean 'size'\?"):
        build_dataclass(Box, {"sise": 3}, "box", "f.yaml")
    with pytest.raises(TypeError, match=r"box.sides\[1\] must be int, got str"):
        build_dataclass(Box, {"sides": [1, "x"]}, "box", "f.yaml")
    with pytest.raises(ValueError, match="box.kind='c' is not one of 'a', 'b'"):
        build_dataclass(Box, {"kind": "c"}, "box", "f.yaml")
    with pytest.raises(TypeError, match="section 'box' must be a mapping"):
        build_dataclass(Box, [1], "box", "f.yaml")


def test_yaml_reads_exponent_floats_and_coerce_keeps_bools_out_of_numbers():
    assert load_yaml("lr: 1e-4")["lr"] == pytest.approx(1e-4)
    assert coerce(3, float, "k", "s") == 3.0
    with pytest.raises(TypeError, match="k must be int"):
        coerce(True, int, "k", "s")
    assert type_name(int | None) == "int | null"


@pytest.mark.parametrize("make, message", [
    (lambda: DataSection(batch_size=0), "data.batch_size must be >= 1"),
    (lambda: DataSection(dataset="folder"), "data.root is required"),
    (lambda: AugMixSection(num_splits=3), r"augmix.num_splits=3 .* needs augmix.enabled=true"),
    (lambda: AugMixSection(policy="augmix_paper-q"), "not a valid AugMix policy"),
    (lambda: LossSection(smoothing=1.0), "loss.smoothing must be in"),
    (lambda: OptimSection(lr=0.0), "optim.lr must be a positive number"),
    (lambda: SchedSection(name="multistep", decay_milestones=[5, 2]), "decay_milestones must be increasing"),
    (lambda: TrainSection(grad_accum_steps=2, max_steps_per_epoch=3), "must be a multiple of"),
    (lambda: EvalSection(every_epochs=0), "eval.every_epochs must be >= 1"),
])
def test_each_section_validates_itself(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_defaults_are_valid_and_rules_across_sections_stay_with_the_recipe():
    assert all(cls() is not None for cls in SECTIONS.values())
    with pytest.raises(ValueError, match="loss.jsd=true needs AugMix views"):
        Recipe(loss=LossSection(jsd=True))
    with pytest.raises(ValueError, match="warmup_epochs=3 must be smaller than train.epochs=2"):
        Recipe(sched=SchedSection(warmup_epochs=3), train=TrainSection(epochs=2))
    with pytest.raises(ValueError, match="must be divisible by"):
        Recipe(data=DataSection(batch_size=10), train=TrainSection(grad_accum_steps=3))
