#!/usr/bin/env bash
# Reproduces the demo model (models/shakespeare-demo.bitt) with our own tokenizer trainer and model trainer:
# a byte-level BPE tokenizer and a BitLlama trained on tinyshakespeare.txt, the last 10% held out for validation.
# Usage: scripts/train-demo.sh [CORPUS] [WORK_DIR]   (needs build/bit-ttt; about 20 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/data/tinyshakespeare.txt}
work=${2:-build/demo-run}
bit_ttt=build/bit-ttt
[ -f "$corpus" ] || { echo "train-demo: no corpus at $corpus" >&2; exit 1; }
mkdir -p "$work"

# The tokenizer sees only the first 90% of the text, so the validation text stays unseen.
head -c $(( $(stat -c %s "$corpus") * 9 / 10 )) "$corpus" > "$work/train_part.txt"
"$bit_ttt" vocab --input "$work/train_part.txt" --vocab-size 1024 --special "<|endoftext|>" --out "$work/tokenizer.json"
"$bit_ttt" data --tokenizer "$work/tokenizer.json" --input "$corpus" --out "$work/data" --val-fraction 0.1

rm -rf "$work/run"
"$bit_ttt" train --data "$work/data" --out "$work/run" --dim 256 --layers 4 --context-len 128 --batch-size 16 \
  --steps 1600 --warmup-steps 100 --lr 2e-3 --min-lr 1e-4 --weight-decay 0.05 --eval-interval 200 --eval-batches 16 \
  --save-interval 200 --threads 2 --seed 1
"$bit_ttt" eval -m "$work/run/model.bitt" --data "$work/data/val.u32"
cp "$work/run/model.bitt" models/shakespeare-demo.bitt
echo "wrote models/shakespeare-demo.bitt"
