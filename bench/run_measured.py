#!/usr/bin/env python3
"""Runs a command and says how much CPU the rest of the machine used meanwhile.

    bench/run_measured.py [--report=FILE] COMMAND [ARGS...]

Benchmarks on a small machine are only as good as the machine is idle: on
two cores, one busy compiler halves every multi-threaded figure. This runs
COMMAND, and from /proc/stat (all CPU time) minus the command's own CPU time
(its rusage) prints, on stderr, the share of the machine other processes
used during the run, with a warning above 5% (also written to FILE with
--report). Exits with COMMAND's status.
Linux only; standard library only.
"""

import os
import resource
import subprocess
import sys
import time


def cpu_jiffies():
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def main(argv):
    report = None
    if len(argv) > 1 and argv[1].startswith("--report="):
        report = argv[1][len("--report="):]
        argv = argv[:1] + argv[2:]
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    hz = os.sysconf("SC_CLK_TCK")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = cpu_jiffies()
    start = time.monotonic()
    status = subprocess.call(argv[1:])
    wall = time.monotonic() - start
    busy1, total1 = cpu_jiffies()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = (total1 - total0) / hz
    others = max(0.0, (busy1 - busy0) / hz - ours)
    share = 100.0 * others / total if total > 0 else 0.0
    text = ("run_measured: %.0f s wall, %.0f CPU-s ours, %.0f CPU-s of other "
            "processes (%.1f%% of the machine)\n" % (wall, ours, others, share))
    if share > 5.0:
        text += ("run_measured: WARNING: other processes used %.1f%% of the CPUs "
                 "during the run; the figures (above all the multi-threaded ones) "
                 "are unreliable\n" % share)
    sys.stderr.write(text)
    if report:
        with open(report, "w") as f:
            f.write(text)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
