#!/usr/bin/env bash
# Distribution checks (docs/distribution.md): what users download works on their machines.
#
#   scripts/test-dist.sh [BUILD_DIR]      BUILD_DIR: the Release build scripts/test.sh made (default build/)
#
# 1. The Linux library is self-contained: scripts/check-library.sh (readelf NEEDED, ldd, SONAME, ttt_* exports).
# 2. Windows: bit_ttt.dll, the C examples and tests/portable cross-built with MinGW-w64 into build-mingw/, the DLL
#    checked, and under Wine: the C99 header test, tests/portable (non-ASCII paths, crash-safe souls, the demo
#    model), simple_generate on the demo model, the other C/C++ examples on the tiny model.
# 3. scripts/release.sh packages both builds into BUILD_DIR/dist-test/dist; SHA256SUMS verified.
# 4. CMake and pkg-config: tests/consumer configures, builds and runs against the extracted Linux SDK archive
#    (shared and static library), and a pkg-config build of the same program runs.
# 5. Python: the wheel installs into a fresh virtual environment and generates from the demo model with no variable
#    set; BIT_TTT_LIBRARY still overrides; `pip wheel bindings/python_ctypes` builds the library through CMake.
# 6. Unity: the package archive has the documented layout, plugin import settings and unique GUIDs, and its C#
#    (Runtime/BitTtt.cs + the NpcBrain sample) compiles with mcs against the Unity stubs.
#
# TTT_SKIP_WINDOWS=1 runs stage 1 only (for machines without MinGW-w64 and Wine): the others package the DLL.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BUILD="$(cd "${1:-build}" && pwd)"
WORK="$BUILD/dist-test"
MODEL="$ROOT/models/shakespeare-demo.bitt"
ABI="$(sed -n 's/^#define TTT_ABI_VERSION \([0-9][0-9]*\).*/\1/p' include/bit_ttt.h)"
VERSION="$(sed -n 's/^project(bit_ttt VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
TAG="$VERSION-abi$ABI"
rm -rf "$WORK"
mkdir -p "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== distribution 1/6: the Linux library needs only libc and exports only ttt_*"
scripts/check-library.sh "$BUILD/libbit_ttt.so"

echo "== distribution 2/6: Windows (MinGW-w64 cross build, run under Wine)"
MINGW="$ROOT/build-mingw"
if [ "${TTT_SKIP_WINDOWS:-0}" = 1 ]; then
  echo "skipped with stages 3 to 6, which package the Windows DLL (TTT_SKIP_WINDOWS=1)"
  exit 0
else
  cmake -S . -B "$MINGW" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/mingw-w64-x86_64.cmake" -DCMAKE_BUILD_TYPE=Release \
    -DTTT_BUNDLED_SIMDJSON=ON -DTTT_BUILD_BENCH=OFF -DTTT_CUDA=OFF -DCMAKE_RUNTIME_OUTPUT_DIRECTORY="$MINGW/bin" >/dev/null
  cmake --build "$MINGW" -j2 >"$WORK/mingw-build.log" 2>&1 || { tail -n 60 "$WORK/mingw-build.log"; fail "MinGW-w64 build"; }
  scripts/check-library.sh "$MINGW/bin/bit_ttt.dll"
  export WINEPREFIX="$MINGW/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  wineserver -p 2>/dev/null || true  # one server for all the runs below: Wine starts once
  trap 'wineserver -k 2>/dev/null || true' EXIT
  wine_run() {  # name, then arguments; output in $WORK/wine-<name>.log
    local name="$1"; shift
    echo "-- wine $name.exe $*"
    if ! (cd "$MINGW/examples" && timeout 300 wine "$MINGW/bin/$name.exe" "$@") >"$WORK/wine-$name.log" 2>&1; then
      cat "$WORK/wine-$name.log"
      fail "$name.exe under Wine"
    fi
    tail -n 2 "$WORK/wine-$name.log"
  }
  wine_run test_c_header
  rm -rf "$MINGW/portable-work"
  wine_run test_portable "$MODEL" "$MINGW/portable-work"
  # The files the Windows program named in UTF-8 exist under those names (Wine maps wide names to UTF-8 here).
  [ -f "$MINGW/portable-work/Ünïcødé модель 漢字/душа 魂.soul" ] || fail "no soul file under its non-ASCII name"
  wine_run simple_generate "$MODEL" "ROMEO:"
  grep -q "^OK: streaming and pull-style" "$WORK/wine-simple_generate.log" || fail "simple_generate.exe check"
  for example in many_npcs soul_save_restore stream_cancel cpp_raii; do
    wine_run "$example" tiny_model
  done
