#!/usr/bin/env python
"""The paper's CIFAR-10 WRN-40-2 pair (standard, AugMix + JSD) on one GPU, end to end, in one command.

1. decodes CIFAR-10 from two JPEG packs (``timm_augmix_plugin.utils.packed_images``; made from the shared tars by
   ``--make-packs``) and writes the clean test images back as an image folder;
2. makes CIFAR-10-C from those test images with ``timm-augmix make-c`` on the CPU cores (in the background);
3. trains ``cifar10_wrn40_2_standard`` and ``cifar10_wrn40_2_augmix_jsd`` at the same time on the GPU with the
   device-resident trainer (``timm_augmix_plugin.train.resident``: bf16 autocast, channels-last, AugMix on the GPU),
   within a wall-clock budget (the recipes' 100 epochs when they fit, else as many as fit; see that module);
4. evaluates both on the full CIFAR-10-C with ``timm-augmix eval-c`` and builds both hub folders with
   ``timm-augmix card``;
0. first of all, while the cores are idle, measures the GPU AugMix throughput against timm's loader path
   (``benchmarks/gpu_augmix_throughput.py``, at most 75 s; ``--no-bench`` skips it).

Everything a cut-off run needs to resume goes under ``--out`` as it happens (checkpoint files every few epochs,
progress logs); rerun with ``--resume-from`` pointing at a copy of such an ``--out`` to continue. At the end, ``--out``
holds one tar per hub folder, one tar with the runs' logs and results, and ``summary.json``.

Usage (on the GPU machine, from the repository root; ``$OUT`` is where results go):
    python scripts/gpu_paper_wrn40_2.py --make-packs            # here, once: packs the shared tars into .packs/
    python scripts/gpu_paper_wrn40_2.py --out "$OUT" --budget 480
    python scripts/gpu_paper_wrn40_2.py --smoke --out /tmp/smoke  # CPU rehearsal: few images, 1 epoch, tiny -C
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's package, installed or not
SHARED = ROOT.parent / "shared" / "data" / "cifar10-jpeg"
RUNS = {"standard": "cifar10_wrn40_2_standard", "augmix_jsd": "cifar10_wrn40_2_augmix_jsd"}
#: what the trainers record as their data source (the packs are byte-exact copies of these files)
DATA_OVERRIDES = ["data.dataset=tar", "data.root=../shared/data/cifar10-jpeg/train.tar",
                  "data.eval_root=../shared/data/cifar10-jpeg/test.tar", "data.download=false"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "timm_augmix_plugin.cli.main", *args]


class Log:
    def __init__(self, path: Path) -> None:
        self.path, self.start = path, time.perf_counter()

    def __call__(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')} +{time.perf_counter() - self.start:5.0f}s] {message}"
        print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def make_packs(packs: Path) -> None:
    from timm_augmix_plugin.utils.packed_images import pack_jpegs

    for split in ("train", "test"):
        info = pack_jpegs(SHARED / f"{split}.tar", packs / f"cifar10-{split}.npz")
        print(f"{split}: {info}")


def _run(cmd: list[str], log: Log, out_file: Path, **kw) -> subprocess.Popen:
    log("$ " + " ".join(cmd))
    return subprocess.Popen(cmd, stdout=open(out_file, "w"), stderr=subprocess.STDOUT, cwd=ROOT, **kw)


def _wait(procs: dict[str, subprocess.Popen], log: Log, logs: dict[str, Path]) -> dict[str, int]:
    codes = {}
    for name, p in procs.items():
        codes[name] = p.wait()
        tail = logs[name].read_text().strip().splitlines()[-3:]
        log(f"{name} exited {codes[name]}: " + " | ".join(tail))
    return codes


def _tar(folder: Path, target: Path) -> None:
    with tarfile.open(target, "w") as tar:
        tar.add(folder, arcname=folder.name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "runs/gpu_paper")),
                    help="results and checkpoints (default: $OUT, else runs/gpu_paper)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: <tmp>/gpu_paper_work)")
    ap.add_argument("--packs", type=Path, default=ROOT / ".packs", help="folder of the two JPEG packs")
    ap.add_argument("--budget", type=float, default=480.0, help="wall-clock seconds for the whole command")
    ap.add_argument("--reserve", type=float, default=110.0,
                    help="seconds of the budget kept for evaluation and cards after training")
    ap.add_argument("--resume-from", type=Path, default=None, help="an earlier --out to resume the trainings from")
    ap.add_argument("--smoke", action="store_true", help="CPU rehearsal: 256 images, 1 epoch, tiny -C subset")
    ap.add_argument("--make-packs", action="store_true", help="pack ../shared/data/cifar10-jpeg into --packs, exit")
    ap.add_argument("--no-bench", action="store_true", help="skip the AugMix throughput benchmark")
    ap.add_argument("--compile", default="none",
                    help="torch.compile mode of the trainers' step (none, default, reduce-overhead, max-autotune)")
    args = ap.parse_args(argv)
    if args.make_packs:
        make_packs(args.packs)
        return 0
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = (args.work or Path(os.environ.get("TMPDIR", "/tmp")) / "gpu_paper_work").resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = Log(out / "run.log")
    cores = os.cpu_count() or 2
    log(f"start: {cores} cores, out {out}, work {work}, budget {args.budget:.0f} s, smoke {args.smoke}")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONUNBUFFERED="1", TQDM_MININTERVAL="30")

    # 1. data
    from timm_augmix_plugin.utils.packed_images import read_pack

    test_dir = work / "cifar10-test"
    if not test_dir.is_dir():
        read_pack(args.packs / "cifar10-test.npz").write_folder(test_dir)
    log(f"clean test images in {test_dir}")

    # GPU AugMix throughput first, while the CPU cores are idle (the loader peers need them)
    if not args.no_bench and not args.smoke:
        try:
            code = subprocess.call([sys.executable, "benchmarks/gpu_augmix_throughput.py", "--data", str(test_dir),
                                    "--json", str(out / "gpu_augmix_throughput.json"), "--seconds", "2"],
                                   cwd=ROOT, env=env, timeout=75)
        except subprocess.TimeoutExpired:
            code = "timeout"
        log(f"benchmark exited {code}")

    # 2. CIFAR-10-C in the background (nice: the trainers' launch threads come first)
    c_dir = work / "CIFAR-10-C"
    make_c = ["make-c", "--data", str(test_dir), "--out", str(c_dir), "--size", "32", "--no-progress",
              "--workers", str(max(1, cores - 4) if not args.smoke else 1)]
    if args.smoke:
        make_c += ["--limit", "20", "--corruptions", "gaussian_noise,frost,jpeg_compression"]
    procs = {"make-c": _run(["nice", "-n", "10", *_cli(*make_c)], log, work / "make_c.log", env=env)}
    logs = {"make-c": work / "make_c.log"}

    # 3. both trainings at once
    train_budget = max(30.0, args.budget - args.reserve - log.elapsed)
    for mode, recipe in RUNS.items():
        ckpt = out / mode
        if args.resume_from is not None and (args.resume_from / mode).is_dir() and not ckpt.exists():
            shutil.copytree(args.resume_from / mode, ckpt)
        cmd = [sys.executable, "-m", "timm_augmix_plugin.train.resident",
               "--recipe", str(ROOT / "recipes" / f"{recipe}.yaml"),  # a path: the package need not be installed
               "--train-pack", str(args.packs / "cifar10-train.npz"),
               "--eval-pack", str(args.packs / "cifar10-test.npz"),
               "--out", str(work / mode), "--checkpoint-dir", str(ckpt), "--name", mode, "--compile", args.compile,
               *DATA_OVERRIDES]
        if args.smoke:
            cmd += ["--limit-train", "256", "--limit-eval", "200", "--device", "cpu", "train.epochs=1",
                    "data.batch_size=64", "model.name=wrn16_1", "train.log_every_steps=2"]
        else:
            cmd += ["--time-budget", f"{train_budget:.0f}", "--checkpoint-every", "5",
                    "train.mixed_precision=bf16", "train.channels_last=true", "train.log_every_steps=100",
                    "eval.every_epochs=5"]
        procs[mode] = _run(cmd, log, work / f"train_{mode}.log", env=env)
        logs[mode] = work / f"train_{mode}.log"
    codes = _wait({m: procs[m] for m in RUNS}, log, logs)
    codes.update(_wait({"make-c": procs["make-c"]}, log, logs))

    # 4. eval-c and cards
    evals = {}
    for mode in RUNS:
        if codes[mode] != 0:
            continue
        results = work / mode / "eval-c" / "results.json"
        cmd = _cli("eval-c", "--model", f"local-dir:{work / mode / 'final'}", "--c-data", str(c_dir),
                   "--clean-data", str(test_dir), "--out", str(results), "--batch-size", "1000",
                   "--workers", str(0 if args.smoke else max(1, min(6, cores // 2 - 1))))
        if args.smoke:
            cmd += ["--corruptions", "gaussian_noise,frost,jpeg_compression"]
        evals[mode] = _run(cmd, log, work / f"eval_{mode}.log", env=env)
        logs[f"eval-{mode}"] = work / f"eval_{mode}.log"
    codes.update(_wait({f"eval-{m}": p for m, p in evals.items()}, log, logs))
    from timm_augmix_plugin.evaluation.results import load_results

    summary = dict(codes=codes, runs={})
    for mode in RUNS:
        run_dir = work / mode
        results = run_dir / "eval-c" / "results.json"
        if codes.get(f"eval-{mode}") != 0:
            continue
        hub = work / "hub" / f"wrn40_2.{mode}_cifar10{'_smoke' if args.smoke else ''}"
        code = subprocess.call(_cli("card", "--checkpoint", str(run_dir / "final"), "--results", str(results),
                                    "--recipe", str(run_dir / "recipe.yaml"), "--dataset", "cifar10-c-generated",
                                    "--out", str(hub), "--overwrite"), cwd=ROOT, env=env)
        codes[f"card-{mode}"] = code
        log(f"card {mode} exited {code}")
        if code == 0:
            _tar(hub, out / f"hub_{mode}.tar")
        res = load_results(results)
        trained = json.loads((run_dir / "summary.json").read_text())
        summary["runs"][mode] = dict(trained, clean_error_eval=res.clean_error,
                                     mean_corruption_error=res.mean_corruption_error)
        log(f"{mode}: {trained['epochs']} epochs, clean error {res.clean_error:.2f} %, CIFAR-10-C mean "
            f"corruption error {res.mean_corruption_error:.2f} %")

    # logs, metrics, results (no weights: those are in hub_*.tar); $OUT returns at most 8 files
    progress = sorted(out.glob("*/progress.log"))
    with tarfile.open(out / "runs.tar", "w") as tar:
        kept = [sorted(work.glob(p)) for p in ("*.log", "*/metrics.*", "*/summary.json", "*/recipe.yaml", "*/eval-c/*")]
        for path in [p for group in kept for p in group] + [c_dir / "make_c.json"]:
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(work)))
        for path in progress:
            tar.add(path, arcname=str(path.relative_to(out)))
    for path in progress:
        path.unlink()
    summary["wall_s"] = log.elapsed
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    done = all(codes.get(f"card-{m}") == 0 for m in RUNS)
    if done:  # the hub tars hold the weights; checkpoints are only needed by a cut-off run
        for mode in RUNS:
            for f in (out / mode).glob("checkpoint.*.pt"):
                f.unlink()
    log(f"finished in {log.elapsed:.0f} s: {'all done' if done else 'incomplete'} {codes}")
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
