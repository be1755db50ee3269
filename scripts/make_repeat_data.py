#!/usr/bin/env python3
"""Training text that rewards remembering: passages of the training tokens, some read twice in a row.

Natural text rarely repeats itself within a training window, so a model trained on it gains almost nothing from
copying what it has read, and its fast-weight memory never learns to store and recall (docs/memory.md). This script
cuts train.u32 into passages of random length and writes every passage once, and a fraction of them twice in a row
(A A B C C ...), so that any window of a few hundred tokens holds text whose continuation it has already seen.
With --random-fraction R, after a share R of the passages a second kind of passage follows: tokens drawn at random
from the training text (so each is a real token at its natural frequency, but the sequence has no structure) and
then the same random tokens again. Nothing but copying predicts the second half, so these passages give the
strongest gradient towards a memory that stores "what followed what" and reads it back (docs/training.md).
The held-out file (val.u32), the tokenizer and the byte counts of the held-out text are copied unchanged: the
model is still evaluated on natural text.

Usage: make_repeat_data.py IN_DIR OUT_DIR [--fraction 0.5] [--min-len 32] [--max-len 256]
                           [--random-fraction 0] [--random-min-len 8] [--random-max-len 64] [--seed 1]
IN_DIR is a `bit-ttt data` folder (train.u32, val.u32, tokenizer.json, *.meta.json). Standard library only.
"""
import argparse
import array
import json
import os
import random
import shutil
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("in_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--fraction", type=float, default=0.5, help="share of passages written twice (0..1)")
    ap.add_argument("--min-len", type=int, default=32, help="shortest passage, tokens")
    ap.add_argument("--max-len", type=int, default=256, help="longest passage, tokens")
    ap.add_argument("--random-fraction", type=float, default=0.0,
                    help="share of passages followed by a random-token passage written twice (0..1)")
    ap.add_argument("--random-min-len", type=int, default=8, help="shortest random passage, tokens")
    ap.add_argument("--random-max-len", type=int, default=64, help="longest random passage, tokens")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not 0.0 <= a.fraction <= 1.0 or not 1 <= a.min_len <= a.max_len:
        sys.exit("make_repeat_data: need 0 <= --fraction <= 1 and 1 <= --min-len <= --max-len")
    if not 0.0 <= a.random_fraction <= 1.0 or not 1 <= a.random_min_len <= a.random_max_len:
        sys.exit("make_repeat_data: need 0 <= --random-fraction <= 1 and 1 <= --random-min-len <= --random-max-len")
    src = os.path.join(a.in_dir, "train.u32")
    tokens = array.array("I")
    with open(src, "rb") as f:
        data = f.read()
    if len(data) % 4:
        sys.exit(f"make_repeat_data: {src} is not a whole number of u32 tokens")
    tokens.frombytes(data)
    if sys.byteorder != "little":
        tokens.byteswap()

    rng = random.Random(a.seed)
    # A separate generator for the random passages, so that --random-fraction 0 writes exactly the file it wrote
    # before the option existed.
    rng_random = random.Random(a.seed + 1000003)
    out = array.array("I")
    i, repeated, random_tokens = 0, 0, 0
    while i < len(tokens):
        n = rng.randint(a.min_len, a.max_len)
        passage = tokens[i:i + n]
        out.extend(passage)
        if rng.random() < a.fraction:
            out.extend(passage)
            repeated += len(passage)
        if a.random_fraction > 0 and rng_random.random() < a.random_fraction:
            m = rng_random.randint(a.random_min_len, a.random_max_len)
            noise = array.array("I", (tokens[rng_random.randrange(len(tokens))] for _ in range(m)))
            out.extend(noise)
            out.extend(noise)
            random_tokens += 2 * m
        i += n

    os.makedirs(a.out_dir, exist_ok=True)
    for name in ("val.u32", "val.meta.json", "tokenizer.json"):
        shutil.copyfile(os.path.join(a.in_dir, name), os.path.join(a.out_dir, name))
    with open(os.path.join(a.in_dir, "train.meta.json")) as f:
        meta = json.load(f)
    # The byte count scales with the tokens (it is only used for bits per byte of this file).
    meta["bytes"] = int(round(meta["bytes"] * len(out) / max(1, len(tokens))))
    meta["tokens"] = len(out)
    if sys.byteorder != "little":
        out.byteswap()
    tmp = os.path.join(a.out_dir, "train.u32.tmp")
    with open(tmp, "wb") as f:
        out.tofile(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(a.out_dir, "train.u32"))
    with open(os.path.join(a.out_dir, "train.meta.json"), "w") as f:
        json.dump(meta, f)
    print(f"wrote {a.out_dir}/train.u32: {len(out)} tokens ({len(tokens)} read, {repeated} repeated, "
          f"fraction {a.fraction}, passages of {a.min_len}..{a.max_len}; {random_tokens} in random passages written "
          f"twice, fraction {a.random_fraction}, {a.random_min_len}..{a.random_max_len} tokens)")


if __name__ == "__main__":
    main()
