#!/usr/bin/env bash
# -P stability of the three released CPU CIFAR-10 checkpoints (hub/wrn16_1.{standard,augmix,augmix_jsd}_cifar10_cpu):
# makes CIFAR-10-P from the shared CIFAR-10 test tar (P_LIMIT evenly spread test images, default 400; empty = all),
# adds the -P results to a copy of each folder's results.json with `timm-augmix eval-p`, and compares the runs.
#   bash scripts/evaluate_cpu_cifar10_p.sh [OUT_DIR]
# Then rebuilds the three hub/ folders with `timm-augmix card` as scripts/reproduce_cpu_cifar10.sh built them, from the
# released weights (copied as the checkpoint) and the recipe embedded in each card (the training runs are not kept).
# Steps whose output exists are skipped, so a rerun resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/cpu_cifar10_p}
limit=${P_LIMIT-400}
shared=../shared/data/cifar10-jpeg
[ -f "$shared/test.tar" ] || { echo "needs $shared/test.tar" >&2; exit 2; }
mkdir -p "$out"
timm-augmix make-p --data "$shared/test.tar" --out "$out/CIFAR-10-P" --size 32 --workers 2 ${limit:+--limit "$limit"}
specs=()
for mode in standard augmix augmix_jsd; do
  hub="hub/wrn16_1.${mode}_cifar10_cpu"
  run="$out/$mode"
  mkdir -p "$run"
  if ! python -c "import json,sys; sys.exit('perturbation' not in json.load(open('$run/results.json')))" 2>/dev/null; then
    cp "$hub/results.json" "$hub/error_vs_severity.png" "$hub/reliability.png" "$run/"
    timm-augmix eval-p --model "local-dir:$hub" --p-data "$out/CIFAR-10-P" --out "$run/results.json" --workers 0
  fi
  specs+=("$mode=$run/results.json")
done
timm-augmix compare "${specs[@]}" --per-perturbation --plot-p docs/cpu_cifar10_p_flip_probability.png
for mode in standard augmix augmix_jsd; do
  hub="hub/wrn16_1.${mode}_cifar10_cpu"
  run="$out/$mode"
  rm -rf "$run/final" && cp -r "$hub" "$run/final"
  python - "$hub/README.md" "$run/recipe.yaml" <<'PY'
import re, sys
card = open(sys.argv[1], encoding="utf-8").read()
recipe = re.search(r"## Training recipe\n\n.*?```yaml\n(.*?)\n```", card, re.S).group(1)
open(sys.argv[2], "w", encoding="utf-8").write(recipe + "\n")
PY
  timm-augmix card --checkpoint "$run/final" --results "$run/results.json" --recipe "$run/recipe.yaml" \
    --dataset cifar10-c-generated --out "$hub" --overwrite
done
