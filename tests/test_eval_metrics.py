"""Metric functions of the -C evaluation against hand-computed values, plus results.json schema validation."""
from __future__ import annotations

import copy
import json
import math
from typing import ClassVar

import numpy as np
import pytest

from timm_augmix_plugin import corruptions
from timm_augmix_plugin.evaluation import metrics
from timm_augmix_plugin.evaluation.results import (
    SCHEMA_VERSION,
    RobustnessResults,
    StabilityResults,
    load_results,
    read_results,
    validate_results,
    validation_problems,
    write_results,
)
from timm_augmix_plugin.evaluation.runner import Predictions
from timm_augmix_plugin.evaluation.summary import summarize

# Five samples, already in confidence order; with bin_size=2 the bins are [0, 2) and [2, 5).
CONF = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
CORRECT = np.array([0, 1, 1, 0, 1], dtype=bool)
# bin 1: conf 0.3, acc 0.5, weight 2/5 -> 0.4 * 0.2^2 = 0.016
# bin 2: conf 0.8, acc 2/3, weight 3/5 -> 0.6 * (2/15)^2 = 0.010666...
RMS_ALL = 100 * math.sqrt(0.016 + 0.6 * (0.8 - 2 / 3) ** 2)
RMS_QUIRK = 100 * math.sqrt(0.016)


class TestErrorsAndCE:
    def test_error_rate_percent(self):
        assert metrics.error_rate(np.array([1, 1, 0, 1])) == pytest.approx(25.0)
        assert metrics.error_rate(np.ones(7, dtype=bool)) == 0.0
        with pytest.raises(ValueError, match="empty"):
            metrics.error_rate(np.array([]))

    def test_mean_over_severities_equals_pooled_for_equal_sizes(self):
        correct = np.random.default_rng(0).random((5, 40)) > 0.3
        per_sev = {s + 1: metrics.error_rate(correct[s]) for s in range(5)}
        assert metrics.mean_over_severities(per_sev) == pytest.approx(metrics.error_rate(correct.ravel()))

    def test_alexnet_constants(self):
        # ALEXNET_ERR of the AugMix imagenet.py (= "Average" column of the robustness README table)
        published = [0.886428, 0.894468, 0.922640, 0.819880, 0.826268, 0.785948, 0.798360, 0.866816, 0.826572,
                     0.819324, 0.564592, 0.853204, 0.646056, 0.717840, 0.606500]
        got = [metrics.ALEXNET_MEAN_ERRORS[c] for c in corruptions.BENCHMARK_CORRUPTIONS]
        np.testing.assert_allclose(got, published, atol=1e-6)
        assert len(corruptions.BENCHMARK_CORRUPTIONS) == 15 and corruptions.BENCHMARK_CORRUPTIONS[0] == "gaussian_noise"
        assert tuple(corruptions.EXTRA_CORRUPTIONS) == ("speckle_noise", "gaussian_blur", "spatter", "saturate")
        assert 100 * metrics.ALEXNET_CLEAN_ERROR == pytest.approx(43.478)

    def test_matches_corruptions_package_names(self):
        assert "EXTRA_CORRUPTIONS" not in vars(metrics) and "BENCHMARK_CORRUPTIONS" not in metrics.__all__
        assert tuple(metrics.ALEXNET_ERRORS) == corruptions.ALL_CORRUPTIONS  # the table in the owner's order

    def test_alexnet_ce_by_hand(self):
        errors = {s: 50.0 for s in range(1, 6)}
        ref = metrics.alexnet_errors_percent("gaussian_noise")
        # 100 * (5 * 50) / (100 * (0.69528 + 0.82542 + 0.93554 + 0.98138 + 0.99452)) = 25000 / 443.214
        assert metrics.normalized_corruption_error(errors, ref) == pytest.approx(25000 / 443.214)
        # identical to the imagenet.py form 100 * (1 - mean acc) / ALEXNET_ERR[c]
        assert metrics.normalized_corruption_error(errors, ref) == pytest.approx(100 * 0.5 / 0.886428, rel=1e-6)
        # AlexNet itself scores exactly 100
        assert metrics.normalized_corruption_error(ref, ref) == pytest.approx(100.0)
        # a subset of severities is normalised by AlexNet's errors at the same severities
        assert metrics.normalized_corruption_error({1: 69.528}, ref) == pytest.approx(100.0)

    def test_relative_ce_by_hand(self):
        errors = {s: 50.0 for s in range(1, 6)}
        ref = metrics.alexnet_errors_percent("gaussian_noise")
        # sum(E - 20) = 150 ; sum(A - 43.478) = 443.214 - 217.39 = 225.824
        got = metrics.relative_corruption_error(errors, 20.0, ref, 43.478)
        assert got == pytest.approx(100 * 150 / 225.824)
        with pytest.raises(ValueError, match="undefined"):
            metrics.relative_corruption_error(errors, 20.0, {s: 10.0 for s in range(1, 6)}, 30.0)

    def test_mce_mean_of_15(self):
        ces = {c: float(i) for i, c in enumerate(corruptions.BENCHMARK_CORRUPTIONS)}
        assert metrics.mean_corruption_error(ces) == pytest.approx(7.0)
        with pytest.raises(ValueError, match="no value"):
            metrics.mean_corruption_error(ces, ["fog", "snowstorm"])

    def test_unknown_corruption_for_alexnet(self):
        with pytest.raises(KeyError, match="no AlexNet"):
            metrics.alexnet_errors_percent("laser_glare")


