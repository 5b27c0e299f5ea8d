"""`timm-augmix compare`: tables and plot of several eval-c results, baseline first."""
from __future__ import annotations

import dataclasses
import json

import pytest
from PIL import Image
from synthetic import make_results

from timm_augmix_plugin.cli.main import main
from timm_augmix_plugin.evaluation.compare import check_comparable, per_corruption_table, summary_table
from timm_augmix_plugin.evaluation.results import RobustnessResults


def _docs():
    # make_results: per-corruption errors 19.0 / 20.5 / 22.0 (mean 20.5), clean 5.17; offset shifts every -C error
    return [("standard", make_results("a" * 64, "wrn16_1")), ("augmix_jsd", make_results("b" * 64, "wrn16_1", offset=-5))]


def _runs():
    return [(name, RobustnessResults.from_dict(doc)) for name, doc in _docs()]


def test_summary_table_gives_relative_changes_against_the_first_run():
    lines = summary_table(_runs()).splitlines()
    assert lines[2] == "| standard | 5.17 | 20.50 |  | 15.33 |  | 3.25 | 9.87 |"
    # mean CE 15.5 vs 20.5 = -24.4 %; corruption-induced 10.33 vs 15.33 points = -32.6 %
    assert lines[3] == "| augmix_jsd | 5.17 | 15.50 | -24.4 % | 10.33 | -32.6 % | 3.25 | 9.87 |"


def test_per_corruption_table_has_one_row_per_corruption():
    lines = per_corruption_table(_runs()).splitlines()
    assert lines[0] == "| corruption | standard % | augmix_jsd % | vs first |"
    assert lines[2:] == ["| gaussian_noise | 19.00 | 14.00 | -26.3 % |", "| fog | 20.50 | 15.50 | -24.4 % |",
                         "| jpeg_compression | 22.00 | 17.00 | -22.7 % |"]


@pytest.mark.parametrize("key,value", [("num_corrupted_samples", 750), ("corruptions", ["fog"]),
                                       ("severities", [1, 2])])
def test_runs_evaluated_differently_are_refused(key, value):
    runs = _runs()
    runs[1] = (runs[1][0], dataclasses.replace(runs[1][1], **{key: tuple(value) if isinstance(value, list) else value}))
    with pytest.raises(ValueError, match=f"evaluated differently \\({key}"):
        check_comparable(runs)


def test_cli_prints_tables_and_writes_the_plot(tmp_path, capsys):
    specs = []
    for name, r in _docs():
        (tmp_path / f"{name}.json").write_text(json.dumps(r))
        specs.append(f"{name}={tmp_path / f'{name}.json'}")
    plot = tmp_path / "cmp.png"
    assert main(["compare", *specs, "--per-corruption", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "| augmix_jsd | 5.17 | 15.50 | -24.4 %" in out and "| fog | 20.50 | 15.50 | -24.4 % |" in out
    with Image.open(plot) as im:
        assert im.size[0] > im.size[1] > 300


@pytest.mark.parametrize("spec,message", [("nofile.json", "NAME=path"), ("x=missing.json", "does not exist"),
                                          ("a={ok}", "unique")])
def test_cli_bad_arguments_name_the_problem(tmp_path, capsys, spec, message):
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(make_results("a" * 64, "wrn16_1")))
    assert main(["compare", f"a={ok}", spec.format(ok=ok)]) == 2
    assert message in capsys.readouterr().err
