"""JSD AugMix throughput on a GPU machine: the batched AugMix on the GPU against timm's loader path on the CPU cores.

Peers (JSD samples/s: one sample = clean + 2 AugMix views, normalised, on the GPU), measured in the same run on the
same CIFAR-10 test images:

* ``timm loader, augmix-m3-w3``: ``timm.data.create_loader(..., is_training=True, auto_augment='augmix-m3-w3',
  num_aug_splits=3, num_workers=W, use_prefetcher=True)``, exactly what timm's ``train.py --aug-splits 3 --aa
  augmix-m3-w3 -j W`` builds (AugMixDataset in the workers, fast_collate, prefetcher to the GPU);
* ``timm loader, augmix_paper``: the same loader with the plugin's policy string;
* ``BatchedAugMix on the GPU``: the plugin's batched AugMix on uint8 batches already on the GPU (the device-resident
  trainer's path), per-sample parameters drawn on the GPU; crop/flip not counted.

At 224 px the loaders random-resize-crop the 32 px images to 224 (as timm does for any dataset) and the batched peer
gets the images upscaled once to 224. Each peer runs ``--seconds`` after its warm-up (worker start, first batches).

    python benchmarks/gpu_augmix_throughput.py --data <ImageFolder of CIFAR-10 test images> [--workers 16]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch


def _time_loader(data: str, size: int, policy: str, workers: int, batch: int, seconds: float) -> float:
    from timm.data import AugMixDataset, create_dataset, create_loader

    import timm_augmix_plugin  # noqa: F401  (the augmix_paper policy; imported before timm.data's transforms)

    dataset = AugMixDataset(create_dataset("", root=data), num_splits=3)  # as train.py does for --aug-splits 3
    loader = create_loader(dataset, input_size=(3, size, size), batch_size=batch,
                           is_training=True, auto_augment=policy, num_aug_splits=3, num_workers=workers,
                           use_prefetcher=True, device=torch.device("cuda"), persistent_workers=False)
    done, start, it = 0, None, iter(loader)
    while True:
        try:
            images, _ = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        if start is None:
            if done >= 2 * workers:  # every worker has delivered its first batches: steady state
                torch.cuda.synchronize()
                start, done = time.perf_counter(), 0
            else:
                done += 1
            continue
        done += images.shape[0] // 3
        if time.perf_counter() - start >= seconds:
            torch.cuda.synchronize()
            return done / (time.perf_counter() - start)


def _time_batched(images: torch.Tensor, size: int, batch: int, seconds: float) -> float:
    from timm_augmix_plugin.augmix import BatchedAugMix
    from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD

    x = images
    if size != x.shape[-1]:
        x = torch.nn.functional.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=False)
        x = x.round_().clamp_(0, 255).to(torch.uint8)
    gen = torch.Generator(device="cuda").manual_seed(0)
    augmix = BatchedAugMix("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD, generator=gen).cuda()
    n = x.shape[0] // batch
    for i in range(3):
        augmix(x[i % n * batch:(i % n + 1) * batch])
    torch.cuda.synchronize()
    done, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        augmix(x[i % n * batch:(i % n + 1) * batch])
        done += batch
        i += 1
        if i % 8 == 0:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="ImageFolder of the CIFAR-10 test images")
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 224])
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU (the CPU figures are in benchmarks/augmix_throughput.py)")
    from timm.data import create_dataset

    ds = create_dataset("", root=args.data)
    import numpy as np

    images = torch.from_numpy(np.stack([np.asarray(ds[i][0].convert("RGB")) for i in range(min(len(ds), 2048))]))
    images = images.permute(0, 3, 1, 2).contiguous().cuda()
    rows = []
    for size in args.sizes:
        batch = args.batch if size <= 64 else max(16, args.batch // 2)
        figures = {}
        for name, fn in (
                ("timm loader, augmix-m3-w3", lambda: _time_loader(args.data, size, "augmix-m3-w3", args.workers,
                                                                   batch, args.seconds)),
                ("timm loader, augmix_paper", lambda: _time_loader(args.data, size, "augmix_paper", args.workers,
                                                                   batch, args.seconds)),
                ("BatchedAugMix on the GPU", lambda: _time_batched(images, size, batch, args.seconds))):
            try:
                figures[name] = fn()
            except Exception as err:  # a peer that fails is reported, the others still run
                print(f"{name} at {size} px failed: {err!r}")
                figures[name] = float("nan")
        base = figures["timm loader, augmix-m3-w3"]
        for name, value in figures.items():
            rows.append(dict(size=size, peer=name, samples_per_s=value, x_timm=value / base, workers=args.workers,
                             batch=batch))
    print(f"\nJSD samples/s ({torch.cuda.get_device_name()}, {args.workers} loader workers)\n")
    print("| size | peer | samples/s | x timm |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']} | {r['peer']} | {r['samples_per_s']:.0f} | {r['x_timm']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=torch.cuda.get_device_name(), rows=rows), f, indent=2)


if __name__ == "__main__":
    main()
