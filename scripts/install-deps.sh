#!/usr/bin/env bash
# Installs what bit_ttt needs on a fresh Debian machine, and nothing that is already there.
# Build: cmake, g++, simdjson, doctest, Google Benchmark; clang + libclang-rt for the fuzz targets. Tests: Mono (C# bindings), numpy/pytest/tokenizers/safetensors.
# Distribution (scripts/test-dist.sh, scripts/release.sh): the MinGW-w64 cross compilers and Wine for the Windows
# DLL, setuptools/wheel for the Python wheel, and simdjson's source (compiled into the library we distribute).
set -euo pipefail

debian_packages=(cmake g++ make pkg-config libsimdjson-dev doctest-dev libbenchmark-dev mono-mcs mono-runtime
                 g++-mingw-w64-x86-64-posix gcc-mingw-w64-x86-64-posix wine wine64
                 libcpp-httplib-dev)  # cpp-httplib: the HTTP server of `bit-ttt studio`
# The fuzz targets (tests/fuzz): clang with its libFuzzer and sanitizer runtimes.
debian_packages+=(clang libclang-rt-dev)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
    { "${sudo_cmd[@]}" apt-get update -q >/dev/null && "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

python_modules=(numpy pytest tokenizers safetensors setuptools wheel)
missing=()
for m in "${python_modules[@]}"; do
  python3 -c "import $m" >/dev/null 2>&1 || missing+=("$m")
done
if ((${#missing[@]})); then
  echo "installing Python packages: ${missing[*]}"
  python3 -m pip install -q "${missing[@]}"
fi

"$(dirname "$0")/get-simdjson-source.sh"

# Studio page tests: headless Chromium (driven over the DevTools protocol with websocket-client). Optional: where
# chromium cannot be installed, scripts/test-studio.sh skips the page tests and says so.
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (studio page tests)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get install -y -q chromium >/dev/null 2>&1 ||
    { "${sudo_cmd[@]}" apt-get update -q >/dev/null 2>&1 && "${sudo_cmd[@]}" apt-get install -y -q chromium >/dev/null 2>&1; } ||
    echo "chromium could not be installed: the studio page tests will be skipped"
fi
python3 -c "import websocket" >/dev/null 2>&1 || python3 -m pip install -q websocket-client