fi

echo "== distribution 3/6: release artifacts"
scripts/release.sh --out "$WORK/dist" --linux-build "$BUILD" --windows-build "$MINGW" >"$WORK/release.log" 2>&1 ||
  { cat "$WORK/release.log"; fail "scripts/release.sh"; }
(cd "$WORK/dist" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS"
for f in "bit_ttt-$TAG-linux-x86_64.tar.gz" "bit_ttt-$TAG-windows-x86_64.zip" "bit_ttt-$VERSION-py3-none-linux_x86_64.whl" \
         "bit_ttt-$TAG-unity.tar.gz" "lib/linux-x86_64/libbit_ttt.so.$ABI" "lib/windows-x86_64/bit_ttt.dll" release.json; do
  [ -f "$WORK/dist/$f" ] || fail "dist/$f is missing"
done
echo "ok: $(ls "$WORK/dist" | tr '\n' ' ')"

echo "== distribution 4/6: find_package(bit_ttt) and pkg-config against the Linux SDK archive"
tar -C "$WORK" -xzf "$WORK/dist/bit_ttt-$TAG-linux-x86_64.tar.gz"
SDK="$WORK/bit_ttt-$TAG-linux-x86_64"
cmake -S tests/consumer -B "$WORK/consumer" -DCMAKE_PREFIX_PATH="$SDK" -DCMAKE_BUILD_TYPE=Release >"$WORK/consumer.log" ||
  { cat "$WORK/consumer.log"; fail "consumer configure"; }
cmake --build "$WORK/consumer" -j2 >>"$WORK/consumer.log" || { cat "$WORK/consumer.log"; fail "consumer build"; }
"$WORK/consumer/consumer_shared" "$MODEL" || fail "consumer_shared"
# (grep reads here-strings below: with pipefail, grep -q closing a pipe early would make the pipeline fail)
grep -q "$SDK/lib/libbit_ttt.so.$ABI" <<<"$(ldd "$WORK/consumer/consumer_shared")" ||
  fail "consumer_shared does not use the SDK's library"
"$WORK/consumer/consumer_static" "$MODEL" || fail "consumer_static"
if grep -q libbit_ttt <<<"$(readelf -d "$WORK/consumer/consumer_static")"; then fail "consumer_static needs libbit_ttt.so"; fi
export PKG_CONFIG_PATH="$SDK/lib/pkgconfig"
[ "$(pkg-config --variable=abi_version bit_ttt)" = "$ABI" ] || fail "bit_ttt.pc abi_version"
# shellcheck disable=SC2046
cc -std=c99 -DEXPECTED_ABI="$ABI" tests/consumer/main.c $(pkg-config --cflags --libs bit_ttt) \
  -Wl,-rpath,"$SDK/lib" -o "$WORK/consumer_pc"
"$WORK/consumer_pc" "$MODEL" >/dev/null || fail "pkg-config build"
unset PKG_CONFIG_PATH
echo "ok: shared, static and pkg-config builds run"

echo "== distribution 5/6: the wheel in a fresh virtual environment"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --no-index --no-deps "$WORK/dist/bit_ttt-$VERSION-py3-none-linux_x86_64.whl"
cat >"$WORK/generate.py" <<'PY'
import sys
import bit_ttt
with bit_ttt.Model(sys.argv[1]) as model, model.context() as ctx:
    text = "".join(ctx.generate("ROMEO:", max_tokens=24, temperature=0))
print("library %s: ROMEO:%s" % (bit_ttt.LIBRARY_PATH, text))
assert bit_ttt.LIBRARY_PATH.startswith(sys.prefix), "not the library inside the package: " + bit_ttt.LIBRARY_PATH
assert sum(c.isalpha() for c in text) > 10, text
PY
(cd "$WORK" && env -u BIT_TTT_LIBRARY -u LD_LIBRARY_PATH "$WORK/venv/bin/python" generate.py "$MODEL") || fail "wheel"
if (cd "$WORK" && BIT_TTT_LIBRARY=/nonexistent/libbit_ttt.so "$WORK/venv/bin/python" -c "import bit_ttt") \
    >"$WORK/override.log" 2>&1; then fail "BIT_TTT_LIBRARY=/nonexistent was not used"; fi
grep -q "/nonexistent/libbit_ttt.so" "$WORK/override.log" || { cat "$WORK/override.log"; fail "override message"; }
# pip's own build: setup.py builds the bit_ttt target through CMake (here: the already built BUILD_DIR).
BIT_TTT_BUILD_DIR="$BUILD" python3 -m pip wheel -q --no-build-isolation --no-deps -w "$WORK/wheel-from-source" \
  bindings/python_ctypes >"$WORK/pip-wheel.log" 2>&1 || { cat "$WORK/pip-wheel.log"; fail "pip wheel"; }
rm -rf bindings/python_ctypes/build
grep -q "bit_ttt/libbit_ttt.so" <<<"$(python3 -m zipfile -l "$WORK"/wheel-from-source/*.whl)" || fail "wheel without library"
echo "ok: import bit_ttt and generation in a clean venv; BIT_TTT_LIBRARY overrides; pip builds through CMake"

echo "== distribution 6/6: the Unity package"
tar -C "$WORK" -xzf "$WORK/dist/bit_ttt-$TAG-unity.tar.gz"
UNITY="$WORK/bit_ttt-$TAG-unity"
PKG="$UNITY/Packages/com.bit-ttt.sdk"
for f in package.json Runtime/BitTtt.cs Runtime/BitTtt.asmdef Plugins/x86_64/libbit_ttt.so Plugins/x86_64/bit_ttt.dll \
         Samples~/NpcBrain/NpcBrain.cs; do
  [ -f "$PKG/$f" ] || fail "Unity package: $f is missing"
  case "$f" in Samples~*) ;; *) [ -f "$PKG/$f.meta" ] || fail "Unity package: $f.meta is missing" ;; esac
