#!/usr/bin/env python3
"""Redis CPU per decision of the counter script, side by side with the raw EVALSHA rate and a baseline script.

Starts its own redis-server on a free loopback port, loads `return 1` (the raw rate), a bare TIME+GET+SET script (the
floor of any design that reads and writes one key), the counter script of BASELINE_REV and the one in the work tree.
Then runs every case in turn (A B A B ...) for ROUNDS rounds of N requests each with redis-benchmark -c 50, and prints
per case the medians of: requests per second, server microseconds per call (INFO commandstats usec_per_call, wall time
inside the command) and server CPU per call (INFO cpu user+sys over the run, divided by N), and the median over rounds
of each per-round ratio to the raw EVALSHA case (or to the baseline). Run from the repository root:

    BASELINE_REV=2f360c9~1 ROUNDS=9 N=4000 python3 benchmarks/PolicyLayer.Benchmarks/redis-script-ab.py
"""
import os
import re
import socket
import statistics
import subprocess
import sys
import time

SCRIPT = 'src/PolicyLayer.Redis/Counters/counters.lua'
ROUNDS = int(os.environ.get('ROUNDS', 9))
N = int(os.environ.get('N', 4000))
BASELINE_REV = os.environ.get('BASELINE_REV', '')
# ALT_SCRIPT=path adds a third script (a variant under study) to every workload.

s = socket.socket()
s.bind(('127.0.0.1', 0))
PORT = str(s.getsockname()[1])
s.close()
server = subprocess.Popen(['redis-server', '--port', PORT, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                           '--daemonize', 'no', '--loglevel', 'warning'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cli(*args, text_in=None):
    return subprocess.run(['redis-cli', '-p', PORT, *args], input=text_in, capture_output=True, text=True, check=True).stdout


def load(text):
    return cli('-x', 'script', 'load', text_in=text).strip()


def cpu_seconds():
    return sum(float(line.split(':')[1]) for line in cli('info', 'cpu').splitlines()
               if line.startswith(('used_cpu_user:', 'used_cpu_sys:')))


def usec_per_call():
    match = re.search(r'cmdstat_evalsha:.*usec_per_call=([0-9.]+)', cli('info', 'commandstats'))
    return float(match.group(1))


def run(args):
    cli('config', 'resetstat')
    before = cpu_seconds()
    out = subprocess.run(['redis-benchmark', '-p', PORT, '-c', '50', '-n', str(N), *args], capture_output=True, text=True).stdout
    cpu = (cpu_seconds() - before) * 1e6 / N
    rps = float(re.findall(r'([0-9.]+) requests per second', out.replace('\r', '\n'))[-1])
    return rps, usec_per_call(), cpu


try:
    for _ in range(50):
        try:
            cli('ping')
            break
        except subprocess.CalledProcessError:
            time.sleep(0.1)
    empty = load('return 1')
    floor = load("redis.call('TIME') redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], string.rep('x', 100), 'PX', 60000) return 1")
    scripts = {'new': load(open(SCRIPT).read())}
    if BASELINE_REV:
        scripts['old'] = load(subprocess.run(['git', 'show', f'{BASELINE_REV}:{SCRIPT}'], capture_output=True, text=True, check=True).stdout)
    if os.environ.get('ALT_SCRIPT'):
        scripts['alt'] = load(open(os.environ['ALT_SCRIPT']).read())

    # Arguments as RedisCounterStore sends them: r, server clock, 1 s slack, then max, window (us), quantum (us), amount.
    session = ['1000', '30', '60000000', '15', '1']                   # 30 a minute, exact: 15 us quantum
    spend = ['1000', '1000000000', '1000000', '4000', '1']            # max 10^9 a second: the 1/254 grid (4 ms)
    hourly = ['1000', '1000', '3600000000', '1000', '1']              # 1,000 an hour, exact: 1 ms quantum
    cases = [('raw EVALSHA (return 1)', ['-r', '10000', 'EVALSHA', empty, '0'])]
    cases.append(('floor: TIME+GET+SET', ['-r', '10000', 'EVALSHA', floor, '1', 'f:{s__rand_int__}']))
    workloads = [
        ('1 counter, 30/min, 10,000 sessions', lambda p: ['1', p + ':{s=__rand_int__}', 'r', ''] + session),
        ('1 counter, 10^9/s grid, 10,000 sessions', lambda p: ['1', p + ':{g=__rand_int__}', 'r', ''] + spend),
        ('2 counters: session 30/min + hot global 10^9/s', lambda p: ['2', p + ':{s=__rand_int__}', p + ':{h=}', 'r', '', '1000'] + session[1:] + spend[1:]),
        ('1 counter, 1,000/hour, one full key (refusals)', lambda p: ['1', p + ':{full=}', 'r', ''] + hourly),
    ]
    for label, make in workloads:
        for name, sha in scripts.items():
            cases.append((f'{name}: {label}', ['-r', '10000', 'EVALSHA', sha] + make(name)))

    results = {label: [] for label, _ in cases}
    loads = []
    for r in range(ROUNDS):
        loads.append(open('/proc/loadavg').read().split()[0])
        for label, args in cases:
            results[label].append(run(args))
        print(f'round {r + 1}/{ROUNDS} done, load average {loads[-1]}', file=sys.stderr, flush=True)

    raw = results[cases[0][0]]
    print(f'redis-server {cli("info", "server").split("redis_version:")[1].split()[0]}, -c 50, N={N} per run, {ROUNDS} rounds, '
          f'load average at the start of each round: {" ".join(loads)}')
    print('| case | req/s | server us/call | server CPU us/call | rate / raw | raw CPU / CPU | us/call vs old |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    for label, _ in cases:
        rows = results[label]
        med = lambda k: statistics.median(x[k] for x in rows)
        rate_ratio = statistics.median(rows[i][0] / raw[i][0] for i in range(ROUNDS))
        cpu_ratio = statistics.median(raw[i][2] / rows[i][2] for i in range(ROUNDS))
        versus = ''
        if label.startswith('new: ') and 'old: ' + label[5:] in results:
            old = results['old: ' + label[5:]]
            versus = f'{statistics.median(rows[i][1] / old[i][1] for i in range(ROUNDS)):.2f}x'
        print(f'| {label} | {med(0):,.0f} | {med(1):.1f} | {med(2):.1f} | {rate_ratio:.2f} | {cpu_ratio:.2f} | {versus} |')
finally:
    server.kill()
