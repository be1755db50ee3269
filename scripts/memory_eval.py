#!/usr/bin/env python3
"""The recall, second-read and copy measurements of `bit-ttt memory` (docs/memory.md), reproduced through the Python
binding: Model.tokenize, Context.learn and Context.forward_all. Prints the same figures as the CLI for the same
model and data (the CLI's run the same forward; tests/test_memory_eval.cpp checks the C API equals it exactly).

    BIT_TTT_LIBRARY=build/libbit_ttt.so python3 scripts/memory_eval.py MODEL VAL.u32 [--passages 8 --passage-len 200]

Needs numpy.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bindings", "python_ctypes"))
import bit_ttt  # noqa: E402

FACTS = [("My name is", " Zorbalind"), ("The password of the vault is", " quelmarine"),
         ("The dragon of the lake is called", " Vashtorum"), ("My sister lives in the town of", " Brindlecombe"),
         ("The secret ingredient of the soup is", " glimmerroot")]


def log_softmax(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float64)
    mx = rows.max(axis=-1, keepdims=True)
    return rows - mx - np.log(np.exp(rows - mx).sum(axis=-1, keepdims=True))


def answer_logprob(model, ctx, prefix: str, answer: str) -> float:
    ids = list(model.tokenize(prefix)) + list(model.tokenize(answer))
    start = len(model.tokenize(prefix))
    lp = log_softmax(np.asarray(ctx.forward_all(ids[:-1])))
    return float(sum(lp[t - 1, ids[t]] for t in range(start, len(ids))))


def splitmix64(state: int):
    """The generator `bit-ttt memory`'s copy test draws its positions with (src/common/rng.h)."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        yield z ^ (z >> 31)


def read_twice(model, passages, L: int):
    """Mean loss on the first and the second copy of each passage read twice from a fresh soul (targets 1..L-1 and
    L+1..2L-1, as the CLI)."""
    first = second = 0.0
    n = 0
    for passage in passages:
        if len(passage) < L:
            break
        twice = np.concatenate([passage, passage])
        with model.context() as ctx:
            lp = log_softmax(np.asarray(ctx.forward_all(twice[:-1])))
        nll = -lp[np.arange(2 * L - 1), twice[1:]]
        first += nll[:L - 1].sum()
        second += nll[L:2 * L - 1].sum()
        n += 1
    return n, (first / (n * (L - 1)) if n else 0.0), (second / (n * (L - 1)) if n else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--passages", type=int, default=8)
    ap.add_argument("--passage-len", type=int, default=200)
    ap.add_argument("--copy-passages", type=int, default=16)
    ap.add_argument("--copy-len", type=int, default=64)
    ap.add_argument("--repeats", default="1,3,10")
    args = ap.parse_args()
    tokens = np.fromfile(args.data, dtype="<u4").astype(np.int32)
    with bit_ttt.Model(args.model) as model:
        L = args.passage_len
        n, first, second = read_twice(model, (tokens[i * L:(i + 1) * L] for i in range(args.passages)), L)
        if n:
            print("second read (%d passages): first copy %.4f, second copy %.4f nats/token" % (n, first, second))
        rng = splitmix64(20261205)
        C = args.copy_len
        n, first, second = read_twice(
            model, (np.array([tokens[next(rng) % len(tokens)] for _ in range(C)]) for _ in range(args.copy_passages)), C)
        if n:
            print("copy (%d passages of random tokens): first copy %.4f, second copy %.4f nats/token" % (n, first, second))
        repeats = [int(k) for k in args.repeats.split(",")]
        print("fact recall, log p(answer | prefix): fresh, then learned k times", repeats)
        for prefix, answer in FACTS:
            with model.context() as ctx:
                fresh = answer_logprob(model, ctx, prefix, answer)
            learned = []
            for k in repeats:
                with model.context() as ctx:
                    for _ in range(k):
                        ctx.learn(prefix + answer + ".")
                    learned.append(answer_logprob(model, ctx, prefix, answer))
            print("  %-40s fresh %8.2f  %s" % (prefix + " ->" + answer, fresh,
                                                "  ".join("k=%d %8.2f" % (k, v) for k, v in zip(repeats, learned))))


if __name__ == "__main__":
    main()
