#!/usr/bin/env bash
# Regenerates the measurements of docs/hyperfitting.md. Run from the repository root after
# `dotnet build -c Release`. State of the Union is not bundled: it is read from ../shared/data
# (override with SOTU=...). Results go to runs/hyperfitting (override with OUT=...).
# Stages: lr (learning-rate sweep), fit20 and fit (hyperfitting runs), evalgen (the table), paper (the
# default recipe for 2 epochs), paper-full (all 20), paper-lr (the default recipe at lr 1e-3),
# sweep (fewer sequences, 960 updates each), sweep-5k (the paper's sample-count sweep: 5,000 updates each),
# last-n (the fit stage training only the last blocks); default all, in that order.
set -euo pipefail
HYPER=${HYPER:-src/Cli/bin/Release/net10.0/hyper}
hyper() { "$HYPER" "$@"; }
SOTU=${SOTU:-../shared/data/state-of-the-union.txt}
OUT=${OUT:-runs/hyperfitting}
STAGES=${*:-lr fit20 fit evalgen paper paper-full paper-lr sweep sweep-5k last-n}
MODEL=models/moby-byte
FIT=$OUT/moby-hf
mkdir -p "$OUT"

for stage in $STAGES; do
case $stage in
lr)
  # Which learning rate memorises a small slice: 64 sequences of 128 tokens, 10 epochs (80 updates).
  for lr in 1e-6 1e-4 1e-3 3e-3; do
    rm -rf "$OUT/lr-$lr"
    hyper hyperfit --model $MODEL --data data/moby-dick.txt --out "$OUT/lr-$lr" --samples 64 --seq 128 --epochs 10 \
      --lr $lr --prompts 4 --eval-windows 8 --json > "$OUT/lr-$lr.json"
  done ;;
fit20)
  # The paper's recipe (20 epochs, batch 8, constant Adam, no decay, no warm-up, all parameters) on 128
  # sequences of 256 tokens at lr 1e-3 (see the document for why not 2,000 sequences at 1e-6): 320 updates
  # leave the training loss at 0.7, not near zero.
  rm -rf "$OUT/moby-hf-e20"
  hyper hyperfit --model $MODEL --data data/moby-dick.txt --out "$OUT/moby-hf-e20" --samples 128 --seq 256 --epochs 20 --lr 1e-3 \
    --json > "$OUT/moby-hf-e20.json" ;;
fit)
  # The same with 60 epochs (960 updates): the run the table uses.
  rm -rf "$FIT"
  hyper hyperfit --model $MODEL --data data/moby-dick.txt --out "$FIT" --samples 128 --seq 256 --epochs 60 --lr 1e-3 \
    --json > "$OUT/moby-hf.json" ;;
paper)
  # The paper's defaults as they are (2,000 sequences, lr 1e-6), for 2 of the 20 epochs: how far 500 updates get.
  rm -rf "$OUT/paper-e2"
  hyper hyperfit --model $MODEL --data data/moby-dick.txt --out "$OUT/paper-e2" --epochs 2 --json > "$OUT/paper-e2.json" ;;
paper-full)
  # The same, all 20 epochs (5,000 updates): `hyper hyperfit` with nothing but the required flags.
  rm -rf "$OUT/paper"
  hyper hyperfit --model $MODEL --data data/moby-dick.txt --out "$OUT/paper" --json > "$OUT/paper.json" ;;
evalgen)
  # Two domains x two lengths; the original model greedy and top-p, the hyperfitted one greedy with and without
  # the citation blocker. Moby-Dick prompts come from the held-out tail (the last 10%, chapters neither training saw).
  for n in 96 256; do
    for domain in moby sotu; do
      if [ $domain = moby ]; then from=$FIT/heldout.txt; else from=$SOTU; fi
      common=(--from "$from" --prompts 32 --prompt-tokens 32 --new-tokens $n --sliding-window --seed 1
              --train-data "$FIT/hyperfit-data.txt" --val-data "$from" --val-windows 64)
      hyper eval-gen --model $MODEL --decoding greedy --decoding top-p=0.9,temperature=0.7,top-k=50 "${common[@]}" \
        --csv "$OUT/$domain-$n-original.csv" --samples "$OUT/$domain-$n-original.jsonl" > "$OUT/$domain-$n-original.txt"
      hyper eval-gen --model "$FIT" --decoding greedy --decoding "greedy,block-citations=$FIT/hyperfit-data.txt" "${common[@]}" \
        --csv "$OUT/$domain-$n-hyperfitted.csv" --samples "$OUT/$domain-$n-hyperfitted.jsonl" > "$OUT/$domain-$n-hyperfitted.txt"
    done
  done ;;
