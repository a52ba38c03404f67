#!/usr/bin/env python3
"""Start-up times of several commands, run round-robin: on a host whose load
drifts, hyperfine's one-command-after-another lets the drift pass for a
difference between commands; interleaved, every command sees the same host.

interleave.py [--gap SECONDS] OUT.json RUNS WARMUP NAME CMD [NAME CMD...]
Each CMD is split on blanks and started with posix_spawnp (no shell), its
input from and output to /dev/null (as hyperfine: a runtime reading its
stdin would eat the caller's script); the wall time from the spawn to its reaping is kept.
OUT.json has hyperfine's shape: {"results": [{"command", "mean", "median",
"stddev", "min", "max", "times", "failed"}]} in seconds.  As hyperfine -i,
a non-zero exit is counted, not fatal (QEMU's isa-debug-exit always gives
one); the count is in "failed" and on stderr.  --gap sleeps that long
before each run: a start after a quiet spell can cost what back-to-back
starts hide (a kernel lock's RCU grace period, caches gone cold)."""
import json
import os
import statistics
import sys
import time


def run(argv, devnull):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0),
                                        (os.POSIX_SPAWN_DUP2, devnull, 1),
                                        (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    return (t1 - t0) / 1e9, os.waitstatus_to_exitcode(status) != 0


def main():
    args = sys.argv[1:]
    gap = 0.0
    if args[:1] == ["--gap"]:
        gap, args = float(args[1]), args[2:]
    out, runs, warmup = args[0], int(args[1]), int(args[2])
    pairs = args[3:]
    if not pairs or len(pairs) % 2:
        sys.exit("usage: interleave.py [--gap SECONDS] OUT.json RUNS WARMUP NAME CMD [NAME CMD...]")
    cmds = [(pairs[i], pairs[i + 1].split()) for i in range(0, len(pairs), 2)]
    times = [[] for _ in cmds]
    failed = [0 for _ in cmds]
    devnull = os.open(os.devnull, os.O_RDWR)
    for i in range(warmup + runs):
        for j, (_, argv) in enumerate(cmds):
            time.sleep(gap)
            t, bad = run(argv, devnull)
            if i >= warmup:
                times[j].append(t)
                failed[j] += bad
    for (name, _), n in zip(cmds, failed):
        if n:
            print(f"interleave.py: {name}: {n} of {runs} runs exited non-zero", file=sys.stderr)
    res = [{"command": name, "mean": statistics.mean(t), "median": statistics.median(t),
            "stddev": statistics.stdev(t) if len(t) > 1 else 0.0, "min": min(t), "max": max(t),
            "times": t, "failed": n} for (name, _), t, n in zip(cmds, times, failed)]
    with open(out, "w") as f:
        json.dump({"results": res}, f)


main()
