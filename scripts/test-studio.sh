#!/usr/bin/env bash
# The studio's tests (`bit-ttt studio`): its HTTP API driven directly (tests/studio/test_api.py) and its page in
# headless Chromium over the DevTools protocol (tests/studio/test_page.py; skipped, with the reason printed, only
# where chromium is not installed). Usage: scripts/test-studio.sh [BUILD_DIR] (default build). About 30 s.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
if ! "$build/bit-ttt" studio --help >/dev/null 2>&1; then
  echo "test-studio: $build/bit-ttt has no studio (is libcpp-httplib-dev installed? see scripts/install-deps.sh)" >&2
  exit 1
fi
command -v chromium >/dev/null 2>&1 || echo "test-studio: chromium is not installed: the page tests are skipped"
BIT_TTT="$PWD/$build/bit-ttt" python3 -m pytest -q -rs -p no:cacheprovider tests/studio
