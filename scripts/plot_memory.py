#!/usr/bin/env python3
"""Plot the report of `bit-ttt memory --json` (docs/memory.md): loss by position bucket and fact recall.

    build/bit-ttt memory -m MODEL --data val.u32 --json memory.json
    python3 scripts/plot_memory.py memory.json docs/memory-demo.png [--label NAME] [--compare other.json --compare-label NAME]

Needs matplotlib (python3 -m pip install matplotlib); the test command does not.
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report")
    ap.add_argument("out")
    ap.add_argument("--label", default="model")
    ap.add_argument("--compare", help="a second report drawn beside the first")
    ap.add_argument("--compare-label", default="other")
    args = ap.parse_args()
    reports = [(args.label, json.load(open(args.report, encoding="utf-8")))]
    if args.compare:
        reports.append((args.compare_label, json.load(open(args.compare, encoding="utf-8"))))

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for label, r in reports:
        buckets = [b for b in r["positions"] if b["count"]]
        xs = [f'{b["begin"]}–{b["end"]}' for b in buckets]
        ax1.plot(xs, [b["mean_loss"] for b in buckets], marker="o", label=label)
    ax1.set_title("held-out loss by position")
    ax1.set_xlabel("token position in the window")
    ax1.set_ylabel("nats / token")
    ax1.legend()

    width = 0.8 / (len(reports) * 2)
    for i, (label, r) in enumerate(reports):
        facts = r["facts"]
        names = [f["answer"].strip() for f in facts]
        gain_learned = [f["learned"][-1] - f["fresh"] if f["learned"] else 0 for f in facts]
        gain_sleep = [f["after_sleep"] - f["fresh"] for f in facts]
        k = r["repeats"][-1] if r["repeats"] else 0
        xs = range(len(names))
        ax2.bar([x + (2 * i) * width for x in xs], gain_learned, width, label=f"{label}: learned {k}×")
        ax2.bar([x + (2 * i + 1) * width for x in xs], gain_sleep, width, label=f"{label}: after sleep")
        ax2.set_xticks([x + width for x in xs])
        ax2.set_xticklabels(names, rotation=20)
    ax2.axhline(0, color="black", linewidth=0.8)
    ax2.set_title("fact recall: gain in log p(answer | prefix) over a fresh soul")
    ax2.set_ylabel("nats")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)


if __name__ == "__main__":
    main()
