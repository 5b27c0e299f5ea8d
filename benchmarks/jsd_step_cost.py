"""Cost of an AugMix + JSD training step relative to a standard step on the same unique images (CPU, small WRN).

A JSD step pushes the clean image and two AugMix views through the network in one forward pass of 3B, so three
times the compute of a standard step on B images is the floor; the goal is <= 3.1x for the model step. The row
``standard_3B`` (a standard step on 3B rows) separates the JSD-specific cost from the network's own scaling with
batch size (on CPUs the backward pass of a 3x larger batch often costs more than 3x). The second table times whole
steps through the trainer's real data pipeline (synthetic 32x32 images, the plugin's AugMix in
the loader workers), where the extra AugMix views add data-loading cost on top.

    python benchmarks/jsd_step_cost.py                   # WRN-16-1, B=64, 1 thread, 1 loader worker
    python benchmarks/jsd_step_cost.py --model wrn40_2 --batch 128 --steps 5 --workers 2

Timings share the CPU with anything else running; compare the ratios within one run.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch


def _recipe(mode: str, args: argparse.Namespace):
    from timm_augmix_plugin.train import Recipe

    return Recipe.from_dict({
        "name": f"bench_{mode}",
        "model": {"name": args.model},
        "data": {"dataset": "synthetic", "batch_size": args.batch, "num_workers": args.workers,
                 "train_samples": args.batch * (args.steps + args.warmup + 1), "eval_samples": 16},
        "augmix": {"enabled": mode != "standard", "num_splits": 3 if mode == "augmix_jsd" else 1},
        "loss": {"jsd": mode == "augmix_jsd"},
        "train": {"epochs": 1, "seed": 0, "channels_last": args.channels_last},
    })


def _parts(recipe):
    from timm.optim import create_optimizer_v2

    from timm_augmix_plugin.train.engine import build_model
    from timm_augmix_plugin.train.objective import Objective

    model = build_model(recipe).train()
    if recipe.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = create_optimizer_v2(model, opt="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4)
    return model, optimizer, Objective(recipe)


def _step(model, optimizer, objective, images, target, channels_last: bool = False) -> None:
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    logits = model(images)
    loss, _ = objective(logits, target)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _rows(mode: str, batch: int) -> int:
    return 3 * batch if mode in ("augmix_jsd", "standard_3B") else batch


def time_model_steps(modes: tuple[str, ...], args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds per optimizer step on pre-made tensors (model + loss + optimizer only), the modes interleaved step by
    step so that load changes on a shared machine hit them alike."""
    g = torch.Generator().manual_seed(0)
    setups = {}
    for mode in modes:
        rows = _rows(mode, args.batch)
        images = torch.randn(rows, 3, 32, 32, generator=g)
        target = torch.randint(0, 10, (rows if mode == "standard_3B" else args.batch,), generator=g)
        recipe_mode = "standard" if mode == "standard_3B" else mode
        setups[mode] = (*_parts(_recipe(recipe_mode, args)), images, target, args.channels_last)
    times: dict[str, list[float]] = {m: [] for m in modes}
    for i in range(args.warmup + args.steps):
        for mode, parts in setups.items():
            start = time.perf_counter()
            _step(*parts)
            if i >= args.warmup:
                times[mode].append(time.perf_counter() - start)
    return times


def time_full_steps(modes: tuple[str, ...], args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds per step including waiting for the loader (the plugin's AugMix pipeline in worker processes); one
    mode after the other, so that only one mode's workers run at a time."""
    from timm_augmix_plugin.train.data import build_loaders, split_batch

    times: dict[str, list[float]] = {}
    for mode in modes:
        recipe = _recipe(mode, args)
        model, optimizer, objective = _parts(recipe)
        data = build_loaders(recipe, (0.5,) * 3, (0.5,) * 3)
        times[mode] = []
        it = iter(data.train_loader)
        for i in range(args.warmup + args.steps):
            start = time.perf_counter()
            images, target = next(it)
            images, _ = split_batch(images)
            _step(model, optimizer, objective, images, target, args.channels_last)
            if i >= args.warmup:
                times[mode].append(time.perf_counter() - start)
        del it
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="wrn16_1", help="timm model name (default wrn16_1)")
    parser.add_argument("--batch", type=int, default=64, help="unique images per step B (default 64)")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per mode (default 6)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed warm-up steps (default 2)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: steadier on a shared machine; the loader worker "
                             "uses the second core)")
    parser.add_argument("--workers", type=int, default=1, help="loader workers for the full-step table (default 1)")
    parser.add_argument("--skip-full", action="store_true", help="only time the model step")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                        help="channels-last memory format (default on, as in the CPU recipes)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import timm_augmix_plugin  # noqa: F401

    print(f"{args.model}, B={args.batch} unique images/step, {args.threads} thread(s), "
          f"{'channels-last' if args.channels_last else 'contiguous'}, "
          f"median of {args.steps} steps after {args.warmup} warm-up (torch {torch.__version__})\n")
    tables = [("model step (fwd + bwd + SGD on pre-made tensors)", time_model_steps,
               ("standard", "augmix_jsd", "standard_3B"))]
    if not args.skip_full:
        tables.append((f"full step (loader with {args.workers} worker(s) + model step)", time_full_steps,
                       ("standard", "augmix", "augmix_jsd")))
    for title, fn, modes in tables:
        results = {m: statistics.median(t) for m, t in fn(modes, args).items()}
        base = results["standard"]
        print(title)
        header = ("mode", "forward rows", "ms / step", "unique img/s", "vs standard")
        print(f"| {header[0]:<11} | " + " | ".join(f"{h:>12}" for h in header[1:]) + " |")
        print(f"|{'-' * 13}|" + "|".join("-" * 14 for _ in header[1:]) + "|")
        for m, sec in results.items():
            rows = _rows(m, args.batch)
            unique = rows if m == "standard_3B" else args.batch
            print(f"| {m:<11} | {rows:>12} | {sec * 1e3:>12.1f} | {unique / sec:>12.1f} | {sec / base:>11.2f}x |")
        if "augmix_jsd" in results:
            ratio = results["augmix_jsd"] / base
            verdict = "meets" if ratio <= 3.1 else "misses"
            print(f"JSD / standard = {ratio:.2f}x ({verdict} the <= 3.1x goal; 3 views per image make 3x the floor)")
        if "standard_3B" in results:
            print(f"JSD / standard on the same {3 * args.batch} rows = "
                  f"{results['augmix_jsd'] / results['standard_3B']:.2f}x (the JSD loss and split handling alone; "
                  f"above 3x against B rows is the network's own cost growing faster than its batch)")
        print()


if __name__ == "__main__":
    main()
