"""Compare the eval-c results of several runs: Markdown tables and a comparison plot.

Runs are ``(name, results)`` pairs, the results as :func:`~timm_augmix_plugin.evaluation.results.load_results`
reads them. The first run is the baseline of every relative change. Besides the mean corruption error, the tables give the
*corruption-induced* error (mean corruption error minus clean error): what the corruptions add on top of the
clean error. When a short schedule leaves the clean error high, that part is where robustness training shows.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.figures import save_figure
from .results import RobustnessResults

__all__ = ["check_comparable", "check_comparable_stability", "corruption_induced_error", "per_corruption_table",
           "per_perturbation_table", "plot_comparison", "plot_stability_comparison", "stability_table", "summary_table"]

Run = tuple[str, RobustnessResults]


def check_comparable(runs: Sequence[Run]) -> list[str]:
    """Refuse runs that were not evaluated on the same images (hash of the evaluated set, corruptions, severities,
    numbers of images); return warnings for what cannot be checked.

    Results written since ``evaluated_images_sha256`` exists carry a hash of every evaluated image with its label and
    split; runs whose hashes differ are refused. Older results lack it: they are compared on the rest, with a warning
    (and their recorded ``source`` data locations are shown when they differ).

    Raises:
        ValueError: naming the first run that differs from the baseline, and how.
    """
    if len(runs) < 1:
        raise ValueError("Give at least one NAME=results.json to compare.")
    names = [name for name, _ in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"Run names must be unique, got {names}.")
    warnings: list[str] = []
    base_name, base = runs[0]
    for name, r in runs[1:]:
        for key in ("corruptions", "severities", "num_corrupted_samples", "num_clean_samples"):
            mine, theirs = _c_field(r, key), _c_field(base, key)
            if list(np.atleast_1d(mine)) != list(np.atleast_1d(theirs)):
                raise ValueError(
                    f"{name!r} and {base_name!r} were evaluated differently ({key}: {mine} vs {theirs}); "
                    "rerun eval-c on the same -C data with the same --limit so the errors compare.")
        for part in ("corrupted", "clean"):
            mine, theirs = _images_hash(r, part), _images_hash(base, part)
            if mine and theirs and mine != theirs:
                raise ValueError(
                    f"{name!r} and {base_name!r} were evaluated on different {part} images (evaluated_images_sha256."
                    f"{part}: {mine[:12]}... vs {theirs[:12]}...), although their counts match; rerun eval-c on the "
                    "same -C data (same files, --limit, --seed) so the errors compare.")
        unknown = [n for n, res in ((base_name, base), (name, r)) if not _images_hash(res, "corrupted")]
        if unknown:
            mine, theirs = r.extra.get("source") or {}, base.extra.get("source") or {}
            source = [f"{k}: {mine.get(k)!r} vs {theirs.get(k)!r}"
                      for k in _SOURCE_KEYS if mine.get(k) != theirs.get(k)]
            warnings.append(
                f"{' and '.join(repr(n) for n in dict.fromkeys(unknown))} record no hash of the evaluated images "
                f"(results.json from before evaluated_images_sha256): unknown whether {name!r} and {base_name!r} "
                "saw the same images; only their counts were checked"
                + (f" (recorded sources differ: {'; '.join(source)})" if source else "") + ".")
    return list(dict.fromkeys(warnings))


_SOURCE_KEYS = ("layout", "c_data", "clean_data", "limit_per_split", "generate_seed")


def _shown(value: Any) -> Any:
    """A field as the document stores it (lists, not tuples), for messages."""
    return list(value) if isinstance(value, tuple) else value


def _c_field(results: RobustnessResults, key: str) -> Any:
    """A -C field as stored (None for a document without -C results)."""
    return _shown(getattr(results, key)) if results.has_corruption_results else None


def _images_hash(results: RobustnessResults, part: str) -> str | None:
    hashes = results.evaluated_images_sha256
    return hashes.get(part) if hashes is not None else None


def _relative(value: float | None, baseline: float | None) -> str:
    return f"{100.0 * (value / baseline - 1.0):+.1f} %" if baseline and value is not None else "n/a"


def corruption_induced_error(results: RobustnessResults) -> float | None:
    """Mean corruption error minus clean error, in points (None for results evaluated without clean data)."""
    if results.clean_error is None or results.mean_corruption_error is None:
        return None
    return float(results.mean_corruption_error - results.clean_error)


def summary_table(runs: Sequence[Run]) -> str:
    """One row per run: clean error, mean corruption error, corruption-induced error, RMS calibration (Markdown)."""
    check_comparable(runs)
    return _per_run_table(runs, [
        ("clean error %", lambda r: r.clean_error, ".2f", False),
        ("mean corruption error %", lambda r: r.mean_corruption_error, ".2f", True),
        ("corruption-induced error (points)", corruption_induced_error, ".2f", True),
        ("RMS calib. clean %", lambda r: (r.clean or {}).get("rms_calibration_error"), ".2f", False),
        ("RMS calib. corrupted %", lambda r: r.corrupted["rms_calibration_error"], ".2f", False),
    ])


#: A column of a per-run table: its title, a run's value, the value's format, and whether a "vs first" column follows.
_Column = tuple[str, Callable[[RobustnessResults], Any], str, bool]


def _per_run_table(runs: Sequence[Run], columns: Sequence[_Column]) -> str:
    """One row per run (Markdown): the run's name, then each column's value ("n/a" for None), each "vs first" column
    with the change against the first run (empty in the first run's row)."""
    titles = ["run"]
    for title, _, _, versus in columns:
        titles += [title, "vs first"] if versus else [title]
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    base = runs[0][1]
    for i, (name, r) in enumerate(runs):
        cells = [name]
        for _, value, spec, versus in columns:
            v = value(r)
            cells.append("n/a" if v is None else format(v, spec))
            if versus:
                cells.append("" if i == 0 else _relative(v, value(base)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_corruption_table(runs: Sequence[Run]) -> str:
    """One row per corruption: each run's error (mean over severities) and its change against the first run."""
    check_comparable(runs)
    return _per_name_table(runs, "corruption", runs[0][1].corruptions, lambda r: r.corruption_errors)


def _per_name_table(runs: Sequence[Run], label: str, names: Sequence[str],
                    values: Callable[[RobustnessResults], Mapping[str, float]]) -> str:
    """One row per name: the first run's value, then each other run's value and its change against the first."""
    header = f"| {label} | " + " | ".join(
        [f"{runs[0][0]} %"] + [f"{name} % | vs first" for name, _ in runs[1:]]) + " |"
    lines = [header, "|---|" + "---|" * (1 + 2 * (len(runs) - 1))]
    base = values(runs[0][1])
    for n in names:
        cells = [f"{base[n]:.2f}"]
        for _, r in runs[1:]:
            v = values(r)[n]
            cells += [f"{v:.2f}", _relative(v, base[n])]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_comparison(runs: Sequence[Run], path: str | os.PathLike) -> Path:
    """Left: mean error over the corruptions vs severity (0 = clean), one line per run. Right: error per corruption
    (mean over severities), one bar per run, with each run's clean error dashed."""
    from matplotlib.figure import Figure

    check_comparable(runs)
    corruptions = list(runs[0][1].corruptions)
    fig = Figure(figsize=(12, 5))
    curve, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    width = 0.8 / len(runs)
    x = np.arange(len(corruptions))
    for i, (name, r) in enumerate(runs):
        sev = list(r.severities)
        mean = [float(np.mean([r.errors[c][s] for c in corruptions])) for s in sev]
        has_clean = r.clean_error is not None
        curve.plot([0, *sev] if has_clean else sev, [r.clean_error, *mean] if has_clean else mean, marker="o",
                   label=f"{name} ({r.mean_corruption_error:.1f}%)")
        drawn = bars.bar(x + (i - (len(runs) - 1) / 2) * width, [r.corruption_errors[c] for c in corruptions],
                         width, label=name)
        if has_clean:
            bars.axhline(r.clean_error, color=drawn.patches[0].get_facecolor(), ls="--", lw=1,
                         label=f"{name} clean error")
    curve.set_xticks([0, *sev])
    curve.set_xticklabels(["clean", *map(str, sev)])
    curve.set_xlabel("severity")
    curve.set_ylabel("top-1 error % (mean over the corruptions)")
    curve.grid(alpha=0.3)
    curve.legend(fontsize=8, title="run (mean corruption error)", title_fontsize=8)
    bars.set_xticks(x)
    bars.set_xticklabels([c.replace("_", " ") for c in corruptions], rotation=60, ha="right", fontsize=8)
    bars.set_ylabel("top-1 error % (mean over severities)")
    bars.grid(alpha=0.3, axis="y")
    top = max(max(r.corruption_errors[c] for c in corruptions) for _, r in runs)
    bars.set_ylim(0, top * 1.35)  # room for the legend above the bars
    bars.legend(fontsize=8, ncol=2, loc="upper center")
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


# ---- -P stability (the ``perturbation`` section written by eval-p) ------------------------------------------------


def check_comparable_stability(runs: Sequence[Run]) -> None:
    """Refuse runs without -P results or evaluated on other sequences (perturbations, videos, difficulty).

    Raises:
        ValueError: naming the run and the difference.
    """
    if len(runs) < 1:
        raise ValueError("Give at least one NAME=results.json to compare.")
    for name, r in runs:
        if r.perturbation is None:
            raise ValueError(f"{name!r} has no -P results; run `timm-augmix eval-p ... --out` on its results.json")
    base_name, base = runs[0][0], runs[0][1].perturbation
    for name, r in runs[1:]:
        p = r.perturbation
        for key in ("perturbations", "num_videos", "difficulty", "frames"):
            mine, theirs = _shown(getattr(p, key)), _shown(getattr(base, key))
            if mine != theirs:
                raise ValueError(f"{name!r} and {base_name!r} were evaluated on different -P sets ({key}: "
                                 f"{mine} vs {theirs}); rerun eval-p on the same data and --limit")


def stability_table(runs: Sequence[Run]) -> str:
    """One row per run: mean flip probability and mean top-5 distance, each with its change against the first."""
    check_comparable_stability(runs)
    return _per_run_table(runs, [
        ("mean flip probability %", lambda r: r.perturbation.mean_flip_probability, ".2f", True),
        ("mean top-5 distance", lambda r: r.perturbation.mean_top5_distance, ".3f", True),
    ])


def per_perturbation_table(runs: Sequence[Run]) -> str:
    """One row per perturbation: each run's flip probability (%) and its change against the first run."""
    check_comparable_stability(runs)
    return _per_name_table(runs, "perturbation", runs[0][1].perturbation.perturbations,
                           lambda r: r.perturbation.flip_probability)


def plot_stability_comparison(runs: Sequence[Run], path: str | os.PathLike) -> Path:
    """Flip probability per perturbation, one bar per run side by side (mFP in the legend)."""
    from matplotlib.figure import Figure

    check_comparable_stability(runs)
    names = list(runs[0][1].perturbation.perturbations)
    fig = Figure(figsize=(11, 4.8))
    ax = fig.subplots()
    width = 0.8 / len(runs)
    x = np.arange(len(names))
    for i, (name, r) in enumerate(runs):
        p = r.perturbation
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, [p.flip_probability[n] for n in names], width,
               label=f"{name} (mFP {p.mean_flip_probability:.2f}%)")
    ax.set_xticks(x)
    ax.set_xticklabels([n.replace("_", " ") for n in names], rotation=45, ha="right", fontsize=9)
    ax.set_ylabel("flip probability (%)")
    p0 = runs[0][1].perturbation
    ax.set_title(f"Prediction stability on {p0.dataset} ({p0.num_videos} sequences per perturbation)",
                 fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