class TestCalibration:
    def test_bin_edges(self):
        assert metrics.adaptive_bin_edges(5, 2) == [(0, 2), (2, 5)]
        assert metrics.adaptive_bin_edges(250, 100) == [(0, 100), (100, 250)]
        assert metrics.adaptive_bin_edges(300, 100) == [(0, 100), (100, 200), (200, 300)]
        assert metrics.adaptive_bin_edges(7, 100) == [(0, 7)]

    def test_rms_all_bins_by_hand(self):
        assert metrics.rms_calibration_error(CONF, CORRECT, bin_size=2) == pytest.approx(RMS_ALL)
        assert RMS_ALL == pytest.approx(16.32993, abs=1e-4)

    def test_rms_reference_quirk_skips_last_bin(self):
        got = metrics.rms_calibration_error(CONF, CORRECT, bin_size=2, skip_last_bin=True)
        assert got == pytest.approx(RMS_QUIRK)  # last bin dropped, N still 5
        assert got < metrics.rms_calibration_error(CONF, CORRECT, bin_size=2)

    def test_rms_sorts_by_confidence(self):
        order = np.array([3, 0, 4, 2, 1])
        assert metrics.rms_calibration_error(CONF[order], CORRECT[order], bin_size=2) == pytest.approx(RMS_ALL)

    def test_rms_fewer_samples_than_a_bin(self):
        conf, correct = np.array([0.9, 0.7, 0.8]), np.array([1, 0, 1])
        assert metrics.rms_calibration_error(conf, correct) == pytest.approx(100 * abs(0.8 - 2 / 3))
        assert metrics.rms_calibration_error(conf, correct, skip_last_bin=True) == 0.0

    def test_rms_perfectly_calibrated_is_zero(self):
        conf = np.repeat([0.25, 0.75], 100)
        correct = np.concatenate([np.arange(100) < 25, np.arange(100) < 75])
        assert metrics.rms_calibration_error(conf, correct) == pytest.approx(0.0, abs=1e-9)

    def test_rms_rejects_mismatched_lengths(self):
        with pytest.raises(ValueError, match="differ in length"):
            metrics.rms_calibration_error(CONF, CORRECT[:3])

    def test_ece_by_hand(self):
        # 2 bins: (0, .5] holds .2,.4 (conf .3, acc .5); (.5, 1] holds .6,.8,1 (conf .8, acc 2/3)
        expected = 100 * (0.4 * 0.2 + 0.6 * (0.8 - 2 / 3))
        assert metrics.expected_calibration_error(CONF, CORRECT, num_bins=2) == pytest.approx(expected)
        assert expected == pytest.approx(16.0)

    def test_ece_bin_boundary_goes_left(self):
        bins = metrics.reliability_bins(np.array([0.5, 0.0, 1.0]), np.array([1, 1, 1]), num_bins=2)
        assert bins["count"].tolist() == [2, 1]

    def test_reliability_bins_empty_bins_are_nan(self):
        bins = metrics.reliability_bins(np.array([0.95, 0.97]), np.array([1, 0]), num_bins=10)
        assert bins["count"].sum() == 2 and bins["count"][9] == 2
        assert np.isnan(bins["accuracy"][0]) and bins["accuracy"][9] == pytest.approx(0.5)
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            metrics.reliability_bins(np.array([1.5]), np.array([1]))

    def test_nll(self):
        expected = -(math.log(0.5) + math.log(0.25)) / 2
        assert metrics.negative_log_likelihood(np.log([0.5, 0.25])) == pytest.approx(expected)
        logits = np.array([[0.0, math.log(3.0)], [1000.0, 0.0]])
        expected = (-math.log(0.75) + 0.0) / 2  # second sample: p(label 0) = 1 up to float precision
        assert metrics.nll_from_logits(logits, np.array([1, 0])) == pytest.approx(expected)

    def test_calibration_summary(self):
        got = metrics.calibration_summary(CONF, CORRECT, np.log(np.full(5, 0.5)), rms_bin_size=2, ece_bins=2)
        assert got == pytest.approx({"error": 40.0, "rms_calibration_error": RMS_ALL, "ece": 16.0,
                                     "nll": math.log(2)})