done
[ -f "$UNITY/Assets/StreamingAssets/bit_ttt/demo.bitt" ] || fail "Unity package: no demo model under StreamingAssets"
cmp -s "$UNITY/Assets/StreamingAssets/bit_ttt/demo.bitt" "$MODEL" || fail "Unity package: demo model differs"
python3 - "$PKG" "$ABI" <<'PY' || fail "Unity package metadata"
import json, pathlib, re, sys
pkg, abi = pathlib.Path(sys.argv[1]), int(sys.argv[2])
manifest = json.loads((pkg / "package.json").read_text())
assert manifest["name"] == "com.bit-ttt.sdk" and manifest["bitTttAbiVersion"] == abi, manifest
assert manifest["samples"][0]["path"] == "Samples~/NpcBrain"
guids = [re.search(r"^guid: ([0-9a-f]{32})$", m.read_text(), re.M).group(1) for m in pkg.rglob("*.meta")]
assert len(guids) == len(set(guids)), "duplicate GUIDs"
def enabled(meta, platform):
    m = re.search(r"- first:\n\s+%s\n\s+second:\n\s+enabled: (\d)" % re.escape(platform), meta)
    return m.group(1) == "1"
so = (pkg / "Plugins/x86_64/libbit_ttt.so.meta").read_text()
dll = (pkg / "Plugins/x86_64/bit_ttt.dll.meta").read_text()
assert enabled(so, "Standalone: Linux64") and not enabled(so, "Standalone: Win64") and "OS: Linux" in so
assert enabled(dll, "Standalone: Win64") and not enabled(dll, "Standalone: Linux64") and "OS: Windows" in dll
print("ok: package.json (ABI %d), %d .meta files with unique GUIDs, plugin platforms" % (abi, len(guids)))
PY
scripts/check-library.sh "$PKG/Plugins/x86_64/libbit_ttt.so" "$PKG/Plugins/x86_64/bit_ttt.dll" >/dev/null
mkdir -p "$WORK/unity-cs"
MCS="mcs -nologo -langversion:7 -warnaserror+"
$MCS -target:library -out:"$WORK/unity-cs/UnityEngine.dll" bindings/csharp/tests/UnityStubs.cs
$MCS -target:library -define:"UNITY_5_3_OR_NEWER;UNITY_2021_3_OR_NEWER;UNITY_STANDALONE" \
  -r:"$WORK/unity-cs/UnityEngine.dll" -out:"$WORK/unity-cs/BitTtt.dll" "$PKG/Runtime/BitTtt.cs"
$MCS -target:library -define:"UNITY_5_3_OR_NEWER;UNITY_2021_3_OR_NEWER;UNITY_STANDALONE" \
  -r:"$WORK/unity-cs/UnityEngine.dll" -r:"$WORK/unity-cs/BitTtt.dll" -out:"$WORK/unity-cs/NpcBrain.dll" \
  "$PKG/Samples~/NpcBrain/NpcBrain.cs"
echo "ok: Runtime/BitTtt.cs and the NpcBrain sample compile against the Unity stubs"
echo "distribution checks passed"
