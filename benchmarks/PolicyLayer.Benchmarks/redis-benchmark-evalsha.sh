#!/usr/bin/env bash
# Raw EVALSHA rates of a local redis-server at 50 connections (docs/benchmarks.md). Run from the repository root.
set -euo pipefail
PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
redis-server --port $PORT --bind 127.0.0.1 --save '' --appendonly no --daemonize no --loglevel warning >/dev/null 2>&1 &
PID=$!
trap 'kill $PID' EXIT
sleep 0.5
EMPTY=$(redis-cli -p $PORT script load "return 1")
SHA=$(redis-cli -p $PORT -x script load < src/PolicyLayer.Redis/Counters/counters.lua)
echo "empty script: $(redis-benchmark -p $PORT -c 50 -n 200000 -q EVALSHA $EMPTY 0 | tr '\r' '\n' | tail -1)"
echo "counter script, 2 counters: $(redis-benchmark -p $PORT -c 50 -n 200000 -q EVALSHA $SHA 5 '{bench}:state' '{bench}:z:session:9:all_calls:s1' '{bench}:n:session:9:all_calls:s1' '{bench}:z:global:6:labels:' '{bench}:n:global:6:labels:' r '' 1000 1000000000 1000000 1 1000000000 1000000 1 | tr '\r' '\n' | tail -1)"
