#!/usr/bin/env bash
# Packs every project under src/ (libraries, and the CLI as a .NET tool) into artifacts/packages,
# each with its symbols package (.snupkg).
# Usage: scripts/pack.sh [VERSION] [OUTPUT_DIR]
#   VERSION     the package version; default: <Version> from Directory.Build.props
#   OUTPUT_DIR  default: artifacts/packages (emptied first)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

version="${1:-}"
out="${2:-artifacts/packages}"
rm -rf "$out"
mkdir -p "$out"

shopt -s nullglob
projects=(src/*/*.csproj)
if [ ${#projects[@]} -eq 0 ]; then
  echo "pack.sh: no projects under src/" >&2
  exit 1
fi

# The commit goes into each nuspec (<repository commit=...>) from git itself, so that it is there even
# where SourceLink cannot read the repository (a bare git dir with a separate work tree, as some CI
# runners check out): SourceLink then warns and leaves the pdbs' source links empty, nothing more.
commit=$(git rev-parse HEAD 2>/dev/null || true)
for project in "${projects[@]}"; do
  echo "pack.sh: $project"
  dotnet pack "$project" -c Release -o "$out" --nologo -v quiet -p:ContinuousIntegrationBuild=true \
    ${version:+-p:Version=$version} ${commit:+-p:RepositoryCommit=$commit -p:PolicyLayerCommit=$commit}
done

echo "pack.sh: $(ls "$out"/*.nupkg | wc -l) packages in $out:"
ls -1 "$out"
