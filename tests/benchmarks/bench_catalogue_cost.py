"""What a tier's whole catalogue costs on a quiet machine: re-time a random sample of its runs.

A long sweep's run times are measured under whatever else the machine did at the time
(``leaderboard/README.md``: the cpu sweep ran in five sittings under varying load). This
retrains a random sample of a registry's trainings — its learning-rate tuning runs, and
one measurement run per training as the sweep trains them now (``plan.training_id``) —
``--jobs`` at a time with one torch thread each, as the sweep runs, and prints:

- each sampled run: recorded and quiet seconds, and whether its final loss is the
  recorded one to the bit (a training is a pure function of its spec);
- the quiet/recorded ratio of the sample (the reference: the same runs' recorded times);
- the catalogue's quiet wall time: the wall clock of the sample × (recorded seconds of
  every training) / (recorded seconds of the sample), with a 95 % bootstrap interval
  over the sampled runs; beside it the trainings the registry did and the ones the
  sweep would do now.

Run it alone on the machine (nothing else timed, no sweep):

    python tests/benchmarks/bench_catalogue_cost.py [--registry leaderboard/cpu.db] [--tier cpu]
        [--minutes 25] [--seed 0] [--jobs 2]

``--minutes`` bounds the sample: runs are drawn in random order until their recorded
seconds, at the machine's share of ``--jobs`` cores, reach it.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time

import numpy as np

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.execute import results
from cegbench.execute.local import LocalExecutor
from cegbench.plan.specs import RunSpec, TrainSpec
from cegbench.sweep.run import by_training


def trainings(db, tier, components):
    """[(kind, spec, recorded seconds, recorded loss)]: every tuning run of ``tier``'s newest
    version, and one trained measurement run per training (the first recorded), as today's
    sweep groups them (``sweep.by_training``); the number of measurement runs that trained;
    the version."""
    version = db.execute("select max(tier_version) from runs where tier = ?", [tier]).fetchone()[0]
    rows = db.execute("select spec, wall_time_s, final_loss from runs where tier = ? and tier_version = ? "
                      "and status = 'ok' and trained_as is null order by started_at",
                      [tier, version]).fetchall()
    runs = {}
    for spec, seconds, loss in rows:
        run = RunSpec.from_dict(json.loads(spec))
        runs[run.run_id] = ("run", run, seconds, loss)
    groups = by_training([run for _, run, _, _ in runs.values()], components)
    tuning = [("tuning", TrainSpec.from_dict(json.loads(spec)), seconds, loss)
              for spec, seconds, loss in db.execute(
                  "select spec, wall_time_s, final_loss from tuning_runs where tier = ? and "
                  "tier_version = ? and status = 'ok'", [tier, version])]
    return tuning + [runs[group[0].run_id] for group in groups.values()], len(rows), version


def draw(pool, minutes, jobs, seed):
    """Runs in random order until their recorded seconds, spread over ``jobs`` cores, reach
    ``minutes``."""
    order = random.Random(seed).sample(pool, len(pool))
    sample, seconds = [], 0.0
    for item in order:
        if seconds / jobs >= 60 * minutes:
            break
        sample.append(item)
        seconds += item[2]
    return sample


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", default="leaderboard/cpu.db")
    parser.add_argument("--tier", default="cpu")
    parser.add_argument("--minutes", type=float, default=25.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    catalog = load_catalog()
    db = sqlite3.connect(args.registry)
    pool, trained, version = trainings(db, args.tier, catalog.components)
    sample = draw(pool, args.minutes, args.jobs, args.seed)
    n_tuning = sum(kind == "tuning" for kind, *_ in pool)
    print(f"{args.tier} v{version}: {n_tuning} tuning runs; {trained} measurement runs trained, "
          f"{len(pool) - n_tuning} trainings as the sweep trains them now; re-timing {len(sample)} "
          f"({sum(s for _, _, s, _ in sample) / 60:.0f} recorded minutes), {args.jobs} at a time", flush=True)

    recorded = {spec.run_id: (kind, seconds, loss) for kind, spec, seconds, loss in sample}
    quiet, same = {}, 0
    start = time.perf_counter()
    executor = LocalExecutor(catalog.components, jobs=args.jobs)
    for result in results([spec for _, spec, _, _ in sample], executor):
        kind, seconds, loss = recorded[result.run_id]
        quiet[result.run_id] = result.wall_time_s
        same += result.final_loss == loss
        print(f"  {kind:6} {result.spec.budget:8.2g} w{result.spec.width:<4} {seconds:7.1f} s recorded "
              f"{result.wall_time_s:7.1f} s quiet  ×{result.wall_time_s / seconds:.2f}  "
              f"loss {'same' if result.final_loss == loss else f'{result.final_loss} ≠ {loss}'}", flush=True)
    wall = time.perf_counter() - start

    ids = list(quiet)
    old = np.array([recorded[i][1] for i in ids])
    new = np.array([quiet[i] for i in ids])
    use = new.sum() / (wall * args.jobs)  # of the cores, during the sample (its tail: one run alone)
    total = sum(s for _, _, s, _ in pool)

    def hours(ratio):
        return total * ratio / (args.jobs * use) / 3600

    rng = np.random.default_rng(args.seed)
    ratios = [new[d].sum() / old[d].sum() for d in rng.integers(len(ids), size=(2000, len(ids)))]
    low, high = np.percentile(ratios, [2.5, 97.5])
    ratio = new.sum() / old.sum()
    print(f"\nquiet / recorded seconds over the sample: ×{ratio:.3f} [{low:.3f}, {high:.3f}]; "
          f"final losses identical to the bit: {same}/{len(ids)}")
    print(f"sample: {wall / 60:.1f} min of wall clock for {new.sum() / 60:.1f} run-minutes ({use:.0%} use of "
          f"{args.jobs} cores)")
    print(f"whole catalogue, tuning included, trainings shared as now: {hours(ratio):.2f} h of wall clock "
          f"[{hours(low):.2f}, {hours(high):.2f}] on {args.jobs} cores")
    return {"sampled": len(ids), "identical": same, "ratio": ratio, "hours": hours(ratio),
            "interval": (hours(low), hours(high))}


if __name__ == "__main__":
    main()