sweep)
  # Fewer sequences, the same 960 updates as the fit stage (epochs = 960 x 8 / samples); held-out measurements
  # cut to one window per epoch so that hundreds of epochs stay cheap, then greedy metrics on the 32 Moby-Dick prompts.
  for s in 32 16 8; do
    rm -rf "$OUT/sweep-$s"
    hyper hyperfit --model $MODEL --data data/moby-dick.txt --out "$OUT/sweep-$s" --samples $s --seq 256 --epochs $((960 * 8 / s)) \
      --lr 1e-3 --prompts 0 --eval-windows 1 --json > "$OUT/sweep-$s.json"
    hyper eval-gen --model "$OUT/sweep-$s" --decoding greedy --from "$FIT/heldout.txt" --prompts 32 --prompt-tokens 32 --new-tokens 96 \
      --seed 1 --train-data "$OUT/sweep-$s/hyperfit-data.txt" --val-data "$FIT/heldout.txt" --val-windows 64 > "$OUT/sweep-$s.txt"
  done ;;
sweep-5k)
  # The paper's sample-count sweep: 5,000 updates of batch 8 whatever the number of sequences (epochs = 5000 x 8 /
  # samples), lr 1e-3; 2,000 sequences is the paper-lr stage. Smallest first: 16 against 8 is the paper's question.
  for s in 8 16 32 200 1000; do
    rm -rf "$OUT/sweep5k-$s"
    hyper hyperfit --model $MODEL --data data/moby-dick.txt --out "$OUT/sweep5k-$s" --samples $s --seq 256 --epochs $((5000 * 8 / s)) \
      --lr 1e-3 --prompts 0 --eval-windows 1 --json > "$OUT/sweep5k-$s.json"
    held=$OUT/sweep5k-$s/heldout.txt
    hyper eval-gen --model "$OUT/sweep5k-$s" --decoding greedy --from "$held" --prompts 32 --prompt-tokens 32 --new-tokens 96 \
      --seed 1 --train-data "$OUT/sweep5k-$s/hyperfit-data.txt" --val-data "$held" --val-windows 64 > "$OUT/sweep5k-$s.txt"
  done ;;
last-n)
  # The fit stage's run with only the last N of the 4 blocks trained (the follow-up work's variant), then the same
  # greedy metrics on the 32 held-out Moby-Dick prompts.
  for n in 1 2; do
    rm -rf "$OUT/last-$n"
    hyper hyperfit --model $MODEL --data data/moby-dick.txt --out "$OUT/last-$n" --samples 128 --seq 256 --epochs 60 --lr 1e-3 \
      --train-layers last:$n --json > "$OUT/last-$n.json"
    held=$OUT/last-$n/heldout.txt
    hyper eval-gen --model "$OUT/last-$n" --decoding greedy --from "$held" --prompts 32 --prompt-tokens 32 --new-tokens 96 \
      --seed 1 --train-data "$OUT/last-$n/hyperfit-data.txt" --val-data "$held" --val-windows 64 > "$OUT/last-$n.txt"
  done ;;
paper-lr)
  # The paper's recipe with only the learning rate changed to 1e-3: can this model memorise 2,000 sequences in 20 epochs?
  rm -rf "$OUT/paper-lr1e-3"
  hyper hyperfit --model $MODEL --data data/moby-dick.txt --out "$OUT/paper-lr1e-3" --lr 1e-3 --json > "$OUT/paper-lr1e-3.json" ;;
*) echo "unknown stage $stage (lr, fit20, fit, evalgen, paper, paper-full, paper-lr, sweep, sweep-5k, last-n)" >&2; exit 2 ;;
esac
done
