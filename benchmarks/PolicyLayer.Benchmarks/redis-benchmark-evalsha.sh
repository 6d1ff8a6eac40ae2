#!/usr/bin/env bash
# Raw EVALSHA rate of a local redis-server at 50 connections next to the counter script's (docs/benchmarks.md), and the
# server's CPU per call from INFO commandstats. Run from the repository root.
set -euo pipefail
N=${N:-200000}
PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
redis-server --port $PORT --bind 127.0.0.1 --save '' --appendonly no --daemonize no --loglevel warning >/dev/null 2>&1 &
PID=$!
trap 'kill $PID' EXIT
sleep 0.5
EMPTY=$(redis-cli -p $PORT script load "return 1")
SHA=$(redis-cli -p $PORT -x script load < src/PolicyLayer.Redis/Counters/counters.lua)
usec() { redis-cli -p $PORT info commandstats | tr -d '\r' | grep '^cmdstat_evalsha' | sed 's/.*usec_per_call=\([0-9.]*\).*/\1/'; }
rate() { tr '\r' '\n' | grep 'requests per second' | tail -1; }
redis-cli -p $PORT config resetstat >/dev/null
echo "empty script (return 1): $(redis-benchmark -p $PORT -c 50 -n $N EVALSHA $EMPTY 0 | rate); server us/call $(usec)"
# One counter per call, max 10^9 a second (never refuses; the store puts its times on a 1 ms grid), over 10,000 scopes (__rand_int__), as the store sends it.
redis-cli -p $PORT config resetstat >/dev/null
echo "counter script, reserve 1 counter: $(redis-benchmark -p $PORT -c 50 -n $N -r 10000 EVALSHA $SHA 1 'bench:{d:=s__rand_int__}' r '' 1000 1000000000 1000000 1000 1 | rate); server us/call $(usec)"
redis-cli -p $PORT config resetstat >/dev/null
echo "counter script, reserve 2 counters: $(redis-benchmark -p $PORT -c 50 -n $N -r 10000 EVALSHA $SHA 2 'bench:{d:=s__rand_int__}' 'bench:{g:=}' r '' 1000 1000000000 1000000 1000 1 1000000000 1000000 1000 1 | rate); server us/call $(usec)"
redis-cli -p $PORT config resetstat >/dev/null
echo "empty script again: $(redis-benchmark -p $PORT -c 50 -n $N EVALSHA $EMPTY 0 | rate); server us/call $(usec)"
# BASELINE_REV=<commit>: the counter script of that revision, side by side (before issue 17: a sorted set, a total and
# a store-wide state key per call, all in one hash slot).
if [ -n "${BASELINE_REV:-}" ]; then
  OLD=$(git show "$BASELINE_REV:src/PolicyLayer.Redis/Counters/counters.lua" | redis-cli -p $PORT -x script load)
  redis-cli -p $PORT config resetstat >/dev/null
  echo "baseline script, reserve 1 counter: $(redis-benchmark -p $PORT -c 50 -n $N -r 10000 EVALSHA $OLD 3 '{o}:state' '{o}:z:s__rand_int__' '{o}:n:s__rand_int__' r '' 1000 1000000000 1000000 1 | rate); server us/call $(usec)"
  redis-cli -p $PORT config resetstat >/dev/null
  echo "baseline script, reserve 2 counters: $(redis-benchmark -p $PORT -c 50 -n $N -r 10000 EVALSHA $OLD 5 '{o}:state' '{o}:z:s__rand_int__' '{o}:n:s__rand_int__' '{o}:z:g' '{o}:n:g' r '' 1000 1000000000 1000000 1 1000000000 1000000 1 | rate); server us/call $(usec)"
fi
