#!/usr/bin/env bash
# MIP vs the plain parametrization on the two-corpus hypernetwork task: every combination of
# --mip on|off, two learning rates and three seeds, then one table and one curves PNG.
#
#   tools/hypernet-compare.sh [OUT_DIR]        (default: hypernet-compare/)
#
# Environment: HYPER (the hyper executable; default the Release build), DATA_A, DATA_B
# (default ../shared/data/moby-dick.txt and ../shared/data/state-of-the-union.txt), STEPS
# (default 500), LRS (default "1e-3 3e-3"), SEEDS (default "1 2 3"), TARGET (default 2.6).
# A run whose folder already holds a result is skipped, so an interrupted sweep can be rerun.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-hypernet-compare}
hyper=${HYPER:-$(ls "$root"/src/Cli/bin/Release/net*/hyper | head -1)}
data_a=${DATA_A:-$root/../shared/data/moby-dick.txt}
data_b=${DATA_B:-$root/../shared/data/state-of-the-union.txt}
steps=${STEPS:-500}
lrs=${LRS:-1e-3 3e-3}
seeds=${SEEDS:-1 2 3}
target=${TARGET:-2.6}
mkdir -p "$out"
for lr in $lrs; do
  for seed in $seeds; do
    for mip in on off; do
      run="$out/mip-$mip-lr-$lr-seed-$seed"
      [ -f "$run/result.json" ] && continue
      rm -rf "$run"
      echo "== $run" >&2
      "$hyper" hypernet train --data-a "$data_a" --data-b "$data_b" --model tiny --seq 64 --batch 8 \
        --steps "$steps" --eval-every 25 --eval-windows 16 --target-loss "$target" \
        --mip "$mip" --lr "$lr" --seed "$seed" --out "$run" --json > "$run.json.tmp"
      mv "$run.json.tmp" "$run/result.json"
    done
  done
done
"$hyper" hypernet compare --target-loss "$target" --plot "$out/curves.png" "$out"/mip-*/   # folders only: an interrupted run leaves a .json.tmp beside its folder