def _predictions(correct_by_group: dict[int, np.ndarray], rng: np.random.Generator) -> Predictions:
    groups = np.concatenate([np.full(len(v), g) for g, v in correct_by_group.items()])
    correct = np.concatenate(list(correct_by_group.values()))
    label = rng.integers(0, 4, len(correct))
    prediction = np.where(correct, label, (label + 1) % 4)
    confidence = rng.uniform(0.3, 1.0, len(correct))
    return Predictions(confidence, prediction, label, np.log(np.where(correct, confidence, 0.1)), groups)


class TestSummary:
    corruptions = ["gaussian_noise", "fog"]
    severities = [1, 2]
    groups = {0: ("gaussian_noise", 1), 1: ("gaussian_noise", 2), 2: ("fog", 1), 3: ("fog", 2)}
    calibration = {"rms_method": metrics.RMS_ALL_BINS, "rms_bin_size": 100, "ece_bins": 15}

    def _make(self):
        rng = np.random.default_rng(0)
        # errors: gn s1 25 %, gn s2 50 %, fog s1 0 %, fog s2 75 % (4 samples each); clean 10 % of 10
        pattern = {0: [1, 1, 1, 0], 1: [1, 1, 0, 0], 2: [1, 1, 1, 1], 3: [1, 0, 0, 0]}
        corrupted = _predictions({g: np.array(v, dtype=bool) for g, v in pattern.items()}, rng)
        clean = _predictions({0: np.arange(10) > 0}, rng)
        return clean, corrupted

    def test_cifar_style(self):
        clean, corrupted = self._make()
        out = summarize(clean=clean, corrupted=corrupted, groups=self.groups, corruptions=self.corruptions,
                        severities=self.severities, benchmark_style="cifar", calibration=self.calibration)
        assert out["errors"] == {"gaussian_noise": {"1": 25.0, "2": 50.0}, "fog": {"1": 0.0, "2": 75.0}}
        assert out["corruption_errors"] == {"gaussian_noise": 37.5, "fog": 37.5}
        assert out["mean_corruption_error"] == 37.5
        assert out["clean_error"] == pytest.approx(10.0)
        assert out["mce"] is None and out["relative_mce"] is None and out["mce_normalizer"] is None
        assert out["num_clean_samples"] == 10 and out["num_corrupted_samples"] == 16
        assert out["corrupted"]["error"] == pytest.approx(37.5)
        assert out["corrupted_by_corruption"]["fog"]["error"] == pytest.approx(37.5)

    def test_imagenet_style_alexnet(self):
        clean, corrupted = self._make()
        out = summarize(clean=clean, corrupted=corrupted, groups=self.groups, corruptions=self.corruptions,
                        severities=self.severities, benchmark_style="imagenet", calibration=self.calibration)
        ce_gn = 100 * (25 + 50) / (69.528 + 82.542)
        ce_fog = 100 * (0 + 75) / (67.474 + 76.050)
        assert out["normalized_corruption_errors"]["gaussian_noise"] == pytest.approx(ce_gn)
        assert out["mce"] == pytest.approx((ce_gn + ce_fog) / 2)
        rel_gn = 100 * (25 + 50 - 20) / (69.528 + 82.542 - 2 * 43.478)
        rel_fog = 100 * (0 + 75 - 20) / (67.474 + 76.050 - 2 * 43.478)
        assert out["relative_mce"] == pytest.approx((rel_gn + rel_fog) / 2)
        assert out["mce_normalizer"] == "alexnet"

    def test_baseline_normalisation(self):
        clean, corrupted = self._make()
        own = summarize(clean=clean, corrupted=corrupted, groups=self.groups, corruptions=self.corruptions,
                        severities=self.severities, benchmark_style="cifar", calibration=self.calibration)
        baseline = _baseline({"gaussian_noise": {1: 50.0, 2: 100.0}, "fog": {1: 25.0, 2: 50.0}}, 5.0)
        out = summarize(clean=clean, corrupted=corrupted, groups=self.groups, corruptions=self.corruptions,
                        severities=self.severities, benchmark_style="cifar", calibration=self.calibration,
                        baseline=baseline, baseline_name="base.json")
        assert out["normalized_corruption_errors"] == pytest.approx({"gaussian_noise": 50.0, "fog": 100.0})
        assert out["mce"] == pytest.approx(75.0) and out["mce_normalizer"] == "base.json"
        rel = {"gaussian_noise": 100 * (75 - 20) / (150 - 10), "fog": 100 * (75 - 20) / (75 - 10)}
        assert out["relative_mce"] == pytest.approx((rel["gaussian_noise"] + rel["fog"]) / 2)
        # a model normalised by itself scores 100
        selfnorm = summarize(clean=clean, corrupted=corrupted, groups=self.groups, corruptions=self.corruptions,
                             severities=self.severities, benchmark_style="cifar", calibration=self.calibration,
                             baseline=_baseline({c: {int(s): v for s, v in e.items()} for c, e in own["errors"].items()},
                                                own["clean_error"]), baseline_name="self")
        assert selfnorm["mce"] == pytest.approx(100.0) and selfnorm["relative_mce"] == pytest.approx(100.0)

    def test_baseline_missing_entries_listed(self):
        clean, corrupted = self._make()
        with pytest.raises(ValueError, match="fog/1, fog/2"):
            summarize(clean=clean, corrupted=corrupted, groups=self.groups, corruptions=self.corruptions,
                      severities=self.severities, benchmark_style="cifar", calibration=self.calibration,
                      baseline=_baseline({"gaussian_noise": {1: 1.0, 2: 2.0}}, 1.0))

    def test_no_clean_data(self):
        _, corrupted = self._make()
        out = summarize(clean=None, corrupted=corrupted, groups=self.groups, corruptions=self.corruptions,
                        severities=self.severities, benchmark_style="imagenet", calibration=self.calibration)
        assert out["clean"] is None and out["clean_error"] is None
        assert out["mce"] is not None and out["relative_mce"] is None


