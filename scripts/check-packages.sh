#!/usr/bin/env bash
# Packs every project under src/, checks what each package holds (README, licence, XML docs, symbols,
# repository commit; the CLI as a .NET tool), then uses them BY PACKAGE from the local folder:
# builds and runs tests/PackageConsumer, and installs the policylayer tool with --tool-path and runs it.
# Usage: scripts/check-packages.sh [VERSION]   (default: a fresh 0.0.0-check.<time> version, so that
# no stale copy in the NuGet cache can stand in for the packages just made)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
started=$SECONDS
version="${1:-0.0.0-check.$(date -u +%Y%m%d%H%M%S)}"
packages=artifacts/packages
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "check-packages: FAIL: $*" >&2; exit 1; }

# pack.sh deletes nothing it did not make: in its default folder only the PolicyLayer packages of earlier runs.
mkdir -p "$packages"
echo "not ours" >"$packages/keep-me.txt"
touch "$packages/PolicyLayer.CoreExtras.1.0.0.nupkg" "$packages/PolicyLayer.Core.0.0.1-old.nupkg"
scripts/pack.sh "$version" "$packages"
[ -f "$packages/keep-me.txt" ] || fail "pack.sh deleted a file it did not make"
[ -f "$packages/PolicyLayer.CoreExtras.1.0.0.nupkg" ] || fail "pack.sh deleted another package whose id starts like one of ours"
[ ! -e "$packages/PolicyLayer.Core.0.0.1-old.nupkg" ] || fail "pack.sh left an earlier version of PolicyLayer.Core in its default folder"
rm -f "$packages/keep-me.txt" "$packages/PolicyLayer.CoreExtras.1.0.0.nupkg"
commit=$(git rev-parse HEAD 2>/dev/null || true)
[ -n "$commit" ] || echo "check-packages: git cannot name the commit here, so SourceLink and the nuspec commit are not checked"

for project in src/*/*.csproj; do
  id=$(sed -n 's:.*<PackageId>\(.*\)</PackageId>.*:\1:p;T;q' "$project")
  id=${id:-$(basename "$project" .csproj)}
  nupkg="$packages/$id.$version.nupkg"
  [ -f "$nupkg" ] || fail "$project made no $nupkg"
  [ -f "$packages/$id.$version.snupkg" ] || fail "$id has no symbols package"
  files=$(unzip -Z1 "$nupkg")
  nuspec=$(unzip -p "$nupkg" "$id.nuspec")
  grep -qx 'README.md' <<<"$files" || fail "$id does not hold README.md"
  grep -q '<readme>README.md</readme>' <<<"$nuspec" || fail "$id's nuspec names no readme"
  grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || fail "$id has no MIT licence expression"
  grep -q '<description>' <<<"$nuspec" || fail "$id has no description"
  if [ -n "$commit" ]; then
    grep -q "<repository [^>]*commit=\"$commit\"" <<<"$nuspec" || fail "$id's nuspec does not name the built commit $commit"
  fi
  if grep -q '<PackAsTool>true</PackAsTool>' "$project"; then
    grep -q '<packageType name="DotnetTool"' <<<"$nuspec" || fail "$id is not a .NET tool package"
    grep -q '^tools/net10.0/any/DotnetToolSettings.xml$' <<<"$files" || fail "$id has no tool settings"
    grep -qx 'tools/net10.0/any/policy.schema.json' <<<"$files" || fail "$id does not ship policy.schema.json next to the tool"
  else
    grep -q "^lib/net10.0/$id.dll$" <<<"$files" || fail "$id does not hold lib/net10.0/$id.dll"
    grep -q "^lib/net10.0/$id.xml$" <<<"$files" || fail "$id does not hold its XML docs"
    # Listed into a variable first: under pipefail, `unzip | grep -q` fails at random when grep exits
    # before unzip has written its last line (SIGPIPE), which is how CI once saw "no pdb" here.
    symbols=$(unzip -Z1 "$packages/$id.$version.snupkg")
    grep -qx "lib/net10.0/$id.pdb" <<<"$symbols" || fail "$id's symbols package holds no pdb"
    # SourceLink: the pdb maps the sources to the repository at the commit that was built.
    if [ -n "$commit" ]; then
      unzip -p "$packages/$id.$version.snupkg" "lib/net10.0/$id.pdb" >"$work/$id.pdb"
      grep -aq "raw.githubusercontent.com/[^\"]*/$commit/" "$work/$id.pdb" || fail "$id's pdb has no SourceLink to commit $commit"
    fi
  fi
  echo "check-packages: $id $version: README, MIT, docs, symbols, SourceLink, repository commit: ok"
done

echo "check-packages: building tests/PackageConsumer against the packages"
dotnet run --project tests/PackageConsumer/PackageConsumer.csproj -c Release --nologo -v quiet \
  -p:PolicyLayerVersion="$version" -p:RestoreNoCache=true \
  -p:BaseIntermediateOutputPath="$work/consumer/obj/" -p:BaseOutputPath="$work/consumer/bin/"

if [ -f "$packages/PolicyLayer.Cli.$version.nupkg" ]; then
  echo "check-packages: installing the policylayer tool from the local feed"
  dotnet tool install PolicyLayer.Cli --version "$version" --tool-path "$work/tools" \
    --configfile tests/PackageConsumer/nuget.config --no-cache >/dev/null
  "$work/tools/policylayer" --help >"$work/help.txt" || fail "policylayer --help exited $?"
  grep -q 'validate' "$work/help.txt" || fail "policylayer --help does not list validate"
  "$work/tools/policylayer" schema >"$work/schema.json" || fail "policylayer schema exited $?"
  cmp -s "$work/schema.json" src/PolicyLayer.Core/Policies/policy.schema.json || fail "policylayer schema does not print the policy schema"
  echo "check-packages: policylayer tool installs and runs"
fi

echo "check-packages: OK in $((SECONDS - started)) s"
