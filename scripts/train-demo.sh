#!/usr/bin/env bash
# Reproduces the demo model (models/shakespeare-demo.bitt) with our own tokenizer trainer and model trainer:
# a byte-level BPE tokenizer and a BitLlama with the delta TTT layer (docs/memory.md) trained on tinyshakespeare.txt,
# the last 10% held out for validation. The training text repeats some passages (scripts/make_repeat_data.py) so
# that remembering what was read pays during training; see docs/training.md for why.
#
# Usage: scripts/train-demo.sh [--upstream] [CORPUS] [WORK_DIR]   (needs build/bit-ttt and python3)
#   default      the delta-layer demo model (models/shakespeare-demo.bitt; about 20 minutes of training on 2 free
#                cores, 35 minutes on one)
#   --upstream   the first demo model, upstream's TTT layer on 128-token windows, kept as a test fixture
#                (tests/data/models/shakespeare-upstream.bitt; about 20 minutes on 2 cores)
# Extra trainer flags can be appended through TRAIN_FLAGS (e.g. TRAIN_FLAGS="--threads 1"); a stopped run
# continues with TRAIN_FLAGS=--resume and the same WORK_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=delta
if [ "${1:-}" = "--upstream" ]; then kind=upstream; shift; fi
corpus=${1:-../shared/data/tinyshakespeare.txt}
work=${2:-build/demo-run-$kind}
bit_ttt=${BIT_TTT:-build/bit-ttt}
[ -f "$corpus" ] || { echo "train-demo: no corpus at $corpus" >&2; exit 1; }
mkdir -p "$work"

# The tokenizer sees only the first 90% of the text, so the validation text stays unseen.
head -c $(( $(stat -c %s "$corpus") * 9 / 10 )) "$corpus" > "$work/train_part.txt"
"$bit_ttt" vocab --input "$work/train_part.txt" --vocab-size 1024 --special "<|endoftext|>" --out "$work/tokenizer.json"
"$bit_ttt" data --tokenizer "$work/tokenizer.json" --input "$corpus" --out "$work/data" --val-fraction 0.1

resume=0
case " ${TRAIN_FLAGS:-} " in *" --resume "*) resume=1 ;; esac
[ "$resume" = 1 ] || rm -rf "$work/run"
if [ "$kind" = upstream ]; then
  # The first demo model (2026-11-26): upstream's layer, 128-token windows, natural text.
  "$bit_ttt" train --data "$work/data" --out "$work/run" --dim 256 --layers 4 --context-len 128 --batch-size 16 \
    --steps 1600 --warmup-steps 100 --lr 2e-3 --min-lr 1e-4 --weight-decay 0.05 --eval-interval 200 --eval-batches 16 \
    --save-interval 200 --threads 2 --seed 1 ${TRAIN_FLAGS:-}
  dest=tests/data/models/shakespeare-upstream.bitt
else
  # Half of the training passages (16..256 tokens) are read twice in a row, and after 30 % of them comes a passage
  # of random tokens (8..96) written twice, which only copying predicts; the held-out text stays natural. The
  # memory is four times the default width (ttt_dim 256: 2 heads of 128), starts as a previous-token lookup
  # (--ttt-recall-init) and with a decay of sigmoid(5) = 0.993 per token: docs/training.md ("Third pilots") says why.
  python3 scripts/make_repeat_data.py "$work/data" "$work/data-repeat" --fraction 0.5 --min-len 16 --max-len 256 \
    --random-fraction 0.3 --random-min-len 8 --random-max-len 96 --seed 1
  "$bit_ttt" train --data "$work/data-repeat" --out "$work/run" --dim 256 --layers 4 --ttt-kind delta --ttt-heads 2 \
    --ttt-dim 256 --ttt-recall-init 1 --inner-lr 1 --ttt-decay-bias 5 --bitlinear-scale 1 --context-len 512 \
    --batch-size 8 --steps 800 --warmup-steps 100 --lr 2e-3 --min-lr 1e-4 --weight-decay 0.05 --eval-interval 100 \
    --eval-batches 8 --save-interval 100 --threads 2 --seed 1 ${TRAIN_FLAGS:-}
  dest=models/shakespeare-demo.bitt
fi
"$bit_ttt" eval -m "$work/run/model.bitt" --data "$work/data/val.u32" --context-len 512
cp "$work/run/model.bitt" "$dest"
echo "wrote $dest"
