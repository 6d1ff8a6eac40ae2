#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need and a new machine
# lacks (Debian's redis-server, prometheus and chromium, clang and zlib1g-dev for the NativeAOT build, the npm packages of the
# end-to-end clients), then runs `dotnet test PolicyLayer.Core.sln`. Extra arguments go to that dotnet test.
# Then it publishes the NativeAOT binary (scripts/publish-native.sh) and runs the CLI's process-level tests
# (category ProcessLevel) a second time against it, through POLICYLAYER_EXE; NATIVE=0 skips that second run.
# The last line of its output is the total over all test projects, `N passed, N failed, N skipped`, alone on a
# line (CI reads it); the exit code is dotnet test's.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The Redis tests start their own redis-server on free loopback ports, and form a Redis Cluster with redis-cli.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  scripts/apt-install.sh redis-server redis-tools
fi

# The Grafana dashboard's test runs every panel's query on a real Prometheus that scrapes the meter.
if ! command -v prometheus >/dev/null 2>&1; then
  scripts/apt-install.sh --no-install-recommends prometheus
fi

# The approvals inbox is tested in Debian's chromium, driven by Playwright (playwright-core: it downloads no browser).
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  scripts/apt-install.sh chromium
fi

# End-to-end tests drive our servers with MCP clients nobody here wrote, from npm (exact versions from the lock files).
for dir in tests/e2e-client tests/e2e-proxy tests/e2e-gateway tests/e2e-browser; do
  if [ -f "$dir/package-lock.json" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

# dotnet test prints one summary per test project ("Passed!  - Failed: 0, Passed: 57, Skipped: 0, Total: 57, ...");
# its output is kept to add those up.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test PolicyLayer.Core.sln "$@" | tee "$log"
status=${PIPESTATUS[0]}
if [ "${NATIVE:-1}" != 0 ]; then
  # The same process-level tests against the NativeAOT binary: every command must work in that build.
  if scripts/publish-native.sh linux-x64; then
    POLICYLAYER_EXE="$PWD/artifacts/native/linux-x64/policylayer" \
      dotnet test tests/PolicyLayer.Cli.Tests --filter "TestCategory=ProcessLevel" | tee -a "$log"
    native=${PIPESTATUS[0]}
  else
    echo "test.sh: the NativeAOT publish failed" >&2
    # Counted as one failed test, so that the total line says so too.
    echo "Failed!  - Failed:     1, Passed:     0, Skipped:     0, Total:     1, NativeAOT publish" >>"$log"
    native=1
  fi
  [ "$status" != 0 ] || status=$native
fi
set -e

sum() { sed -n "s/.*[[:space:]]$1:[[:space:]]*\([0-9][0-9]*\),.*/\1/p" "$2" | awk '{ n += $1 } END { print n + 0 }'; }
summaries=$(grep -E '^[[:space:]]*(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+, Total:' "$log" || true)
printf '%s\n' "$summaries" >"$log"
echo "$(sum Passed "$log") passed, $(sum Failed "$log") failed, $(sum Skipped "$log") skipped"
exit "$status"
