#!/usr/bin/env python3
"""Time from spawning a stdio MCP server command to reading its answer to initialize, for several commands in turn.

Usage: time-to-initialize.py RUNS 'COMMAND A' ['COMMAND B' ...]   (each command one string, split on spaces)
Runs the commands in turn (A B A B ...) after one warm-up run each, and prints per command the median and the
quartiles of the time to the answer (not to the process's exit), and the median of the per-pair ratios to the last
command. The clock starts just before the spawn; the request is written at once (as MCP clients do), and the time is
taken when the first line of the answer has been read. Then the input is closed and the process waited for.
"""
import statistics
import subprocess
import sys
import time

REQUEST = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n'


def once(command):
    start = time.perf_counter()
    process = subprocess.Popen(command.split(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process.stdin.write(REQUEST)
    process.stdin.flush()
    line = process.stdout.readline()
    elapsed = time.perf_counter() - start
    if b'"serverInfo"' not in line:
        sys.exit(f"time-to-initialize: '{command}' answered {line[:200]!r}")
    process.stdin.close()
    process.wait(timeout=30)
    return elapsed


def main():
    runs = int(sys.argv[1])
    commands = sys.argv[2:]
    for command in commands:
        once(command)
    times = {c: [] for c in commands}
    for _ in range(runs):
        for command in commands:
            times[command].append(once(command))
    last = commands[-1]
    for command in commands:
        t = sorted(times[command])
        q = statistics.quantiles(t, n=4)
        ratio = statistics.median(a / b for a, b in zip(times[command], times[last]))
        print(f"{statistics.median(t) * 1000:8.1f} ms median (quartiles {q[0] * 1000:.1f}-{q[2] * 1000:.1f})  ratio to last {ratio:5.2f}  {command}")


main()
