#!/bin/sh
# One MCP client start-up through the proxy: sends initialize, closes its input, and waits for the answer.
# Usage: initialize.sh PROXY_COMMAND...   (e.g. artifacts/native/linux-x64/policylayer, or dotnet .../policylayer.dll)
#        initialize.sh                    (no proxy: the trivial server alone, the yardstick)
# Exits 0 when the answer to initialize came back (through the proxy).
here=$(dirname "$0")
request='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
if [ $# -eq 0 ]; then
  printf '%s\n' "$request" | /bin/sh "$here/trivial-server.sh" | grep -q '"serverInfo"'
else
  printf '%s\n' "$request" | "$@" proxy --policy "$here/allow-all.policy.json" /bin/sh "$here/trivial-server.sh" | grep -q '"serverInfo"'
fi
