"""Time the project's batched corruptions against per-image reference paths, in one run, on one core.

Reference paths:
- 32 px: ``timm_augmix_plugin.testing.reference_corrupt``, a straightforward per-image implementation
  of ``make_cifar_c.py`` with its libraries (OpenCV, scikit-image, scipy, Pillow; numpy motion blur instead of Wand),
  CIFAR parameters, mean over severities 1..5.
- 224 px: ``imagecorruptions-imaug`` 1.1.5 (bethgelab's port of the ImageNet-C generators: numba glass blur, numpy
  motion blur) called per image, severity 3.
A reference whose libraries do not import is skipped.

Usage:
    python benchmarks/corruption_speed.py [--n32 1000] [--n224 16] [--ref-n32 20] [--ref-n224 3] [--repeat 3]
                                          [--fidelity 200]

Prints per-image milliseconds per corruption (project: batched; at 32 px the mean over severities 1..5, at 224 px
severity 3 like the reference; every timing, project and reference alike, is the best of ``--repeat`` runs, which
filters out interference from other jobs), the ratios, and the
projected wall time of all of CIFAR-10-C (10k x 15 x 5) on 2 worker processes. ``--fidelity N`` also prints, per
corruption and severity, statistics of the project vs the 32 px reference path on N images. Timings on a shared machine
are noisy.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _one_core import CIFAR_TAR, best_of, cifar_test_images, one_thread  # noqa: E402
from PIL import Image  # noqa: E402

from timm_augmix_plugin.corruptions import BENCHMARK_CORRUPTIONS, corrupt  # noqa: E402


def load_images(n: int, size: int) -> tuple[np.ndarray, str]:
    """``n`` CIFAR-10 test images (resized to ``size``) if the shared tar exists, else smooth synthetic images."""
    if CIFAR_TAR.is_file():
        imgs = [np.asarray(im if size == 32 else im.resize((size, size), Image.Resampling.BICUBIC))
                for im in cifar_test_images(n)]
        return np.stack(imgs), "CIFAR-10 test images"
    g = np.random.default_rng(0)
    base = g.random((n, 8, 8, 3))
    t = torch.nn.functional.interpolate(torch.from_numpy(base).permute(0, 3, 1, 2), size=(size, size),
                                        mode="bicubic", align_corners=False)
    return (t.permute(0, 2, 3, 1).clamp(0, 1).numpy() * 255).astype(np.uint8), "synthetic smooth images"


REPEAT = 3  # every timing is the best of this many runs (set from --repeat)


def time_project(x: np.ndarray, name: str, severities: tuple[int, ...]) -> float:
    """Per-image milliseconds, mean over severities, after a warm-up call (JIT compile / caches)."""
    corrupt(x[:2], name, severities[0], seed=0)
    seconds = best_of(lambda: [corrupt(x, name, s, seed=0) for s in severities], REPEAT)
    return seconds / (len(x) * len(severities)) * 1e3


def time_imagecorruptions(x: np.ndarray, name: str, severity: int) -> float | None:
    """Per-image ms of ``imagecorruptions`` (imaug fork) at one severity; None when it does not import."""
    try:
        from imagecorruptions import corrupt as ref_corrupt
    except Exception:  # missing package or broken dependency chain (OpenCV, scikit-image)
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_corrupt(x[0], corruption_name=name, severity=severity)
        seconds = best_of(lambda: [ref_corrupt(img, corruption_name=name, severity=severity) for img in x], REPEAT)
    return seconds / len(x) * 1e3


def time_naive(x: np.ndarray, name: str, severities: tuple[int, ...]) -> float | None:
    """Per-image ms of the straightforward per-image reference path, mean over severities; None without OpenCV."""
    try:
        from timm_augmix_plugin.testing.corruption_reference import reference_corrupt
        reference_corrupt(x[0], name, severities[0], np.random.default_rng(0))
    except ImportError:
        return None
    g = np.random.default_rng(0)
    seconds = best_of(lambda: [reference_corrupt(img, name, s, g) for s in severities for img in x], REPEAT)
    return seconds / (len(x) * len(severities)) * 1e3


def print_fidelity(x: np.ndarray) -> None:
    """Project vs per-image reference statistics at 32 px: mean |change|, mean shift, std ratio, HF-energy ratio."""
    from timm_augmix_plugin.testing.corruption_reference import reference_corrupt

    def stats(y: np.ndarray) -> tuple[float, float, float, float]:
        a, b = y.astype(np.float64), x.astype(np.float64)

        def hf(v: np.ndarray) -> float:
            lap = 4 * v[:, 1:-1, 1:-1] - v[:, :-2, 1:-1] - v[:, 2:, 1:-1] - v[:, 1:-1, :-2] - v[:, 1:-1, 2:]
            return float((lap ** 2).mean())
        return (np.abs(a - b).mean(), a.mean() - b.mean(), a.std(axis=(1, 2)).mean() / b.std(axis=(1, 2)).mean(),
                hf(a) / hf(b))

    print(f"\nFidelity at 32 px on {len(x)} images (project / reference):")
    print(f"{'corruption':<20}{'sev':>4}{'mean |change|':>18}{'mean shift':>18}{'std ratio':>16}{'HF ratio':>16}")
    for name in BENCHMARK_CORRUPTIONS:
        for s in (1, 2, 3, 4, 5):
            ours = stats(corrupt(x, name, s, seed=0))
            g = np.random.default_rng(s)
            ref = stats(np.stack([reference_corrupt(img, name, s, g) for img in x]))
            cells = "".join(f"{a:>9.3f}/{b:<8.3f}" for a, b in zip(ours, ref, strict=True))
            print(f"{name:<20}{s:>4}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n32", type=int, default=1000, help="images for the project at 32 px")
    parser.add_argument("--n224", type=int, default=16, help="images for the project at 224 px")
    parser.add_argument("--ref-n32", type=int, default=20, help="images for the reference at 32 px")
    parser.add_argument("--ref-n224", type=int, default=3, help="images for the reference at 224 px")
    parser.add_argument("--workers", type=int, default=2, help="worker processes assumed for the CIFAR-10-C projection")
    parser.add_argument("--fidelity", type=int, default=0, help="also compare statistics on this many 32 px images")
    parser.add_argument("--repeat", type=int, default=3, help="report the best of this many runs of every timing")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    global REPEAT
    REPEAT = args.repeat
    one_thread()  # OpenCV too: the project's 224 px paths and both references use it
    severities = (1, 2, 3, 4, 5)
    totals: dict[int, list[float]] = {}
    for size, n, ref_n in ((32, args.n32, args.ref_n32), (224, args.n224, args.ref_n224)):
        x, what = load_images(n, size)
        ref_what = ("per-image reference path (CIFAR parameters), mean of severities 1-5" if size == 32 else
                    "imagecorruptions-imaug per image, severity 3")
        ours_what = "mean of severities 1-5" if size == 32 else "severity 3"
        print(f"\n{size} px: {len(x)} {what}; project = batched, {ours_what}; reference = {ref_what}, "
              f"{min(ref_n, len(x))} images; one thread; best of {REPEAT} runs")
        print(f"{'corruption':<20}{'project ms/img':>16}{'reference ms/img':>18}{'speed-up':>10}")
        tp = tr = 0.0
        have_ref = True
        for name in BENCHMARK_CORRUPTIONS:
            p = time_project(x, name, severities if size == 32 else (3,))
            r = time_naive(x[:ref_n], name, severities) if size == 32 else time_imagecorruptions(x[:ref_n], name, 3)
            tp += p
            if r is None:
                have_ref = False
                print(f"{name:<20}{p:>16.3f}{'n/a':>18}{'':>10}")
            else:
                tr += r
                print(f"{name:<20}{p:>16.3f}{r:>18.3f}{r / p:>9.1f}x")
        ratio = f"{tr / tp:>9.1f}x" if have_ref else ""
        print(f"{'all 15':<20}{tp:>16.3f}{(f'{tr:.3f}' if have_ref else 'n/a'):>18}{ratio:>10}")
        totals[size] = [tp, tr if have_ref else float("nan")]
    if args.fidelity:
        print_fidelity(load_images(args.fidelity, 32)[0])
    tp32 = totals[32][0]
    proj = tp32 * 10_000 * 5 / 1e3 / max(1, args.workers)
    print(f"\nProjected CIFAR-10-C (10k images x 15 corruptions x 5 severities): {tp32 * 10_000 * 5 / 1e3:.0f} s on "
          "one "
          f"core, ~{proj:.0f} s on {args.workers} worker processes (goal <= 120 s on 2 cores)")
    if not np.isnan(totals[32][1]):
        print(f"32 px speed-up over the per-image reference path for the 15: {totals[32][1] / totals[32][0]:.1f}x")
    if not np.isnan(totals[224][1]):
        print(f"224 px speed-up over imagecorruptions-imaug for the 15: {totals[224][1] / totals[224][0]:.1f}x "
              "(goal >= 10x)")
    print("Timings were taken on a machine shared with other jobs; treat them as noisy.")


if __name__ == "__main__":
    main()
