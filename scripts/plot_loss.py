#!/usr/bin/env python3
"""Draw training curves from bit-ttt train logs (train_log.jsonl) into a PNG.

Usage: scripts/plot_loss.py OUT.png LABEL=RUN_DIR/train_log.jsonl [LABEL=...] [--bytes-per-token X] [--ylim LO HI]
Training loss is smoothed over 20 steps; validation loss is drawn as points. With --bytes-per-token the right axis
shows validation bits per byte (loss / ln 2 / bytes per token). Needs matplotlib (python3 -m pip install matplotlib).
"""
import argparse
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path):
    steps, losses, val_steps, vals = [], [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            steps.append(rec["step"])
            losses.append(rec["loss"])
            if "val_loss" in rec:
                val_steps.append(rec["step"])
                vals.append(rec["val_loss"])
    return steps, losses, val_steps, vals


def smooth(values, window=20):
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description="Draw bit-ttt training curves into a PNG.")
    ap.add_argument("out", help="the PNG to write")
    ap.add_argument("runs", nargs="+", metavar="LABEL=train_log.jsonl")
    ap.add_argument("--bytes-per-token", type=float, help="adds a bits-per-byte axis (validation bytes / tokens)")
    ap.add_argument("--ylim", type=float, nargs=2, metavar=("LO", "HI"), help="loss range to show")
    args = ap.parse_args(argv[1:])
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for run in args.runs:
        if "=" not in run:
            ap.error("a run is LABEL=PATH, got %r" % run)
        label, path = run.split("=", 1)
        steps, losses, val_steps, vals = read_log(path)
        line, = ax.plot(steps, smooth(losses), linewidth=1.2, label=f"{label} train")
        if vals:
            ax.plot(val_steps, vals, "o--", color=line.get_color(), markersize=4, label=f"{label} validation")
    ax.set_xlabel("step (batch 16 x 128 tokens)")
    ax.set_ylabel("cross-entropy (nats / token)")
    if args.ylim:
        ax.set_ylim(*args.ylim)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    bpt = args.bytes_per_token
    if bpt:
        sec = ax.secondary_yaxis("right", functions=(lambda l: l / math.log(2) / bpt, lambda b: b * math.log(2) * bpt))
        sec.set_ylabel("bits per byte")
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main(sys.argv)
