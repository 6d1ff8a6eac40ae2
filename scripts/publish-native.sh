#!/usr/bin/env bash
# Publishes the policylayer tool as a NativeAOT binary: artifacts/native/<RID>/policylayer (with policy.schema.json
# and cases.schema.json beside it). Needs clang and zlib1g-dev, installed through apt when missing.
# Usage: scripts/publish-native.sh [RID]     (default: linux-x64)
# The .NET tool (dotnet tool install PolicyLayer.Cli) stays framework-dependent; this is the same program, compiled
# ahead of time, which starts in a fraction of the time (docs/benchmarks.md). Any trimming or AOT warning fails the
# publish (TreatWarningsAsErrors reaches the AOT compiler as --warnaserror).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
rid="${1:-linux-x64}"
out="artifacts/native/$rid"

# The linker: clang if it is on PATH, else a versioned one (Debian's clang-14 package has no plain `clang`).
find_clang() { command -v clang || ls /usr/bin/clang-[0-9]* 2>/dev/null | grep -E '/clang-[0-9]+$' | sort -V | tail -1 || true; }
linker=$(find_clang)
if [ -z "$linker" ] || { command -v dpkg-query >/dev/null && ! dpkg-query -W zlib1g-dev >/dev/null 2>&1; }; then
  scripts/apt-install.sh clang zlib1g-dev
  linker=$(find_clang)
fi
[ -n "$linker" ] || { echo "publish-native: no clang found; install clang and zlib1g-dev" >&2; exit 2; }

dotnet publish src/PolicyLayer.Cli/PolicyLayer.Cli.csproj -c Release -r "$rid" --nologo -v quiet \
  -p:PublishAot=true -p:CppCompilerAndLinker="$linker" -o "$out"
echo "publish-native: $out/policylayer"
