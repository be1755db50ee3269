#!/usr/bin/env python3
"""Turn a Google Benchmark JSON file from ttt_bench into the markdown tables of docs/performance.md.

    build/bench/ttt_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \\
        --benchmark_out=bench.json --benchmark_out_format=json
    python3 bench/report.py bench.json

Medians of the repetitions. Every rate is also given as a ratio to the same run's memory-read probe
(BM_MemoryReadBandwidth with the same thread count) where bytes are meaningful, because this shared VM's
bandwidth varies from run to run.
"""
import json
import sys


def medians(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    rows = {}
    for b in doc["benchmarks"]:
        if b.get("aggregate_name") == "median":
            rows[b["run_name"]] = b
    return doc["context"], rows


def fmt_time(b):
    us = b["real_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
    return "%.3g µs" % us if us < 1000 else "%.3g ms" % (us / 1000) if us < 1e6 else "%.3g s" % (us / 1e6)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    context, rows = medians(sys.argv[1])
    probe = {}
    for name, b in rows.items():
        if name.startswith("BM_MemoryReadBandwidth/threads:"):
            probe[int(name.split("threads:")[1].split("/")[0])] = b["GB/s"] / 1e9
    print("Run %s, %d CPUs, load average %s, Google Benchmark library built as %s.\n" % (
        context["date"], context["num_cpus"], " ".join("%.2f" % x for x in context.get("load_avg", [])),
        context.get("library_build_type", "?")))
    print("| benchmark | median time | rate | vs probe |")
    print("|---|---|---|---|")
    for name, b in rows.items():
        threads = 1
        if "threads:" in name:
            threads = int(name.split("threads:")[1].split("/")[0])
        rate, ratio = "", ""
        if "GB/s" in b:
            gbs = b["GB/s"] / 1e9
            rate = "%.3g GB/s" % gbs
            if "Gw/s" in b:
                rate += ", %.3g Gw/s" % (b["Gw/s"] / 1e9)
            if not name.startswith("BM_MemoryReadBandwidth") and threads in probe:
                ratio = "%.2g%%" % (100.0 * gbs / probe[threads])
        elif "bytes_per_second" in b:
            rate = "%.3g MB/s" % (b["bytes_per_second"] / 1e6)
        elif "tokens/s" in b:
            rate = "%.4g tokens/s" % b["tokens/s"]
            if b.get("label"):
                rate += " (%s)" % b["label"]
        elif "file_MB" in b:
            rate = "file %.1f MB; resident +%.1f MB private, +%.1f MB mapped (%s)" % (
                b["file_MB"], b["anon_MB"], b["mapped_MB"], b.get("label", ""))
        elif "FLOP/s" in b:
            rate = "%.3g GFLOP/s (%s)" % (b["FLOP/s"] / 1e9, b.get("label", ""))
        print("| `%s` | %s | %s | %s |" % (name.replace("/real_time", ""), fmt_time(b), rate, ratio))


if __name__ == "__main__":
    main()
