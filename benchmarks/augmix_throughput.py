"""JSD AugMix throughput: clean + 2 AugMix views as normalised float tensors, one process, one thread, same images.

Peers, each measured in the same run on the same images:

* ``timm``: ``augment_and_mix_transform('augmix-m3-w3', ...)`` with the hparams ``create_transform`` gives it, and
  ToTensor + Normalize on the clean image and on each view (what timm's ``AugMixDataset(num_splits=3)`` does);
* ``torchvision``: ``transforms.v2.AugMix()`` (defaults) + ToTensor + Normalize;
* ``paper``: a faithful re-statement of the paper's ``aug()`` (reference-facts 1.2): numpy Dirichlet / Beta /
  choice / uniform draws, PIL ops, and the ``width + 2`` ToTensor + Normalize calls per view;
* ``plugin AugMixPaper``: the plugin's transform inside the same timm-style pipeline (float view, then Normalize);
* ``plugin AugMixJSD``: the plugin's fused triple (one conversion of the clean image, normalisation in the mix);
* ``plugin batched``: :class:`BatchedAugMix` on a uint8 batch of the same images (``--device``; CPU by default, or
  ``cuda`` when one is available), timed on the device after the loader (batch building is not counted).

Images: CIFAR-10 test images from ``../shared/data/cifar10-jpeg/test.tar`` when present (upscaled bilinearly for
224 px), synthetic images otherwise. Figures on a shared machine are noisy: compare the ratios, which come from the
same run; by default the CPU time of the process is the clock (``--clock wall`` for wall time). Example::

    python benchmarks/augmix_throughput.py --sizes 32 224 --samples 300 --samples-224 100
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _one_core import CIFAR_TAR, cifar_test_images
from PIL import Image, ImageOps
from timm.data.auto_augment import augment_and_mix_transform
from torchvision import transforms
from torchvision.transforms import v2
from tqdm import tqdm

from timm_augmix_plugin.augmix import AugMixPaper
from timm_augmix_plugin.augmix.batched import BatchedAugMix
from timm_augmix_plugin.augmix.transform import AugMixJSD
from timm_augmix_plugin.constants import CIFAR_MEAN, CIFAR_STD

# ---- the paper's procedure, re-stated (reference-facts 1.1-1.2) --------------------------------------------------

class PaperAugMix:
    """The paper's ``aug()`` per image: numpy RNG (an explicit Generator), PIL ops, mixing of normalised tensors."""

    def __init__(self, image_size: int, preprocess: Callable, severity: float = 3, width: int = 3, depth: int = -1,
                 alpha: float = 1.0, seed: int = 0) -> None:
        self.size, self.preprocess = image_size, preprocess
        self.severity, self.width, self.depth, self.alpha = severity, width, depth, alpha
        self.rng = np.random.default_rng(seed)
        self.ops = [self._autocontrast, self._equalize, self._posterize, self._rotate, self._solarize,
                    self._shear_x, self._shear_y, self._translate_x, self._translate_y]

    def _level(self) -> float:
        return self.rng.uniform(0.1, self.severity)

    def _int(self, maxval: float) -> int:
        return int(self._level() * maxval / 10)

    def _signed(self, value: float) -> float:
        return -value if self.rng.uniform() > 0.5 else value

    def _autocontrast(self, img):
        return ImageOps.autocontrast(img)

    def _equalize(self, img):
        return ImageOps.equalize(img)

    def _posterize(self, img):
        return ImageOps.posterize(img, 4 - self._int(4))

    def _solarize(self, img):
        return ImageOps.solarize(img, 256 - self._int(256))

    def _rotate(self, img):
        return img.rotate(self._signed(self._int(30)), resample=Image.Resampling.BILINEAR)

    def _affine(self, img, coeffs):
        return img.transform((self.size, self.size), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)

    def _shear_x(self, img):
        return self._affine(img, (1, self._signed(self._level() * 0.3 / 10), 0, 0, 1, 0))

    def _shear_y(self, img):
        return self._affine(img, (1, 0, 0, self._signed(self._level() * 0.3 / 10), 1, 0))

    def _translate_x(self, img):
        return self._affine(img, (1, 0, self._signed(self._int(self.size / 3)), 0, 1, 0))

    def _translate_y(self, img):
        return self._affine(img, (1, 0, 0, 0, 1, self._signed(self._int(self.size / 3))))

    def __call__(self, image: Image.Image) -> torch.Tensor:
        ws = np.float32(self.rng.dirichlet([self.alpha] * self.width))
        m = np.float32(self.rng.beta(self.alpha, self.alpha))
        mix = torch.zeros_like(self.preprocess(image))
        for i in range(self.width):
            image_aug = image.copy()
            depth = self.depth if self.depth > 0 else self.rng.integers(1, 4)
            for _ in range(depth):
                image_aug = self.ops[self.rng.integers(len(self.ops))](image_aug)
            mix += ws[i] * self.preprocess(image_aug)
        return (1 - m) * self.preprocess(image) + m * mix


# ---- images ---------------------------------------------------------------------------------------------------

