#!/bin/sh
# The smallest stdio MCP "server": answers the first request (initialize) and exits when its input ends.
read -r _
printf '%s\n' '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"trivial","version":"1"}}}'
cat >/dev/null
