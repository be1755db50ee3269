#!/usr/bin/env bash
# Puts simdjson's single-file source (simdjson.h + simdjson.cpp) where CMake finds it, so the library we distribute
# has simdjson compiled in instead of depending on libsimdjson.so (Debian's libsimdjson-dev ships only the shared
# library). The source is Debian's own source package of the simdjson we already use (bookworm: 3.0.1-1), fetched by
# apt from Debian's archive and checked against its signed index; nothing is built here and nothing is committed.
#
#   scripts/get-simdjson-source.sh            -> ${TTT_DEPS_DIR:-$HOME/.cache/bit_ttt}/simdjson-<version>/
#
# CMake's TTT_SIMDJSON_SOURCE_DIR (cmake/simdjson.cmake) looks there. Does nothing when the files are already there.
set -euo pipefail
version="${TTT_SIMDJSON_DEBIAN_VERSION:-3.0.1-1}"
upstream="${version%-*}"
dest="${TTT_DEPS_DIR:-$HOME/.cache/bit_ttt}/simdjson-$upstream"
if [ -s "$dest/simdjson.cpp" ] && [ -s "$dest/simdjson.h" ]; then
  exit 0
fi
suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
# A private source list and index folder: the machine's apt configuration stays as it is.
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
  > "$work/sources.list"
apt_opts=(-q -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/nonexistent
          -o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
echo "fetching Debian's simdjson $version source package (for a library with simdjson compiled in)"
apt-get "${apt_opts[@]}" update >/dev/null
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only "simdjson=$version" >/dev/null)
tar -xzf "$work/simdjson_$upstream.orig.tar.gz" -C "$work" \
  "simdjson-$upstream/singleheader/simdjson.cpp" "simdjson-$upstream/singleheader/simdjson.h" "simdjson-$upstream/LICENSE"
mkdir -p "$dest"
cp "$work/simdjson-$upstream/singleheader/simdjson.cpp" "$work/simdjson-$upstream/singleheader/simdjson.h" \
   "$work/simdjson-$upstream/LICENSE" "$dest/"
echo "simdjson $upstream source in $dest"
