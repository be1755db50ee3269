#!/usr/bin/env bash
# The main job: install what is missing, build, and let the demo model (trained by our own trainer on
# tinyshakespeare, models/README.md) generate text.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
./build/bit-ttt info models/shakespeare-demo.bitt | sed -n 1,14p
# --repeat-penalty 1.3: the demo model copies what it has read, its own words included (models/README.md)
./build/bit-ttt generate -m models/shakespeare-demo.bitt -p "ROMEO:" -n 200 --seed 1 --repeat-penalty 1.3
