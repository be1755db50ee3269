#!/usr/bin/env bash
# Long fuzzing runs: each target for SECONDS (default 600) from its persistent corpus build-fuzz/corpus/<target>
# (kept between runs and minimised with -merge=1 afterwards), one target after another, nice'd. Prints executions
# and coverage per target. Build first with scripts/test-fuzz.sh (FUZZ_SECONDS=1 builds and smoke-runs quickly).
# Usage: scripts/fuzz-long.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_bitt fuzz_model_dir fuzz_soul fuzz_tokenizer fuzz_memories fuzz_sampler)
[ -d build-fuzz/seeds ] || tests/fuzz/seeds.sh build-fuzz/seeds "$([ -x build/bit-ttt ] && echo build/bit-ttt || echo build-fuzz/bit-ttt)"
mkdir -p build-fuzz/artifacts
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  dirs=("$corpus" "build-fuzz/seeds/$t")
  [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    nice -n 15 "build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=200000 -artifact_prefix=build-fuzz/artifacts/"$t"- -print_final_stats=1 "${dirs[@]}" \
    2>build-fuzz/$t.long.log || { tail -60 build-fuzz/$t.long.log; echo "$t FAILED"; }
  # Keep the corpus small: only inputs that add coverage.
  mkdir -p "$corpus.min"
  nice -n 15 "build-fuzz/tests/fuzz/$t" -merge=1 "$corpus.min" "$corpus" >/dev/null 2>&1 &&
    rm -rf "$corpus" && mv "$corpus.min" "$corpus"
  echo "$t: $(grep -E 'stat::number_of_executed_units' build-fuzz/$t.long.log | awk '{print $2}') executions in ${seconds}s," \
    "$(grep -oE 'cov: [0-9]+ ft: [0-9]+' build-fuzz/$t.long.log | tail -1), corpus $(ls "$corpus" | wc -l) files"
done
