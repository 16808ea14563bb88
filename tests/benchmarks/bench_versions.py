"""Trainer speed of two cegbench checkouts, run for run, side by side in one run.

Each checkout's own interpreter (its virtual environment) starts one worker process
(1 thread); the driver sends both workers the same run specs and alternates which
one trains first, so both see the same machine. It prints each checkout's training
seconds per run and their ratio, with the final losses compared (bit-identical when
the trainer did not change the numbers). The specs are a registry's recorded runs:

    python tests/benchmarks/bench_versions.py --registry cpu.db --where "budget = 1e11" \\
        --old /path/to/old/checkout/.venv/bin/python --new .venv/bin/python --repeats 2
"""

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys

WORKER = r"""
import json, sys, torch
torch.set_num_threads(1)
from cegbench.plan.specs import RunSpec
from cegbench.catalog.plugin_manager import load_catalog
from cegbench.train.trainer import run
components = load_catalog().components
for line in sys.stdin:
    result = run(RunSpec.from_dict(json.loads(line)), components)
    print(json.dumps([result.train_time_s, result.wall_time_s, result.final_loss]), flush=True)
"""


def worker(python: str) -> subprocess.Popen:
    return subprocess.Popen([python, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, bufsize=1)


def train(process: subprocess.Popen, spec: str) -> list:
    process.stdin.write(spec + "\n")
    return json.loads(process.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registry", required=True)
    parser.add_argument("--where", default="1 = 1", help="SQL condition on the runs table")
    parser.add_argument("--old", required=True, help="python of the old checkout")
    parser.add_argument("--new", default=sys.executable, help="python of the new checkout")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    specs = [row[0] for row in sqlite3.connect(args.registry).execute(
        f"select spec from runs where {args.where} order by arm, budget, width, seed")]
    old, new = worker(args.old), worker(args.new)
    totals = {"old": [0.0, 0.0], "new": [0.0, 0.0]}
    ratios, same = [], 0
    print(f"{len(specs)} runs × {args.repeats} repeats; old {args.old}, new {args.new}")
    for repeat in range(args.repeats):
        for i, spec in enumerate(specs):
            order = [("old", old), ("new", new)][:: 1 if (i + repeat) % 2 == 0 else -1]
            got = {name: train(process, spec) for name, process in order}
            for name in totals:
                totals[name][0] += got[name][0]
                totals[name][1] += got[name][1]
            ratios.append(got["new"][0] / got["old"][0])
            same += got["new"][2] == got["old"][2]
            data = json.loads(spec)
            print(f"  {data['arm']:<8} C={data['budget']:.0e} w={data['width']:<4} seed {data['seed']}: "
                  f"train old {got['old'][0]:6.2f}s new {got['new'][0]:6.2f}s ({ratios[-1]:.3f})", flush=True)
    for process in (old, new):
        process.stdin.close()
        process.wait()
    print(f"training seconds: old {totals['old'][0]:.1f}, new {totals['new'][0]:.1f}, "
          f"new/old {totals['new'][0] / totals['old'][0]:.3f} (median per run "
          f"{statistics.median(ratios):.3f}); whole runs new/old "
          f"{totals['new'][1] / totals['old'][1]:.3f}; final losses equal in {same} of {len(ratios)}")


if __name__ == "__main__":
    main()
