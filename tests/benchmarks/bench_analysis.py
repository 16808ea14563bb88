"""Time ``analyze_innovation`` on 20 synthetic innovations the size of a realistic tier.

Each innovation: 2 arms × 5 budgets × 3 sizes × 3 seeds = 90 runs drawn from planted
scaling laws with IsoFLOP valleys and seed noise; n_boot = 200 (the default).

    python tests/benchmarks/bench_analysis.py [--innovations 20] [--n-boot 200]

For a one-core figure, pin the process: ``taskset -c 0 python ...`` (and
``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from cegbench.analysis import analyze_innovation

BUDGETS = (1e13, 1e14, 1e15, 1e16, 1e17)
LADDER = (0.25, 1.0, 4.0)  # sizes relative to the compute-optimal N*(C) = √(C/120)
SEEDS = 3


def synthetic_innovation(rng: np.random.Generator) -> pd.DataFrame:
    """Runs of one innovation: random exponents, E shared, curvature and noise."""
    E = rng.uniform(1.5, 2.5)
    curvature = rng.uniform(0.03, 0.1)
    noise = rng.uniform(0.005, 0.03)
    alpha_baseline = rng.uniform(0.08, 0.3)
    arms = {
        "baseline": (alpha_baseline, 2.0),
        "modern": (alpha_baseline + rng.choice([0.0, rng.uniform(-0.05, 0.1)]), rng.uniform(1.5, 2.0)),
    }
    rows = []
    for arm, (alpha, excess_at_1e15) in arms.items():
        A = excess_at_1e15 * 1e15**alpha
        for budget in BUDGETS:
            optimum = E + A * budget**-alpha
            for factor in LADDER:
                loss = optimum + curvature * math.log(factor) ** 2
                n_params = round(math.sqrt(budget / 120) * factor)
                for seed in range(SEEDS):
                    rows.append((arm, budget, n_params, seed, loss + noise * rng.standard_normal()))
    return pd.DataFrame(rows, columns=["arm", "budget", "n_params", "seed", "final_loss"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--innovations", type=int, default=20)
    parser.add_argument("--n-boot", type=int, default=200)
    args = parser.parse_args()

    rng = np.random.default_rng(2025)
    innovations = [synthetic_innovation(rng) for _ in range(args.innovations)]
    analyze_innovation(innovations[0], margin=0.02, n_boot=10)  # warm imports and caches

    seconds, labels = [], []
    for runs in innovations:
        start = time.perf_counter()
        analysis = analyze_innovation(runs, margin=0.02, n_boot=args.n_boot)
        seconds.append(time.perf_counter() - start)
        labels.append(analysis.label)

    seconds = np.array(seconds)
    print(f"analyze_innovation: {len(innovations)} innovations × {len(innovations[0])} runs, n_boot={args.n_boot}")
    print(f"total         {seconds.sum():.2f} s")
    print(f"per innovation mean {seconds.mean():.3f} s, median {np.median(seconds):.3f} s, max {seconds.max():.3f} s")
    print("labels        " + ", ".join(f"{label}: {labels.count(label)}" for label in sorted(set(labels))))


if __name__ == "__main__":
    main()
