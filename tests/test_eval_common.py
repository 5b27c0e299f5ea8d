"""What eval-c and eval-p share: the config base and its checks, the setup, the batched forward loop
(runner.forward_batches) and the CLI run skeleton (cli/shared_options)."""
from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from timm_augmix_plugin.cli import eval_c, eval_p
from timm_augmix_plugin.cli.shared_options import config_from_args, run_evaluation
from timm_augmix_plugin.evaluation import _common
from timm_augmix_plugin.evaluation.p_pipeline import EvalPConfig, evaluate_perturbations
from timm_augmix_plugin.evaluation.pipeline import EvalCConfig
from timm_augmix_plugin.evaluation.runner import forward_batches

pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")  # the evaluations create an Accelerator (conftest)


# ------------------------------------------------------------------------------------------------------ config base
@pytest.mark.parametrize("cls, flag", [(EvalCConfig, "--c-data"), (EvalPConfig, "--p-data")])
def test_both_configs_share_fields_and_checks(cls, flag):
    assert cls.BENCHMARK.data_flag == flag
    assert {"model", "out", "checkpoint", "img_size", "batch_size", "workers", "limit", "seed", "plots_dir"} <= {
        f for f in cls.__dataclass_fields__}
    with pytest.raises(ValueError, match=f"pass {flag} DIR"):
        cls(model="m", out="o").check()
    with pytest.raises(ValueError, match=f"drop {flag}"):
        cls(model="m", out="o", generate=True, clean_data="c", **{flag[2:].replace("-", "_"): "d"}).check()
    with pytest.raises(ValueError, match="--workers must be >= 0, got -1"):
        cls(model="m", out="o", generate=True, clean_data="c", workers=-1).check()
    with pytest.raises(ValueError, match="--limit must be >= 1"):
        cls(model="m", out="o", generate=True, clean_data="c", limit=0).check()
    with pytest.raises(ValueError, match="--layout must be one of"):
        cls(model="m", out="o", generate=True, clean_data="c", layout="nope").check()


def test_each_config_keeps_its_own_defaults_and_checks():
    assert EvalCConfig(model="m", out="o").batch_size == 256 and EvalPConfig(model="m", out="o").batch_size == 8
    with pytest.raises(ValueError, match="--ece-bins must be >= 1"):
        EvalCConfig(model="m", out="o", c_data="d", ece_bins=0).check()
    with pytest.raises(ValueError, match="--difficulty must be >= 1"):
        EvalPConfig(model="m", out="o", p_data="d", difficulty=0).check()
    # eval-c reads --clean-data whenever given, eval-p for --generate only
    assert EvalCConfig(model="m", out="o", clean_data="c").reads_clean_data()
    assert not EvalPConfig(model="m", out="o", clean_data="c").reads_clean_data()
    assert str(EvalPConfig(model="m", out="r/x.json").plots_folder) == "r"


def test_default_dataset_names():
    assert EvalCConfig(model="m", out="o", c_data="data/CIFAR-10-C/").default_dataset_name() == "cifar-10-c"
    assert EvalPConfig(model="m", out="o", p_data="data/CIFAR-10-P").default_dataset_name() == "cifar-10-p"
    generated = {"generate": True, "clean_data": "data/CIFAR10/test.tar"}
    assert EvalCConfig(model="m", out="o", **generated).default_dataset_name() == "test-c-generated"
    assert EvalPConfig(model="m", out="o", **generated).default_dataset_name() == "test-p-generated"


def test_eval_p_checks_its_output_before_the_evaluation(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setattr(_common, "load_model", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(ValueError, match="--out"):
        evaluate_perturbations(EvalPConfig(model="m", out=str(blocker / "r.json"), p_data=str(tmp_path)))


# ---------------------------------------------------------------------------------------------------- forward loop
class _Linear(torch.nn.Module):
    def __init__(self, classes: int = 3):
        super().__init__()
        self.fc = torch.nn.Linear(2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def test_forward_batches_gathers_named_outputs_in_order():
    torch.manual_seed(0)
    model = _Linear()
    x = torch.randn(7, 2)
    labels = torch.arange(7)
    out = forward_batches(model, TensorDataset(x, labels), lambda logits, batch: {
        "pred": logits.argmax(1), "label": batch[1]}, num_classes=3, batch_size=3, num_workers=0)
    with torch.no_grad():
        expected = model(x).argmax(1).numpy()
    np.testing.assert_array_equal(out["pred"], expected)
    np.testing.assert_array_equal(out["label"], np.arange(7))
    # inputs builds the model input from the batch (eval-p's video frames)
    doubled = forward_batches(model, TensorDataset(x / 2, labels), lambda logits, batch: {"pred": logits.argmax(1)},
                              num_classes=3, batch_size=4, num_workers=0, inputs=lambda batch: batch[0] * 2)
    np.testing.assert_array_equal(doubled["pred"], expected)


def test_forward_batches_refuses_wrong_logits_and_empty_data():
    ds = TensorDataset(torch.zeros(2, 2), torch.zeros(2))
    with pytest.raises(ValueError, match=r"expected \(batch, 5\)"):
        forward_batches(_Linear(), ds, lambda logits, batch: {}, num_classes=5, num_workers=0)
    with pytest.raises(ValueError, match="videos: nothing here"):
        forward_batches(_Linear(), TensorDataset(torch.zeros(0, 2)), lambda logits, batch: {}, num_classes=3,
                        num_workers=0, desc="videos", empty="nothing here")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        forward_batches(_Linear(), ds, lambda logits, batch: {}, num_classes=3, batch_size=0)


# ---------------------------------------------------------------------------------------------------- CLI skeleton
def _args(module, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(argv)


def test_config_from_args_fills_every_field_from_its_option():
    args = _args(eval_p, ["--model", "m", "--out", "o", "--p-data", "d", "--difficulty", "2", "--cpu"])
    cfg = config_from_args(EvalPConfig, args)
    assert (cfg.model, cfg.out, cfg.p_data, cfg.difficulty, cfg.batch_size) == ("m", "o", "d", 2, 8)
    c = eval_c.config_from_args(_args(eval_c, ["--model", "m", "--out", "o", "--c-data", "d", "--ece-bins", "9"]))
    assert isinstance(c, EvalCConfig) and c.ece_bins == 9 and c.extra == {}


def test_run_evaluation_prints_the_summary_or_the_error(tmp_path, capsys):
    args = _args(eval_p, ["--model", "m", "--out", str(tmp_path / "r.json"), "--cpu"])

    def works(cfg, accelerator):
        assert isinstance(cfg, EvalPConfig) and accelerator is not None
        return {"n": 3}

    assert run_evaluation(args, "eval-p", EvalPConfig, works, lambda r: f"summary {r['n']}") == 0
    assert capsys.readouterr().out == f"summary 3\nwrote {tmp_path / 'r.json'}\n"

    def fails(cfg, accelerator):
        raise FileNotFoundError("no such -P set")

    assert run_evaluation(args, "eval-p", EvalPConfig, fails, str) == 2
    captured = capsys.readouterr()
    assert captured.err == "timm-augmix eval-p: error: no such -P set\n" and captured.out == ""
