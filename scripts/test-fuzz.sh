#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan + UBSan with float-cast-overflow) and runs each for a short
# smoke run from its seed corpus plus the regression inputs in tests/fuzz/regressions/<target>/ (past findings,
# replayed every time). FUZZ_SECONDS per target (default 10). Any crash, leak, timeout or UB fails the script and
# leaves the input in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-10}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTTT_BUILD_FUZZ=ON \
  -DTTT_SANITIZE=address,undefined,float-cast-overflow -DTTT_BUILD_TESTS=OFF -DTTT_BUILD_BENCH=OFF \
  -DTTT_BUILD_EXAMPLES=OFF -DTTT_CUDA=OFF >/dev/null
# The seed script needs a bit-ttt (to write a .bitt v3 and a soul): the release build's when there is one.
cli=build/bit-ttt
[ -x "$cli" ] || { cli=build-fuzz/bit-ttt; extra=bit-ttt; }
cmake --build build-fuzz -j2 --target ${extra:-} fuzz_bitt fuzz_model_dir fuzz_soul fuzz_tokenizer fuzz_memories fuzz_sampler fuzz_chat_template
rm -rf build-fuzz/seeds build-fuzz/artifacts
mkdir -p build-fuzz/artifacts
tests/fuzz/seeds.sh build-fuzz/seeds "$cli"
for t in fuzz_bitt fuzz_model_dir fuzz_soul fuzz_tokenizer fuzz_memories fuzz_sampler fuzz_chat_template; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  dirs=("$corpus" "build-fuzz/seeds/$t")
  [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
  echo "fuzz $t: ${seconds}s"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=200000 \
    -artifact_prefix=build-fuzz/artifacts/"$t"- -print_final_stats=1 "${dirs[@]}" 2>build-fuzz/$t.log ||
    { tail -60 build-fuzz/$t.log; echo "fuzz target $t FAILED; input in build-fuzz/artifacts/"; exit 1; }
  grep -E "stat::number_of_executed_units|cov:" build-fuzz/$t.log | tail -2 | tr '\n' ' '; echo
done
