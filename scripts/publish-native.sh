#!/usr/bin/env bash
# Publishes the policylayer tool as a NativeAOT binary: artifacts/native/<RID>/policylayer and policylayer-http (with
# policy.schema.json and cases.schema.json beside them; keep the files together). Needs clang and zlib1g-dev, installed through apt when missing.
# Usage: scripts/publish-native.sh [--pie] [RID]     (default: linux-x64)
#   --pie  a position-independent executable with dehydrated data, as the SDK builds by default: address-space
#          randomisation of the executable's own image, for 3-4 times the start-up CPU (docs/benchmarks.md,
#          "Start-up, session 3"). Without it the binary is laid out ready to run (see PolicyLayer.Cli.csproj).
# The .NET tool (dotnet tool install PolicyLayer.Cli) stays framework-dependent; this is the same program, compiled
# ahead of time, which starts in a fraction of the time (docs/benchmarks.md). Any trimming or AOT warning fails the
# publish (TreatWarningsAsErrors reaches the AOT compiler as --warnaserror).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
layout=()
stdio_layout=()
if [ "${1:-}" = "--pie" ]; then
  shift
  # Its own intermediate folder: the native link is not redone when only these properties change.
  layout=(-p:PositionIndependentExecutable=true -p:IlcDehydrate=true "-p:NativeIntermediateOutputPath=obj/pie/" "-p:NativeOutputPath=bin/pie/")
  stdio_layout=("-p:NativeIntermediateOutputPath=obj/pie-stdio/" "-p:NativeOutputPath=bin/pie-stdio/")
fi
rid="${1:-linux-x64}"
out="artifacts/native/$rid"
[ ${#layout[@]} -eq 0 ] || out="artifacts/native/$rid-pie"

# The linker: clang if it is on PATH, else a versioned one (Debian's clang-14 package has no plain `clang`).
find_clang() { command -v clang || ls /usr/bin/clang-[0-9]* 2>/dev/null | grep -E '/clang-[0-9]+$' | sort -V | tail -1 || true; }
linker=$(find_clang)
if [ -z "$linker" ] || { command -v dpkg-query >/dev/null && ! dpkg-query -W zlib1g-dev >/dev/null 2>&1; }; then
  scripts/apt-install.sh clang zlib1g-dev
  linker=$(find_clang)
fi
[ -n "$linker" ] || { echo "publish-native: no clang found; install clang and zlib1g-dev" >&2; exit 2; }

publish() {
  dotnet publish src/PolicyLayer.Cli/PolicyLayer.Cli.csproj -c Release -r "$rid" --nologo -v quiet \
    -p:PublishAot=true -p:CppCompilerAndLinker="$linker" ${layout[@]+"${layout[@]}"} "$@"
}

# Two binaries of the same program (src/PolicyLayer.Cli/Common/HttpBuild.cs): policylayer-http with everything, and
# policylayer without ASP.NET Core, which starts in less time (every stdio proxy an MCP client spawns) and hands a command
# line with any HTTP option to policylayer-http beside it. The second is built in folders of its own (its compilation
# differs), so that neither build undoes the other's.
full=$(mktemp -d)
trap 'rm -rf "$full"' EXIT
publish -o "$full"
mkdir -p "$out"
cp "$full/policylayer" "$out/policylayer-http"
publish -p:PolicyLayerStdioOnly=true "-p:IntermediateOutputPath=obj/Release/net10.0/$rid-stdio/" \
  "-p:OutputPath=bin/Release/net10.0/$rid-stdio/" ${stdio_layout[@]+"${stdio_layout[@]}"} -o "$out"
echo "publish-native: $out/policylayer (and $out/policylayer-http)"
