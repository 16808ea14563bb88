"""The smoke tier over the whole catalogue, timed: `cegbench run --tier smoke`, tuning included.

The target is the whole catalogue in under 3 minutes on 2 CPU cores. This
runs the command as a user would, into a fresh registry, and prints the wall and CPU
time (the driver and its workers), the runs done, the time per 48-run innovation, and
the time extrapolated to a catalogue of ``--innovations`` (21 by default) with its
ratio to the target, both from the wall time and from the CPU time spread over the
jobs. On a busy machine the wall time is inflated; the CPU time is not (much).

    python tests/benchmarks/bench_smoke_catalogue.py [--jobs 2] [--innovations 21]
"""

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from sqlite_utils import Database

TARGET_S = 180.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--innovations", type=int, default=21,
                        help="catalogue size to extrapolate to")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        registry = Path(folder) / "registry.db"
        start = time.perf_counter()
        subprocess.run(["cegbench", "run", "--tier", "smoke", "--jobs", str(args.jobs),
                        "--registry", str(registry)], check=True, capture_output=True)
        wall = time.perf_counter() - start
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = children.ru_utime + children.ru_stime
        db = Database(registry)
        innovations, runs = db["innovations"].count, db["runs"].count
        tuning_runs = db["tuning_runs"].count
    per_run = wall / (runs + tuning_runs)
    per_innovation = per_run * 48 * (1 + tuning_runs / runs)
    projected = wall / innovations * args.innovations
    print(f"{innovations} innovations: {runs} runs + {tuning_runs} tuning runs with --jobs {args.jobs}")
    print(f"wall {wall:.1f} s, CPU {cpu:.1f} s (driver and workers)")
    print(f"about {per_innovation:.1f} s wall per 48-run innovation, tuning included")
    print(f"{args.innovations} innovations: about {projected:.0f} s wall, "
          f"{projected / TARGET_S:.2f} × the {TARGET_S:.0f} s target")
    cpu_bound = cpu / innovations * args.innovations / args.jobs
    print(f"{args.innovations} innovations on {args.jobs} idle cores (CPU time / jobs): about "
          f"{cpu_bound:.0f} s, {cpu_bound / TARGET_S:.2f} × the target")


if __name__ == "__main__":
    main()
