#!/usr/bin/env bash
# Packs every project under src/ (libraries, and the CLI as a .NET tool) into artifacts/packages,
# each with its symbols package (.snupkg).
# Usage: scripts/pack.sh [VERSION] [OUTPUT_DIR]
#   VERSION     the package version; default: <Version> from Directory.Build.props
#   OUTPUT_DIR  default: artifacts/packages. Created when missing. Nothing in it is deleted, except, in the default
#               folder only, the PolicyLayer packages of earlier runs (so that an old version cannot win over the
#               new one); packages of the same id and version are replaced.
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

version="${1:-}"
default_out=$PWD/artifacts/packages
out="${2:-$default_out}"
# A relative OUTPUT_DIR is relative to where the script was run from.
case "$out" in /*) ;; *) out="$caller_dir/$out" ;; esac
if [ -e "$out" ] && [ ! -d "$out" ]; then
  echo "pack.sh: $out exists and is not a folder" >&2
  exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
if [ -d "$default_out" ]; then default_out=$(cd "$default_out" && pwd -P); fi

shopt -s nullglob
projects=(src/*/*.csproj)
if [ ${#projects[@]} -eq 0 ]; then
  echo "pack.sh: no projects under src/" >&2
  exit 1
fi

package_id() {
  local id
  id=$(sed -n 's:.*<PackageId>\(.*\)</PackageId>.*:\1:p;T;q' "$1")
  echo "${id:-$(basename "$1" .csproj)}"
}

if [ "$out" = "$default_out" ]; then
  for project in "${projects[@]}"; do
    id=$(package_id "$project")
    # Only files: "$id.<digit>..." is a version of this package, never another package whose id starts the same.
    rm -f -- "$out/$id".[0-9]*.nupkg "$out/$id".[0-9]*.snupkg
  done
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
