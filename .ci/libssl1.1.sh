#!/usr/bin/env bash
# Unpack Debian's libssl1.1 into FOLDER (default .ci/cache) and print the library folder to put
# on LD_LIBRARY_PATH. The package file name is looked up in the suite's index (security updates
# replace it), and the download is checked against the index's SHA256.
set -euo pipefail
folder="$(realpath -m "${1:-.ci/cache}")"
libs="$folder/libssl1.1/usr/lib/x86_64-linux-gnu"
if [ -f "$libs/libssl.so.1.1" ]; then echo "$libs"; exit 0; fi
mirror="http://deb.debian.org/debian-security"
mkdir -p "$folder"
entry="$(curl -fsSL "$mirror/dists/bullseye-security/main/binary-amd64/Packages.xz" | xz -d |
  awk '/^Package: libssl1.1$/{p=1} p&&/^Filename:/{f=$2} p&&/^SHA256:/{s=$2} p&&/^$/{print f, s; p=0}')"
read -r filename sha256 <<<"$entry"
[ -n "${filename:-}" ] || { echo "libssl1.1 not found in $mirror bullseye-security" >&2; exit 1; }
deb="$folder/$(basename "$filename")"
curl -fsSL -o "$deb" "$mirror/$filename"
echo "$sha256  $deb" | sha256sum -c --quiet - >&2
dpkg-deb -x "$deb" "$folder/libssl1.1"
echo "$libs"
