#!/usr/bin/env bash
# The main job: install what is missing, build, and run the demo model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
model=tests/data/golden/d12_v37_l3
./build/bit-ttt info "$model"
./build/bit-ttt forward -m "$model" --tokens 1,5,7,3
