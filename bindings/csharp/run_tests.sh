#!/usr/bin/env bash
# Builds and runs every check of the C# binding under Mono (Debian: mono-mcs, mono-runtime). Exit status 0 only when
# all passed. Needs the library built first (cmake --build build): build/libbit_ttt.so and build/bit-ttt.
#
#   bindings/csharp/run_tests.sh [BUILD_DIR]        (default: build/ at the repository root)
#
# Steps, outputs under BUILD_DIR/csharp/:
#   1. layout.c (compiled with cc against include/) prints the C struct layouts the tests compare with the binding's;
#   2. two tiny models (examples/make_tiny_model.py, standard-library Python): seed 1 and seed 2 (same shape);
#   3. BitTtt.dll from BitTtt.cs with warnings as errors, as a plain .NET/Mono library;
#   4. the Unity sample compile check: tests/UnityStubs.cs -> a stub UnityEngine.dll, then BitTtt.cs +
#      Unity/NpcBrain.cs against it with Unity's defines (UNITY_5_3_OR_NEWER: Unity's AOT.MonoPInvokeCallback), once
#      for desktop and once for iOS (which must import from "__Internal");
#   5. tests/Tests.cs -> Tests.exe, run with mono. The native library is found through LD_LIBRARY_PATH, set here to
#      BUILD_DIR (Mono's [DllImport("bit_ttt")] probes libbit_ttt.so on the library path; no dllmap config needed).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
OUT="$BUILD/csharp"
MCS="mcs -nologo -langversion:7 -warnaserror+"

for f in "$BUILD/libbit_ttt.so" "$BUILD/bit-ttt"; do
  [ -e "$f" ] || { echo "run_tests.sh: $f is missing; build the library first (cmake --build build)" >&2; exit 2; }
done
command -v mcs >/dev/null && command -v mono >/dev/null || { echo "run_tests.sh: needs mcs and mono (apt-get install mono-mcs mono-runtime)" >&2; exit 2; }
mkdir -p "$OUT/unity" "$OUT/unity-ios" "$OUT/work"

echo "== C struct layouts"
${CC:-cc} -std=c99 -Wall -Werror -I"$ROOT/include" "$HERE/tests/layout.c" -o "$OUT/layout"
"$OUT/layout" > "$OUT/layout.txt"

echo "== tiny test models"
python3 "$ROOT/examples/make_tiny_model.py" "$OUT/tiny_model" --seed 1
python3 "$ROOT/examples/make_tiny_model.py" "$OUT/tiny_model_seed2" --seed 2

echo "== BitTtt.dll"
$MCS -target:library -out:"$OUT/BitTtt.dll" "$HERE/BitTtt.cs"

echo "== Unity sample compile check (stub UnityEngine)"
$MCS -target:library -out:"$OUT/unity/UnityEngine.dll" "$HERE/tests/UnityStubs.cs"
$MCS -target:library -define:"UNITY_5_3_OR_NEWER;UNITY_2021_3_OR_NEWER;UNITY_STANDALONE" -r:"$OUT/unity/UnityEngine.dll" \
  -out:"$OUT/unity/NpcBrain.dll" "$HERE/BitTtt.cs" "$HERE/Unity/NpcBrain.cs"
$MCS -target:library -define:"UNITY_5_3_OR_NEWER;UNITY_2021_3_OR_NEWER;UNITY_IOS" -r:"$OUT/unity/UnityEngine.dll" \
  -out:"$OUT/unity-ios/NpcBrain.dll" "$HERE/BitTtt.cs" "$HERE/Unity/NpcBrain.cs"
grep -q "__Internal" "$OUT/unity-ios/NpcBrain.dll" || { echo "FAIL: the iOS build does not import from __Internal" >&2; exit 1; }
if grep -q "__Internal" "$OUT/unity/NpcBrain.dll"; then echo "FAIL: the desktop build imports from __Internal" >&2; exit 1; fi
echo "ok (desktop imports \"bit_ttt\", iOS imports \"__Internal\")"

echo "== Tests.exe"
$MCS -out:"$OUT/Tests.exe" -r:"$OUT/BitTtt.dll" "$HERE/tests/Tests.cs"
LD_LIBRARY_PATH="$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" mono --debug "$OUT/Tests.exe" \
  "$ROOT" "$OUT/tiny_model" "$OUT/tiny_model_seed2" "$BUILD/bit-ttt" "$OUT/layout.txt" "$OUT/work"
