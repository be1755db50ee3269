#!/usr/bin/env bash
# ThreadSanitizer over the tests that use threads: cancels from other threads, busy contexts, many contexts on one
# model, concurrent tokenizer use, thread pools, sleep/learn cancels, and the CLI's signal watcher (Ctrl-C and
# SIGTERM tests run the TSan-built bit-ttt). A Release build (-O2, TSan instrumented) keeps it to a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Release -DTTT_SANITIZE=thread -DTTT_BUILD_BENCH=OFF \
  -DTTT_BUILD_EXAMPLES=OFF -DTTT_CUDA=OFF >/dev/null
cmake --build build-tsan -j2 --target ttt_tests
TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1 build-tsan/tests/ttt_tests \
  -tc='*cancel*,*thread*,*busy*,*abort callback*,*concurrent*,*Ctrl-C*,*SIGTERM*,*/wake*,*pool*'