def load_images(count: int, size: int, tar_path: Path) -> tuple[list[Image.Image], str]:
    """``count`` RGB images of ``size`` px: CIFAR-10 test images when the tar exists, synthetic ones otherwise."""
    images = cifar_test_images(count, tar_path)
    if tar_path.is_file():
        source = f"CIFAR-10 test ({tar_path.name})"
    else:
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:32, 0:32]
        for _ in range(count):
            arr = np.stack([xx * 8, yy * 8, (xx + yy) * 4], -1).astype(np.int64) + rng.integers(0, 64, (32, 32, 3))
            images.append(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)))
        source = "synthetic (no CIFAR-10 tar found)"
    if size != 32:
        images = [img.resize((size, size), Image.Resampling.BILINEAR) for img in images]
        source += f", resized to {size}"
    return images, source


# ---- peers ----------------------------------------------------------------------------------------------------

def per_image_peers(size: int) -> dict[str, Callable[[Image.Image], tuple[torch.Tensor, ...]]]:
    """name -> function(PIL image) -> (clean, view1, view2) normalised float tensors."""
    final = transforms.Compose([transforms.ToTensor(), transforms.Normalize(CIFAR_MEAN, CIFAR_STD)])
    normalize = transforms.Normalize(CIFAR_MEAN, CIFAR_STD)
    hparams = {"translate_const": int(size * 0.45), "translate_pct": 0.3,
               "img_mean": tuple(min(255, round(255 * x)) for x in CIFAR_MEAN)}
    timm_aug = augment_and_mix_transform("augmix-m3-w3", hparams)
    tv_aug = v2.AugMix()
    paper = PaperAugMix(size, final)
    plugin = AugMixPaper("augmix_paper")
    fused = AugMixJSD("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD)
    return {
        "timm augmix-m3-w3": lambda img: (final(img), final(timm_aug(img)), final(timm_aug(img))),
        "torchvision v2 AugMix": lambda img: (final(img), final(tv_aug(img)), final(tv_aug(img))),
        "paper aug() re-statement": lambda img: (final(img), paper(img), paper(img)),
        "plugin AugMixPaper + Normalize": lambda img: (final(img), normalize(plugin(img)), normalize(plugin(img))),
        "plugin AugMixJSD (fused)": fused,
    }


def time_per_image(fn: Callable, images: list[Image.Image], repeats: int, desc: str, clock: Callable) -> float:
    """Best-of-``repeats`` samples/s of ``fn`` over ``images``."""
    fn(images[0])
    best = 0.0
    for _ in range(repeats):
        start = clock()
        for img in tqdm(images, desc=desc, leave=False):
            fn(img)
        best = max(best, len(images) / (clock() - start))
    return best


def time_batched(images: list[Image.Image], batch_size: int, device: torch.device, repeats: int,
                 clock: Callable) -> float:
    """Best-of-``repeats`` samples/s of :class:`BatchedAugMix` on uint8 batches of ``images`` on ``device``."""
    stack = torch.stack([torch.from_numpy(np.array(img)).permute(2, 0, 1) for img in images])
    batches = [stack[i:i + batch_size].to(device) for i in range(0, len(stack), batch_size)]
    module = BatchedAugMix("augmix_paper", mean=CIFAR_MEAN, std=CIFAR_STD).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    module(batches[0])
    sync()
    clock = time.perf_counter if device.type != "cpu" else clock
    best = 0.0
    for _ in range(repeats):
        start = clock()
        for batch in tqdm(batches, desc=f"batched ({device.type})", leave=False):
            module(batch)
        sync()
        best = max(best, len(stack) / (clock() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 224], help="image sides in pixels")
    parser.add_argument("--samples", type=int, default=300, help="images per peer at 32 px")
    parser.add_argument("--samples-224", type=int, default=100, help="images per peer above 32 px")
    parser.add_argument("--batched-samples", type=int, default=None,
                        help="images for the batched path (default: as the others on CUDA, 64 / 16 on CPU)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size of the batched path")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="device of the batched path")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per peer; the best one is reported")
    parser.add_argument("--data", type=Path, default=CIFAR_TAR, help="CIFAR-10 test tar (optional)")
    parser.add_argument("--clock", choices=("process", "wall"), default="process",
                        help="CPU time of this process (robust on a shared machine; the default) or wall time; "
                             "GPU runs always use wall time")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "process" else time.perf_counter

    torch.set_num_threads(1)
    device = torch.device(args.device)
    rows, sources = [], []
    for size in args.sizes:
        count = args.samples if size <= 32 else args.samples_224
        images, source = load_images(count, size, args.data)
        results = {}
        for name, fn in per_image_peers(size).items():
            results[name] = time_per_image(fn, images, args.repeats, f"{name} @{size}", clock)
        n_batched = args.batched_samples or (count if device.type == "cuda" else (64 if size <= 32 else 16))
        label = f"plugin BatchedAugMix ({device.type}, batch {args.batch_size})"
        results[label] = time_batched((images * (n_batched // len(images) + 1))[:n_batched],
                                      args.batch_size, device, args.repeats, clock)
        reference = results["timm augmix-m3-w3"]
        rows += [(size, name, rate, rate / reference) for name, rate in results.items()]
        sources.append(f"{size} px: {len(images)} images, {source}")

    print("\n".join(sources))
    print(f"JSD samples/s (clean + 2 AugMix views, normalised float), 1 thread, {args.clock} clock, "
          f"torch {torch.__version__}")
    print(f"{'size':>5}  {'peer':<44} {'samples/s':>10} {'x timm':>7}")
    for size, name, rate, ratio in rows:
        print(f"{size:>5}  {name:<44} {rate:>10.1f} {ratio:>7.2f}")


if __name__ == "__main__":
    main()
