#!/usr/bin/env bash
# Checks that a built bit_ttt library can be handed to users: it needs nothing beyond the C runtime and the system,
# it exports the C ABI (ttt_*) and nothing else, and it carries the ABI version of include/bit_ttt.h.
#
#   scripts/check-library.sh FILE...     FILE: libbit_ttt.so[.N] (Linux) or bit_ttt.dll (Windows, MinGW-w64 build)
#
# Linux: NEEDED entries only libc/libm/libpthread/libdl/librt/ld-linux (libstdc++/libgcc_s too when the C++ runtime
# is not linked in), ldd resolves everything, SONAME libbit_ttt.so.<TTT_ABI_VERSION>, no RPATH/RUNPATH beyond
# $ORIGIN. Windows: imports only system DLLs (no libstdc++-6.dll, libwinpthread-1.dll, libgcc_s_*.dll). Both: every
# exported symbol is a ttt_* function of the header, and all of them are exported.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
abi="$(sed -n 's/^#define TTT_ABI_VERSION \([0-9][0-9]*\).*/\1/p' "$ROOT/include/bit_ttt.h")"
api="$(sed -n 's/^TTT_API .*TTT_CALL \**\(ttt_[a-z0-9_]*\)(.*/\1/p' "$ROOT/include/bit_ttt.h" | sort)"
fail() { echo "FAIL: $*" >&2; exit 1; }

compare_exports() {  # $1 file, stdin: exported names
  local exported; exported="$(sort -u)"
  local extra; extra="$(comm -13 <(echo "$api") <(echo "$exported"))"
  local missing; missing="$(comm -23 <(echo "$api") <(echo "$exported"))"
  [ -z "$extra" ] || fail "$1 exports symbols outside the C ABI: $(echo $extra | head -c 400)"
  [ -z "$missing" ] || fail "$1 does not export: $(echo $missing)"
  echo "  exports: the $(echo "$api" | wc -l) ttt_* functions of bit_ttt.h, nothing else"
}

for f in "$@"; do
  [ -f "$f" ] || fail "$f: no such file"
  echo "== $f"
  case "$f" in
  *.dll)
    objdump=x86_64-w64-mingw32-objdump
    command -v $objdump >/dev/null || objdump=objdump
    imports="$($objdump -p "$f" | sed -n 's/^[[:space:]]*DLL Name: //p' | sort -u)"
    for d in $imports; do
      case "${d,,}" in
      kernel32.dll | msvcrt.dll | ucrtbase.dll | api-ms-win-*.dll | advapi32.dll | ntdll.dll | bcrypt.dll | user32.dll) ;;
      *) fail "$f imports $d, which a user's Windows does not have" ;;
      esac
    done
    echo "  imports: $(echo $imports) (system DLLs only)"
    $objdump -p "$f" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | sed -n 's/^[[:space:]]*\[ *[0-9]*\] //p' |
      compare_exports "$f"
    ;;
  *)
    needed="$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
    for n in $needed; do
      case "$n" in
      libc.so.6 | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux-x86-64.so.2 | libgcc_s.so.1 | libstdc++.so.6) ;;
      *) fail "$f needs $n, which an ordinary Linux machine does not have" ;;
      esac
    done
    echo "  needs: $(echo $needed)"
    soname="$(readelf -d "$f" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
    [ "$soname" = "libbit_ttt.so.$abi" ] || fail "$f has SONAME '$soname', expected libbit_ttt.so.$abi (TTT_ABI_VERSION)"
    echo "  SONAME: $soname"
    runpath="$(readelf -d "$f" | sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]/\1/p')"
    [ -z "$runpath" ] || [ "$runpath" = '$ORIGIN' ] || fail "$f has a build-machine run path: $runpath"
    # (grep reads a here-string, not a pipe: with pipefail, grep -q closing a pipe early would fail the producer)
    resolved="$(ldd "$f")"
    if grep -q "not found" <<<"$resolved"; then fail "ldd: $(grep 'not found' <<<"$resolved")"; fi
    glibc="$(objdump -T "$f" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
    glibcxx="$(objdump -T "$f" | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1 || true)"
    echo "  ldd resolves everything; newest symbol versions needed: ${glibc:-none} ${glibcxx}"
    nm -D --defined-only "$f" | awk '{print $NF}' | compare_exports "$f"
    ;;
  esac
done
