#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet (as root, or through sudo).
# Usage: scripts/apt-install.sh [--no-install-recommends] PACKAGE...
# test.sh and publish-native.sh call it for what they need on a fresh machine.
set -euo pipefail
options=()
if [ "${1:-}" = --no-install-recommends ]; then
  options+=(--no-install-recommends)
  shift
fi
missing=()
for package in "$@"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${options[@]}" "${missing[@]}" >/dev/null
