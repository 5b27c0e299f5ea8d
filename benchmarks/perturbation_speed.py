"""Time make-p's batched -P sequences against a per-image re-statement of the reference generator, in one run, on one
core.

Reference path: :func:`timm_augmix_plugin.testing.perturbation_reference.reference_sequence`, ``make_cifar_p.py``
followed block by block for one image at a time with the libraries it uses and the CIFAR parameters (numpy motion blur
instead of Wand).

Project path: :func:`timm_augmix_plugin.perturbations.perturb` on a batch, the call each ``make-p`` work unit makes.

Usage:
    python benchmarks/perturbation_speed.py [--n 500] [--ref-n 20] [--repeat 3]

Prints per-image milliseconds per test perturbation (a whole sequence of 16-31 frames per image), the ratios, and the
projected wall time of all of CIFAR-10-P (10k images x 10 perturbations) on 2 worker processes. Every timing is the
best of ``--repeat`` runs (filters out interference from other jobs on a shared machine).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from _one_core import best_of, cifar_test_images, one_thread  # noqa: E402

from timm_augmix_plugin.perturbations import TEST_PERTURBATIONS, perturb  # noqa: E402
from timm_augmix_plugin.testing.perturbation_reference import reference_sequence  # noqa: E402


def load_images(n: int) -> np.ndarray:
    """``n`` CIFAR-10 test images (32 px) from the shared tar, or structured random images without it."""
    imgs = [np.asarray(im) for im in cifar_test_images(n)]
    rng = np.random.default_rng(0)
    while len(imgs) < n:
        imgs.append(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    return np.stack(imgs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="images for the project path")
    parser.add_argument("--ref-n", type=int, default=20, help="images for the reference path")
    parser.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    parser.add_argument("--workers", type=int, default=2, help="worker processes assumed for the CIFAR-10-P projection")
    args = parser.parse_args()
    one_thread()
    images = load_images(max(args.n, args.ref_n))
    rng = np.random.default_rng(0)
    for name in TEST_PERTURBATIONS:  # warm-up: numba compilation, library imports
        perturb(images[:2], name, seed=0)
        reference_sequence(images[0], name, rng)
    print(f"-P generation at 32 px, one thread, best of {args.repeat}; project: perturb() on {args.n} images, "
          f"reference: per image on {args.ref_n}\n")
    print("| perturbation | frames | project ms/image | reference ms/image | speed-up |")
    print("|---|---:|---:|---:|---:|")
    total_p = total_r = 0.0
    for name in TEST_PERTURBATIONS:
        batch = images[:args.n]
        tp = best_of(lambda: perturb(batch, name, seed=0), args.repeat) / args.n * 1e3  # noqa: B023
        tr = best_of(lambda: [reference_sequence(im, name, rng) for im in images[:args.ref_n]],  # noqa: B023
                     args.repeat) / args.ref_n * 1e3
        total_p, total_r = total_p + tp, total_r + tr
        frames = perturb(images[:1], name, seed=0).shape[1]
        print(f"| {name} | {frames} | {tp:.3f} | {tr:.2f} | {tr / tp:.1f}x |")
    print(f"| **all 10** | | **{total_p:.2f}** | **{total_r:.1f}** | **{total_r / total_p:.1f}x** |")
    seconds_p, seconds_r = (10000 * total / 1e3 / max(args.workers, 1) for total in (total_p, total_r))
    print(f"\nAll of CIFAR-10-P (10k images x 10 perturbations) projected: {seconds_p / 60:.1f} min of generation on "
          f"{args.workers} worker processes (reference path: {seconds_r / 3600:.1f} h)")


if __name__ == "__main__":
    main()
