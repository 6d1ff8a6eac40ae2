#!/usr/bin/env bash
# Runs the README's commands as written, on a fresh clone, and checks that each block succeeds with no build
# warnings. The commands come from the README itself, so the two cannot drift: every fenced code block whose
# opening line comes right after the line
#     <!-- readme-check -->
# is run, in README order, from the clone's root, each block as one bash script (`set -euo pipefail`). Blocks
# share the clone, so a later block may use what an earlier one made (packages, the installed tool).
# To check another block, put that comment on the line before its opening fence.
#
# The clone is made from the current commit (committed files only) in a temporary folder, with its remote removed
# (the case in which SourceLink used to warn), and removed afterwards. `dotnet tool install -g` installs into a
# temporary DOTNET_CLI_HOME, put first on PATH, never into your own ~/.dotnet/tools.
#
# Usage: scripts/readme-commands.sh [--skip-test-sh] [--list]
#   --skip-test-sh  do not run `./test.sh` lines (CI runs ./test.sh itself just before; see .ci/run)
#   --list          print the blocks that would run, and stop
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
started=$SECONDS

skip_test_sh=false
list=false
for arg in "$@"; do
  case "$arg" in
    --skip-test-sh) skip_test_sh=true ;;
    --list) list=true ;;
    *) echo "readme-commands: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

fail() { echo "readme-commands: FAIL: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One file per block: block-1.sh, block-2.sh, ..., each starting with a comment naming its README line.
awk -v dir="$work" '
  /^<!-- readme-check -->[[:space:]]*$/ { armed = 1; next }
  armed && /^```/ { armed = 0; inside = 1; n++; file = dir "/block-" n ".sh"; print "# README.md line " NR + 1 > file; next }
  armed { armed = 0 }
  inside && /^```[[:space:]]*$/ { inside = 0; close(file); next }
  inside { print > file }
  END { if (inside) { print "unterminated block at the end of README.md" > "/dev/stderr"; exit 1 } }
' README.md

blocks=("$work"/block-*.sh)
[ -e "${blocks[0]}" ] || fail "README.md has no block marked <!-- readme-check -->"
# block-10 after block-9, not after block-1.
mapfile -t blocks < <(printf '%s\n' "${blocks[@]}" | sort -t- -k2 -n)

if $list; then
  for block in "${blocks[@]}"; do
    echo "=== $(basename "$block")"
    cat "$block"
  done
  exit 0
fi

git clone -q "$PWD" "$work/clone"
git -C "$work/clone" checkout -q "$(git rev-parse HEAD)"
git -C "$work/clone" remote remove origin
mkdir -p "$work/cli-home"
export DOTNET_CLI_HOME="$work/cli-home"
export PATH="$work/cli-home/.dotnet/tools:$PATH"

for block in "${blocks[@]}"; do
  where=$(head -1 "$block" | sed 's/^# //')
  script="$work/run-$(basename "$block")"
  {
    echo 'set -euo pipefail'
    if $skip_test_sh; then
      # ./test.sh is what CI ran just before this script (.ci/run); running it twice would double CI's time.
      sed -E 's|^(\./test\.sh)([[:space:]].*)?$|echo "(skipped: \1, run by .ci/run before this script)"|' "$block"
    else
      cat "$block"
    fi
  } >"$script"
  echo "readme-commands: running the block at $where:"
  sed '1d; s/^/  | /' "$block"
  block_started=$SECONDS
  if ! (cd "$work/clone" && bash "$script") >"$script.log" 2>&1; then
    cat "$script.log" >&2
    fail "the block at $where failed (its output is above)"
  fi
  # MSBuild and NuGet warnings look like "file(line,col): warning CODE: ..." or ": warning : ...".
  if grep -E '(^|[[:space:]:])warning [A-Z]*[0-9]*[[:space:]]*:' "$script.log" >&2; then
    fail "the block at $where printed the warnings above; a fresh clone builds without warnings"
  fi
  echo "readme-commands: ok in $((SECONDS - block_started)) s"
done

echo "readme-commands: ${#blocks[@]} README blocks ran on a fresh clone without errors or warnings in $((SECONDS - started)) s"
