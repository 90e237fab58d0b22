#!/usr/bin/env python3
"""Best-of-N wall time, its CPU time and peak RSS of whole commands, printed as a table with ratios.

Usage: bench_time.py RUNS NAME=COMMAND [NAME=COMMAND ...]
The first command is the one the others are compared with (ratio = other / first).
"""
import os
import shlex
import subprocess
import sys
import time


def measure(cmd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {cmd}\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # KiB -> MiB


def main():
    runs = int(sys.argv[1])
    entries = [a.split("=", 1) for a in sys.argv[2:]]
    results = []
    for name, cmd in entries:
        best, rss = None, 0.0
        for _ in range(runs):
            w, r, cpu = measure(cmd)
            best = min(best or (w, cpu), (w, cpu))
            rss = max(rss, r)
        results.append((name, best[0], rss, best[1]))
    base = results[0][1]
    # CPU time (user + system) of the best run: on a shared machine, wall
    # time also counts the time the command waited for a core.
    print(f"| command | best of {runs} (s) | peak RSS (MiB) | time / {results[0][0]} | CPU of best (s) |")
    print("|---|---|---|---|---|")
    for name, wall, rss, cpu in results:
        print(f"| {name} | {wall:.3f} | {rss:.0f} | {wall / base:.2f} | {cpu:.3f} |")
    first = results[0][0]
    for name, wall, _, _ in results[1:]:
        if wall >= base:
            print(f"{first} is {wall / base:.1f}x faster than {name}")
        else:
            print(f"{first} takes {base / wall:.2f}x the time of {name}")


if __name__ == "__main__":
    main()