def _baseline(errors: dict[str, dict[int, float]], clean_error: float) -> RobustnessResults:
    """The typed results of a baseline run with these -C errors (only what normalisation reads)."""
    return RobustnessResults(raw={}, schema_version=SCHEMA_VERSION, model="base", architecture="base", num_classes=10,
                             weights_sha256="0" * 64, plugin_version="", created="", corruptions=tuple(errors),
                             errors=errors, clean_error=clean_error)


def valid_results() -> dict:
    block = {"error": 10.0, "rms_calibration_error": 3.0, "ece": 2.0, "nll": 0.4}
    return {
        "schema_version": SCHEMA_VERSION, "model": "wrn40_2", "architecture": "wrn40_2", "num_classes": 10,
        "weights_sha256": "a" * 64, "dataset": "cifar-10-c", "benchmark_style": "cifar",
        "corruptions": ["fog"], "severities": [1, 2], "clean_error": 5.0,
        "errors": {"fog": {"1": 7.0, "2": 9.0}}, "corruption_errors": {"fog": 8.0}, "mean_corruption_error": 8.0,
        "mce": None, "relative_mce": None, "mce_normalizer": None,
        "clean": dict(block), "corrupted": dict(block), "num_clean_samples": 10, "num_corrupted_samples": 20,
        "plugin_version": "0.1.0", "created": "2026-11-25T18:00:00Z",
    }


