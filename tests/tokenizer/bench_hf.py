#!/usr/bin/env python3
"""HF `tokenizers` throughput on the workloads of bench/bench_tokenizer.cpp, on one thread, for comparison:
encode tinyshakespeare in one call, encode it line by line, decode all its ids; MB/s of UTF-8 text.

    python3 tests/tokenizer/bench_hf.py [--shared ../shared/data] [--repeat 5]

One thread: RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false are set before the package is imported
(encode of a single string is single-threaded anyway; this also keeps batch helpers from fanning out).
Reported time is the best of --repeat runs of CPU time (process_time), like Google Benchmark's CPU column.
"""
import os

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import time  # noqa: E402

import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with open(os.path.join(args.shared, "tinyshakespeare.txt"), encoding="utf-8") as f:
        corpus = f.read()
    mb = len(corpus.encode("utf-8")) / 1e6
    lines = corpus.splitlines(keepends=True)
    tokenizers_ = {
        "tinyllama": os.path.join(args.shared, "tokenizers", "tinyllama-tokenizer.json"),
        "bytelevel": os.path.join(REPO, "tests", "data", "tokenizer", "ttt_bytelevel.json"),
    }
    print("HF tokenizers %s, one thread, %.2f MB corpus, best of %d (CPU time)" % (tokenizers.__version__, mb,
                                                                                   args.repeat))
    for name, path in tokenizers_.items():
        tok = Tokenizer.from_file(path)
        ids = tok.encode(corpus, add_special_tokens=False).ids
        t_whole = best(lambda: tok.encode(corpus, add_special_tokens=False), args.repeat)
        t_lines = best(lambda: [tok.encode(line, add_special_tokens=False) for line in lines], args.repeat)
        t_dec = best(lambda: tok.decode(ids, skip_special_tokens=False), args.repeat)
        print("  %-10s encode whole %7.2f MB/s   encode lines %7.2f MB/s   decode %7.2f MB/s   (%d tokens)" % (
            name, mb / t_whole, mb / t_lines, mb / t_dec, len(ids)))


if __name__ == "__main__":
    main()
