#!/usr/bin/env bash
# Reproduce the small-scale AugMix experiment on 2 CPU cores (issue: robust checkpoints):
# WRN-16-1 on the shared CIFAR-10 JPEG copy, trained three ways with the same epochs, seed and schedule,
# evaluated on CIFAR-10-C made by the project's generator, and turned into hub/ folders.
#   bash scripts/reproduce_cpu_cifar10.sh [OUT_DIR] [MODE ...]     (modes: standard augmix augmix_jsd; the first is the baseline)
#   EVAL_LIMIT=2000 bash scripts/...   evaluates on 2000 evenly spread test images (x 15 x 5) instead of all 10000
# Each step is skipped when its output exists, so rerunning the script resumes where it stopped
# (training itself resumes from its last checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/cpu_cifar10}
shift || true
modes=("${@:-standard augmix augmix_jsd}")
modes=(${modes[@]})
shared=../shared/data/cifar10-jpeg
[ -f "$shared/test.tar" ] || { echo "needs $shared/{train,test}.tar" >&2; exit 2; }
mkdir -p "$out"
[ -f "$out/CIFAR-10-C/make_c.json" ] && [ -f "$out/CIFAR-10-C/jpeg_compression.npy" ] || \
  timm-augmix make-c --data "$shared/test.tar" --out "$out/CIFAR-10-C" --size 32 --workers 2
for mode in "${modes[@]}"; do
  run="$out/wrn16_1_$mode"
  [ -f "$run/final/model.safetensors" ] || \
    python -m timm_augmix_plugin.train --recipe "recipes/cpu_cifar10_wrn16_1_$mode.yaml" "train.output_dir=$run"
  [ -f "$run/eval-c/results.json" ] || \
    timm-augmix eval-c --model "local-dir:$run/final" --c-data "$out/CIFAR-10-C" --clean-data "$shared/test.tar" \
      --out "$run/eval-c/results.json" ${EVAL_LIMIT:+--limit "$EVAL_LIMIT"}
  timm-augmix card --checkpoint "$run/final" --results "$run/eval-c/results.json" --recipe "$run/recipe.yaml" \
    --dataset cifar10-c-generated --out "hub/wrn16_1.${mode}_cifar10_cpu" --overwrite
done
specs=()
for mode in "${modes[@]}"; do specs+=("$mode=$out/wrn16_1_$mode/eval-c/results.json"); done
timm-augmix compare "${specs[@]}" --per-corruption --plot docs/cpu_cifar10_comparison.png
