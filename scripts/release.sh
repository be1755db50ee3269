#!/usr/bin/env bash
# Builds everything users download, into dist/ (docs/distribution.md):
#
#   bit_ttt-<version>-abi<N>-linux-x86_64.tar.gz     SDK: include/, lib/libbit_ttt.so.<N>, lib/libbit_ttt.a,
#                                                    lib/cmake/bit_ttt (find_package), lib/pkgconfig/bit_ttt.pc
#   bit_ttt-<version>-abi<N>-windows-x86_64.zip      SDK: include/, bin/bit_ttt.dll, lib/libbit_ttt.dll.a (import
#                                                    library), lib/libbit_ttt.a, lib/cmake/bit_ttt, lib/pkgconfig
#   lib/linux-x86_64/libbit_ttt.so.<N>, lib/windows-x86_64/bit_ttt.dll   the bare libraries
#   bit_ttt-<version>-py3-none-linux_x86_64.whl      the Python package with the library inside
#   bit_ttt-<version>-abi<N>-unity.tar.gz            the Unity package folder (Packages/ + Assets/StreamingAssets/)
#   SHA256SUMS, release.json                         checksums; version, ABI version, sizes
#
# Every library is checked by scripts/check-library.sh (no dependency beyond libc and system DLLs, only ttt_*
# exported, SONAME from TTT_ABI_VERSION). Needs cmake, g++, the MinGW-w64 "posix" compilers, python3 with
# setuptools and wheel (scripts/install-deps.sh installs all of them) and simdjson's source
# (scripts/get-simdjson-source.sh, run here).
#
#   scripts/release.sh [--out DIR] [--linux-build DIR] [--windows-build DIR]
#
# Without --linux-build / --windows-build, fresh Release builds are made in build-release/ and build-release-mingw/
# (about 3 minutes on 2 cores). With them, those already built folders are packaged as they are (the test command
# does this with its own builds); they must have been configured with simdjson compiled in.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="$ROOT/dist"
LINUX_BUILD=""
WINDOWS_BUILD=""
while (($#)); do
  case "$1" in
  --out) OUT="$2"; shift 2 ;;
  --linux-build) LINUX_BUILD="$2"; shift 2 ;;
  --windows-build) WINDOWS_BUILD="$2"; shift 2 ;;
  *) echo "usage: $0 [--out DIR] [--linux-build DIR] [--windows-build DIR]" >&2; exit 2 ;;
  esac
done
VERSION="$(sed -n 's/^project(bit_ttt VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
ABI="$(sed -n 's/^#define TTT_ABI_VERSION \([0-9][0-9]*\).*/\1/p' include/bit_ttt.h)"
TAG="$VERSION-abi$ABI"
JOBS="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

scripts/get-simdjson-source.sh
SIMDJSON_DIR="${TTT_DEPS_DIR:-$HOME/.cache/bit_ttt}/simdjson-3.0.1"
release_options=(-DCMAKE_BUILD_TYPE=Release -DTTT_BUNDLED_SIMDJSON=ON -DTTT_SIMDJSON_SOURCE_DIR="$SIMDJSON_DIR"
                 -DTTT_STATIC_RUNTIME=ON -DTTT_NATIVE=OFF -DTTT_CUDA=OFF -DTTT_BUILD_TESTS=OFF -DTTT_BUILD_BENCH=OFF
                 -DTTT_BUILD_EXAMPLES=OFF)
if [ -z "$LINUX_BUILD" ]; then
  echo "== Linux x86_64 release build"
  LINUX_BUILD="$ROOT/build-release"
  cmake -S . -B "$LINUX_BUILD" "${release_options[@]}" >/dev/null
  cmake --build "$LINUX_BUILD" -j"$JOBS"
fi
if [ -z "$WINDOWS_BUILD" ]; then
  echo "== Windows x86_64 release build (MinGW-w64)"
  WINDOWS_BUILD="$ROOT/build-release-mingw"
  cmake -S . -B "$WINDOWS_BUILD" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/mingw-w64-x86_64.cmake" "${release_options[@]}" >/dev/null
  cmake --build "$WINDOWS_BUILD" -j"$JOBS"
fi
LINUX_BUILD="$(cd "$LINUX_BUILD" && pwd)"
WINDOWS_BUILD="$(cd "$WINDOWS_BUILD" && pwd)"

rm -rf "$OUT"
mkdir -p "$OUT/lib/linux-x86_64" "$OUT/lib/windows-x86_64"
OUT="$(cd "$OUT" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

echo "== SDK archives"
linux_sdk="bit_ttt-$TAG-linux-x86_64"
windows_sdk="bit_ttt-$TAG-windows-x86_64"
cmake --install "$LINUX_BUILD" --prefix "$stage/$linux_sdk" --strip >/dev/null
cmake --install "$WINDOWS_BUILD" --prefix "$stage/$windows_sdk" --strip >/dev/null
for sdk in "$linux_sdk" "$windows_sdk"; do
  cp "$SIMDJSON_DIR/LICENSE" "$stage/$sdk/LICENSE-simdjson.txt"
  printf 'bit_ttt %s, C ABI %s (TTT_ABI_VERSION). Guides: docs/getting-started-*.md of the repository.\n' \
    "$VERSION" "$ABI" > "$stage/$sdk/README.txt"
done
linux_lib="$stage/$linux_sdk/lib/libbit_ttt.so.$VERSION"
windows_dll="$stage/$windows_sdk/bin/bit_ttt.dll"
scripts/check-library.sh "$linux_lib" "$windows_dll"
tar -C "$stage" -czf "$OUT/$linux_sdk.tar.gz" "$linux_sdk"
(cd "$stage" && python3 -m zipfile -c "$OUT/$windows_sdk.zip" "$windows_sdk")
cp "$linux_lib" "$OUT/lib/linux-x86_64/libbit_ttt.so.$ABI"
cp "$windows_dll" "$OUT/lib/windows-x86_64/bit_ttt.dll"

echo "== Python wheel"
BIT_TTT_PREBUILT_LIBRARY="$linux_lib" python3 -m pip wheel -q --no-build-isolation --no-deps -w "$OUT" \
  bindings/python_ctypes
rm -rf bindings/python_ctypes/build

echo "== Unity package"
python3 scripts/make-unity-package.py --linux "$linux_lib" --windows "$windows_dll" \
  --model models/shakespeare-demo.bitt --simdjson-license "$SIMDJSON_DIR/LICENSE" "$stage/unity/bit_ttt-$TAG-unity"
tar -C "$stage/unity" -czf "$OUT/bit_ttt-$TAG-unity.tar.gz" "bit_ttt-$TAG-unity"

echo "== checksums"
(cd "$OUT" && find . -type f ! -name SHA256SUMS ! -name release.json | sed 's|^\./||' | sort | xargs sha256sum > SHA256SUMS)
python3 - "$OUT" "$VERSION" "$ABI" <<'PY'
import json, os, sys
out, version, abi = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = []
for line in open(os.path.join(out, "SHA256SUMS")):
    digest, name = line.split(None, 1)
    name = name.strip()
    files.append({"file": name, "sha256": digest, "bytes": os.path.getsize(os.path.join(out, name))})
json.dump({"name": "bit_ttt", "version": version, "abi_version": abi, "simdjson": "3.0.1 (compiled in)",
           "artifacts": files}, open(os.path.join(out, "release.json"), "w"), indent=2)
PY
cat "$OUT/SHA256SUMS"
echo "release $TAG in $OUT"
