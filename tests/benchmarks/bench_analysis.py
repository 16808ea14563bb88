"""Time the analysis of a registry of 20 innovations the size of the ``cpu`` tier.

Each innovation: 2 arms × 4 budgets × 3 sizes × 3 seeds = 72 runs drawn from planted
scaling laws (random exponents, Δα = 0 for a third of them, noise from 0.005 to 0.04,
modern arms up to 2× slower per FLOP, a few failed runs), recorded in a real temporary
registry; the last innovation is a bundle of two others. The timed call is
``cegbench.sweep.run.analyze_innovations`` — what ``cegbench analyze --tier cpu`` runs:
read the runs, analyse (frontier, fit, 200 bootstrap replicates, sensitivity refits,
the decision estimate when inconclusive, CEG at target losses, wall-clock CEG) and
store every verdict. The reference in the same run is the main estimate alone
(``analyze_innovation(..., check_sensitivity=False)`` on the same runs, no registry).

    python tests/benchmarks/bench_analysis.py [--innovations 20]

For a one-core figure, pin the process: ``taskset -c 0 python ...`` (and
``OMP_NUM_THREADS=1``). CPU time is printed beside wall time: on a shared machine
wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for analysis_fixtures
from analysis_fixtures import add_planted_innovation, planted_innovation
from cegbench.analysis import analyze_innovation
from cegbench.registry.db import runs, verdicts
from cegbench.registry.opening import open_registry
from cegbench.sweep.verdicts import analyze_innovations
from cegbench.tiers import TIERS


def build_registry(path: Path, n_innovations: int, rng: np.random.Generator) -> list[str]:
    """A registry of planted innovations on the cpu tier; the last one bundles the first two."""
    tier = TIERS.get("cpu")
    db = open_registry(path)
    names = []
    with db.atomic():
        for i in range(n_innovations):
            bundle = i == n_innovations - 1 and n_innovations > 2
            name = f"bundle-{i:02d}" if bundle else f"planted-{i:02d}"
            alpha = rng.uniform(0.08, 0.3)
            step = 0.0 if i % 3 == 0 else rng.uniform(-0.05, 0.1)
            add_planted_innovation(
                db, planted_innovation(name, parts=(names[0], names[1]) if bundle else ()), tier, rng,
                alphas=(alpha, alpha + step), excess=(2.0, rng.uniform(1.5, 2.0)),
                noise=rng.uniform(0.005, 0.04), curvature=rng.uniform(0.03, 0.1),
                seconds_per_flop=(1e-9, rng.uniform(1e-9, 2e-9)), n_failed=int(rng.integers(0, 3)),
            )
            names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--innovations", type=int, default=20)
    args = parser.parse_args()

    tier = TIERS.get("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registry.db"
        names = build_registry(path, args.innovations, np.random.default_rng(2025))
        db = open_registry(path)
        recorded = [runs(db, name, tier.name, tier.version) for name in names]
        analyze_innovation(recorded[0], margin=tier.margin, n_boot=10)  # warm imports and caches

        wall, cpu = time.perf_counter(), time.process_time()
        for frame in recorded:
            analyze_innovation(frame, margin=tier.margin, check_sensitivity=False)
        reference = time.perf_counter() - wall, time.process_time() - cpu

        wall, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            analyze_innovations(db, names, tier)
        full = time.perf_counter() - wall, time.process_time() - cpu
        stored = verdicts(db, tier.name)

    labels = [v["label"] for v in stored]
    changed: dict[str, int] = {}
    for v in stored:
        for variant in json.loads(v["sensitivity"] or "[]"):
            if variant["label"] is not None and (variant["label"], variant["direction"]) != (v["label"], v["direction"]):
                changed[variant["variant"]] = changed.get(variant["variant"], 0) + 1
    n_runs = sum(len(frame) for frame in recorded)
    print(f"cpu tier, {len(names)} innovations, {n_runs} runs, n_boot=200")
    print(f"main estimate only (reference)   wall {reference[0]:6.2f} s   cpu {reference[1]:6.2f} s")
    print(f"cegbench analyze (full, stored)  wall {full[0]:6.2f} s   cpu {full[1]:6.2f} s   "
          f"ratio {full[1] / reference[1]:.2f}× the reference (cpu)")
    print(f"per innovation                   wall {full[0] / len(names):6.3f} s   cpu {full[1] / len(names):6.3f} s")
    print("labels        " + ", ".join(f"{label}: {labels.count(label)}" for label in sorted(set(labels))))
    print(f"fragile       {sum(bool(v['fragile']) for v in stored)} of {len(stored)}; label changed by "
          + ", ".join(f"{variant}: {n}" for variant, n in sorted(changed.items())))
    print(f"printed       {len(printed.getvalue().splitlines())} verdict lines")


if __name__ == "__main__":
    main()
