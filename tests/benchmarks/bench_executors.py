"""Scheduling overhead per run of each executor on the smoke tier, in one process.

Runs one innovation's smoke sweep through each executor with the same number of
runs at a time (``--parallel``, default 2) and prints, per executor: the start-up
time (making the executor: starting Ray, …), the sweep's wall time, the sum of
the runs' own training times, and the overhead per run

    (parallel × wall − Σ run times) / n_runs

i.e. the slot time each run spends outside ``train.run`` (submission, pickling,
worker start-up and plugin loading, result transfer, polling), with its ratio
to the first executor's (the local process pool by default), measured in the same invocation. Datasets come
from a cache filled beforehand, so no executor is charged for making them.

    python tests/benchmarks/bench_executors.py [--innovation layernorm-to-rmsnorm]
        [--parallel 2] [--executors local,ray,slurm]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.data.datasets import load_dataset
from cegbench.execute import make_executor, results
from cegbench.tiers import TIERS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for plan_fixtures
from plan_fixtures import plan_untuned  # noqa: E402


def settings_for(name: str, parallel: int, n_runs: int, folder: str) -> dict:
    if name == "local":
        return {}
    if name == "ray":
        import ray

        ray.init(num_cpus=parallel, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        return {}
    # submitit's local executor starts every job at once: one job per slot
    return {"cluster": "local", "folder": folder, "runs_per_job": -(-n_runs // parallel)}


def measure(name: str, specs, components, parallel: int, folder: str) -> dict:
    start = time.perf_counter()
    executor = make_executor(name, components, jobs=parallel,
                             settings=settings_for(name, parallel, len(specs), folder))
    started = time.perf_counter()
    finished = list(results(specs, executor))
    wall = time.perf_counter() - started
    if name == "ray":
        import ray

        ray.shutdown()
    failed = [r.error for r in finished if r.status != "ok"]
    assert not failed, failed
    run_time = sum(r.wall_time_s for r in finished)
    return {"startup": started - start, "wall": wall, "run_time": run_time,
            "overhead": (parallel * wall - run_time) / len(finished)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--innovation", default="layernorm-to-rmsnorm")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--executors", default="local,ray,slurm")
    args = parser.parse_args()
    torch.set_num_threads(1)

    catalog = load_catalog()
    tier = TIERS.get("smoke")
    # scheduling overhead does not depend on the learning rate
    specs = plan_untuned([catalog.innovations.get(args.innovation)], tier, catalog.components)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["CEGBENCH_DATA_CACHE"] = os.path.join(folder, "data")
        load_dataset(tier.dataset)  # fills the cache every worker reads
        print(f"{args.innovation} on the smoke tier: {len(specs)} runs, "
              f"{args.parallel} at a time, {os.cpu_count()} CPUs")
        names = args.executors.split(",")
        print(f"{'executor':<10}{'start-up s':>12}{'wall s':>10}{'Σ runs s':>10}"
              f"{'overhead/run s':>16}{'vs ' + names[0]:>10}")
        reference = None
        for name in names:
            row = measure(name, specs, catalog.components, args.parallel,
                          os.path.join(folder, name))
            reference = reference or row["overhead"]
            print(f"{name:<10}{row['startup']:>12.2f}{row['wall']:>10.1f}{row['run_time']:>10.1f}"
                  f"{row['overhead']:>16.3f}{row['overhead'] / reference:>10.2f}")


if __name__ == "__main__":
    main()
