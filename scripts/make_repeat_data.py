#!/usr/bin/env python3
"""Training text that rewards remembering: passages of the training tokens, some read twice in a row.

Natural text rarely repeats itself within a training window, so a model trained on it gains almost nothing from
copying what it has read, and its fast-weight memory never learns to store and recall (docs/memory.md). This script
cuts train.u32 into passages of random length and writes every passage once, and a fraction of them twice in a row
(A A B C C ...), so that any window of a few hundred tokens holds text whose continuation it has already seen.
The held-out file (val.u32), the tokenizer and the byte counts of the held-out text are copied unchanged: the
model is still evaluated on natural text.

Usage: make_repeat_data.py IN_DIR OUT_DIR [--fraction 0.5] [--min-len 32] [--max-len 256] [--seed 1]
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
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not 0.0 <= a.fraction <= 1.0 or not 1 <= a.min_len <= a.max_len:
        sys.exit("make_repeat_data: need 0 <= --fraction <= 1 and 1 <= --min-len <= --max-len")
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
    out = array.array("I")
    i, repeated = 0, 0
    while i < len(tokens):
        n = rng.randint(a.min_len, a.max_len)
        passage = tokens[i:i + n]
        out.extend(passage)
        if rng.random() < a.fraction:
            out.extend(passage)
            repeated += len(passage)
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
          f"fraction {a.fraction}, passages of {a.min_len}..{a.max_len})")


if __name__ == "__main__":
    main()
