#!/usr/bin/env python3
"""The recall and second-read measurements of `bit-ttt memory` (docs/memory.md), reproduced through the Python
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--passages", type=int, default=8)
    ap.add_argument("--passage-len", type=int, default=200)
    ap.add_argument("--repeats", default="1,3,10")
    args = ap.parse_args()
    tokens = np.fromfile(args.data, dtype="<u4").astype(np.int32)
    with bit_ttt.Model(args.model) as model:
        first = second = 0.0
        n = 0
        L = args.passage_len
        for i in range(args.passages):
            passage = tokens[i * L:(i + 1) * L]
            if len(passage) < L:
                break
            twice = np.concatenate([passage, passage])
            with model.context() as ctx:
                lp = log_softmax(np.asarray(ctx.forward_all(twice[:-1])))
            nll = -lp[np.arange(2 * L - 1), twice[1:]]
            first += nll[:L - 1].sum()
            second += nll[L:2 * L - 1].sum()
            n += 1
        if n:
            print("second read (%d passages): first copy %.4f, second copy %.4f nats/token" %
                  (n, first / (n * (L - 1)), second / (n * (L - 1))))
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
