#!/usr/bin/env bash
# Runs every test that can run without a GPU: installs what is missing, builds (CUDA code too when nvcc exists),
# runs the doctest suite and the C header test, the same suite under AddressSanitizer + UndefinedBehaviorSanitizer,
# the threaded tests under ThreadSanitizer, a short run of each fuzz target, and the Python and C# tests.
# Exit status 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
ctest --test-dir build --output-on-failure

echo "== AddressSanitizer + UndefinedBehaviorSanitizer (with float-cast-overflow) build and tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTTT_SANITIZE=address,undefined,float-cast-overflow -DTTT_BUILD_BENCH=OFF -DTTT_CUDA=OFF >/dev/null
cmake --build build-asan -j2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure

echo "== ThreadSanitizer build and the tests that use threads"; scripts/test-tsan.sh

echo "== libFuzzer targets (clang, ASan + UBSan): build and a short run of each"; scripts/test-fuzz.sh

echo "== Python tests: the numpy reference, the corpus generators, the ctypes binding against the built library"
BIT_TTT_LIBRARY="$PWD/build/libbit_ttt.so" python3 -m pytest -q tests/reference tests/malformed bindings/python_ctypes/tests

echo "== Studio tests: the HTTP API and the page in headless Chromium"
scripts/test-studio.sh build

echo "== C# tests under Mono: the P/Invoke binding and the Unity sample (compile-checked against stubs)"
bindings/csharp/run_tests.sh build

echo "== distribution: self-contained libraries, Windows under Wine, release artifacts, CMake/pkg-config, wheel, Unity"
scripts/test-dist.sh build

echo "all tests passed"