class TestSchema:
    def test_valid(self):
        validate_results(valid_results())
        assert validation_problems(valid_results()) == []

    @pytest.mark.parametrize(
        "mutate, message",
        [
            (lambda r: r.pop("weights_sha256"), "missing key 'weights_sha256'"),
            (lambda r: r.update(schema_version=3), "schema_version 3 is not supported"),
            (lambda r: r.update(benchmark_style="tiny"), "benchmark_style must be one of"),
            (lambda r: r["errors"]["fog"].pop("2"), "errors['fog'] has severities"),
            (lambda r: r["errors"]["fog"].update({"1": 120.0}), "percentage in [0, 100]"),
            (lambda r: r.update(mce=50.0), "mce and mce_normalizer"),
            (lambda r: r["corrupted"].pop("ece"), "corrupted.ece is missing"),
            (lambda r: r.update(clean_error="5"), "'clean_error' must be int or float or null"),
            (lambda r: r["corruption_errors"].pop("fog"), "corruption_errors['fog'] is missing"),
            (lambda r: r.update(weights_sha256="xyz"), "64 lowercase hex"),
            (lambda r: r.update(severities=[0, 1]), "integers in 1..5"),
        ],
    )
    def test_invalid(self, mutate, message):
        results = copy.deepcopy(valid_results())
        mutate(results)
        with pytest.raises(ValueError) as info:
            validate_results(results)
        assert message in str(info.value)

    def test_roundtrip(self, tmp_path):
        path = write_results(valid_results(), tmp_path / "sub" / "results.json")
        assert read_results(path) == valid_results()

    def test_read_errors(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="eval-c --out"):
            read_results(tmp_path / "nope.json")
        (tmp_path / "bad.json").write_text("{not json")
        with pytest.raises(ValueError, match="not valid JSON"):
            read_results(tmp_path / "bad.json")
        broken = valid_results()
        broken.pop("errors")
        (tmp_path / "broken.json").write_text(json.dumps(broken))
        with pytest.raises(ValueError, match="missing key 'errors'"):
            read_results(tmp_path / "broken.json")

    def test_write_refuses_invalid(self, tmp_path):
        results = valid_results()
        results["clean"] = None
        with pytest.raises(ValueError, match="clean is null but clean_error is set"):
            write_results(results, tmp_path / "r.json")
        assert not (tmp_path / "r.json").exists()


class TestTypedResults:
    """load_results: the one reader of results files, giving the typed view (-C, -P, or both)."""

    P_BLOCK: ClassVar[dict] = {"dataset": "cifar10-p", "layout": "cifar", "perturbations": ["rotate", "snow"],
               "frames": {"rotate": 31, "snow": 31}, "difficulty": 1, "num_videos": 10,
               "flip_probability": {"rotate": 4.0, "snow": 2.0}, "top5_distance": {"rotate": 0.5, "snow": 0.25},
               "averaged_perturbations": ["rotate", "snow"], "mean_flip_probability": 3.0, "mean_top5_distance": 0.375,
               "flip_rate": None, "top5_distance_ratio": None, "mfr": None, "mt5d": None, "normalizer": None,
               "source": {"limit": 10}}

    def test_corruption_results_typed(self, tmp_path):
        doc = valid_results()
        doc["averaged_corruptions"] = ["gaussian_noise", "fog"]
        results = load_results(write_results(doc, tmp_path / "r.json"))
        assert isinstance(results, RobustnessResults) and results.has_corruption_results
        assert results.raw == doc and results.perturbation is None
        assert results.severities == (1, 2) and results.errors["fog"][2] == doc["errors"]["fog"]["2"]
        assert results.corrupted["ece"] == 2.0 and results.num_corrupted_samples == 20
        assert results.extra == {"averaged_corruptions": ["gaussian_noise", "fog"]}
        assert read_results(tmp_path / "r.json") == doc  # the stored document, as the typed view's raw

    def test_perturbation_only_and_both(self, tmp_path):
        common = {k: valid_results()[k] for k in ("model", "architecture", "num_classes", "weights_sha256",
                                                  "plugin_version", "created")}
        only_p = load_results(write_results({"schema_version": 2, **common, "perturbation": self.P_BLOCK},
                                            tmp_path / "p.json"))
        assert not only_p.has_corruption_results and only_p.corruptions == () and only_p.dataset is None
        p = only_p.perturbation
        assert isinstance(p, StabilityResults) and p.perturbations == ("rotate", "snow") and p.mfr is None
        assert p.flip_probability == {"rotate": 4.0, "snow": 2.0} and p.extra == {"source": {"limit": 10}}
        both = load_results(write_results({**valid_results(), "schema_version": 2, "perturbation": self.P_BLOCK},
                                          tmp_path / "both.json"))
        assert both.has_corruption_results and both.perturbation == p

    def test_errors_name_the_file(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="eval-c --out"):
            load_results(tmp_path / "nope.json")
        (tmp_path / "bad.json").write_text(json.dumps({"schema_version": 1}))
        with pytest.raises(ValueError, match="bad.json: invalid eval-c/eval-p results"):
            load_results(tmp_path / "bad.json")
        with pytest.raises(ValueError, match="invalid -P results section"):
            StabilityResults.from_dict({**self.P_BLOCK, "mfr": 80.0})
