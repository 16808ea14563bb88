"""Planted external runs (``cegbench import --external``): power laws at budgets and
sizes no built-in tier has, as final losses or as checkpoint curves."""

from __future__ import annotations

import csv
import math

import numpy as np

BUDGETS = (3e17, 1.2e18, 4.8e18, 1.92e19, 7.68e19)  # ×4 apart: 2.4 decades
LADDER = (0.25, 0.5, 1.0, 2.0, 4.0)  # sizes relative to the budget's optimum N*
E = 1.7
CURVATURE = 0.05  # loss per (ln N/N*)²


def optimum_size(budget: float) -> float:
    return math.sqrt(budget / 120)


def frontier_loss(arm: str, budget: float, growth: float) -> float:
    """L*(C) = E + A·C^−α with the modern arm's CEG growing ``growth``× per 10× compute."""
    alpha_b = 0.12
    alpha_m = alpha_b * (1 + math.log10(growth))  # CEG ∝ C^(Δα/α_b): 10^(Δα/α_b) per 10×
    middle = math.sqrt(BUDGETS[0] * BUDGETS[-1])
    alpha, excess = (alpha_b, 1.2) if arm == "baseline" else (alpha_m, 1.0)
    return E + excess * (budget / middle) ** -alpha


def final_rows(tier="planted-ext", innovation="planted-pair", *, growth=2.0, seeds=(0, 1),
               noise=0.003, rng_seed=0):
    """One row per run: final loss at its budget, ``len(seeds)`` seeds per cell."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for arm in ("baseline", "modern"):
        for budget in BUDGETS:
            for factor in LADDER:
                n = optimum_size(budget) * factor
                for seed in seeds:
                    loss = (frontier_loss(arm, budget, growth) + CURVATURE * math.log(factor) ** 2
                            + noise * rng.standard_normal())
                    rows.append({"innovation": innovation, "arm": arm, "tier": tier,
                                 "params": round(n), "flops": budget, "loss": round(loss, 6),
                                 "seed": seed, "tokens": round(budget / (6 * round(n))),
                                 "source": "planted by tests/external_fixtures.py",
                                 "citation": "none (synthetic)", "licence": "CC0"})
    return rows


def curve_rows(tier="planted-curves", innovation="planted-curves-pair", *, growth=2.0,
               noise=0.002, rng_seed=1, checkpoints=24):
    """One seed; each size trained to the largest budget it serves, its checkpoints on a
    log grid: a run's loss at C is the planted IsoFLOP loss there (a constant-rate run)."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    sizes = sorted({round(optimum_size(b) * f) for b in BUDGETS for f in LADDER})
    for arm in ("baseline", "modern"):
        for n in sizes:
            end = max(BUDGETS) * 1.01
            start = 6 * n * 1e6  # a million tokens in
            for step, flops in enumerate(np.geomspace(start, end, checkpoints)):
                factor = n / optimum_size(flops)
                loss = (frontier_loss(arm, flops, growth) + CURVATURE * math.log(factor) ** 2
                        + noise * rng.standard_normal())
                rows.append({"innovation": innovation, "arm": arm, "tier": tier, "run": f"{arm}-{n}",
                             "step": step * 100, "params": n, "flops": float(flops),
                             "loss": round(loss, 6), "tokens": float(flops) / (6 * n)})
    return rows


def write_csv(path, rows) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
