#!/usr/bin/env bash
# One MCP client start-up in front of a real node server (@modelcontextprotocol/server-filesystem, from
# `npm ci --prefix tests/e2e-proxy`): sends initialize, waits for the answer, then closes the server's input and
# waits for everything to exit.
# Usage: node-initialize.sh                      the node server alone
#        node-initialize.sh PROXY_COMMAND...     the same server behind `PROXY_COMMAND proxy --policy allow-all.policy.json`
# Exits 0 when the answer to initialize came back.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
server=(node "$here/../../tests/e2e-proxy/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js" "${TMPDIR:-/tmp}")
if [ $# -gt 0 ]; then
  server=("$@" proxy --policy "$here/allow-all.policy.json" -- "${server[@]}")
fi

coproc mcp { exec "${server[@]}" 2>/dev/null; }
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}' >&"${mcp[1]}"
read -r answer <&"${mcp[0]}"
exec {mcp[1]}>&-
wait "$mcp_PID" || true
[[ $answer == *'"serverInfo"'* ]]
