#!/usr/bin/env bash
# The effect of HyperAttention on a trained model: held-out loss at a 1024-token context with
# exact attention, then with the last N layers switched to HyperAttention (no retraining), then
# after a short fine-tune with those layers on. Writes JSON lines to $OUT/effect.jsonl.
# Usage: tools/hyperattention-effect.sh [OUT]   (default runs/hyperattention)
set -euo pipefail
OUT=${1:-runs/hyperattention}
HYPER=${HYPER:-"dotnet run -c Release --project src/Cli --"}
mkdir -p "$OUT"
cat > "$OUT/config.json" <<'JSON'
{"n_embd": 128, "n_layer": 4, "n_head": 4, "n_positions": 1024, "vocab_size": 256, "layer_norm_epsilon": 1e-5}
JSON
# Byte-level, so the trainer's held-out 5% is the file's last 5% of bytes: evaluate on exactly that.
tail -c 59000 data/moby-dick.txt > "$OUT/heldout.txt"
HA=(--min-seq 128 --block 64 --samples 64 --lsh-projs 7)

[ -f "$OUT/exact/config.json" ] || $HYPER train --model "$OUT/config.json" --data data/moby-dick.txt --out "$OUT/exact" \
  --steps 400 --batch 4 --seq 1024 --lr 2e-3 --warmup 20 --eval-every 100
: > "$OUT/effect.jsonl"
row() { # name, then eval flags
  local name=$1; shift
  local j; j=$($HYPER eval --model "$@" --data "$OUT/heldout.txt" --seq 1024 --json | tail -1)
  echo "{\"setting\": \"$name\", ${j#\{}" | tee -a "$OUT/effect.jsonl"
}
row "exact" "$OUT/exact"
for n in 1 2 4; do
  layers=last:$n; [ $n = 4 ] && layers=all
  row "hyper $layers, no retraining" "$OUT/exact" --attention hyper --hyper-layers $layers "${HA[@]}"
done
for b in 32 128 256; do
  row "hyper last:2, block $b, no retraining" "$OUT/exact" --attention hyper --hyper-layers last:2 --min-seq 128 --block $b --samples $b --lsh-projs 7
done
# Fine-tune 60 steps with the last two layers on HyperAttention, and the same 60 steps exact (control).
$HYPER train --model "$OUT/exact" --data data/moby-dick.txt --out "$OUT/ft-hyper" --steps 60 --batch 4 --seq 1024 --lr 5e-4 \
  --schedule constant --eval-every 0 --attention hyper --hyper-layers last:2 "${HA[@]}"
$HYPER train --model "$OUT/exact" --data data/moby-dick.txt --out "$OUT/ft-exact" --steps 60 --batch 4 --seq 1024 --lr 5e-4 \
  --schedule constant --eval-every 0
row "exact, fine-tuned 60 steps exact" "$OUT/ft-exact"
row "hyper last:2, fine-tuned 60 steps with it" "$OUT/ft-hyper"
row "exact attention on the hyper-fine-tuned model" "$OUT/ft-hyper" --attention exact
