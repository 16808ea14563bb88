"""Synthetic registries for the analysis: planted laws written as real run rows.

``add_planted_innovation`` registers an innovation and records the runs a tier would
plan for it (every budget × an IsoFLOP ladder of 3 sizes × the tier's seeds × both
arms), with losses from planted laws L*(C) = E + A·C^(−α) plus a valley in log N and
seed noise, and wall times from planted seconds per FLOP. Used by the CLI tests and by
``tests/benchmarks/bench_analysis.py`` (the same code path as ``cegbench analyze``).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from cegbench import Innovation, Recipe
from cegbench.registry.db import innovation_row, save_innovations, save_run

PLUGIN = SimpleNamespace(distribution="cegbench-tests", version="0.0.0")
LADDER = (0.25, 1.0, 4.0)  # sizes relative to the compute-optimal N*(C) = √(C/120)
E_TRUE = 1.8


def planted_innovation(name: str, parts: tuple[str, ...] = ()) -> Innovation:
    return Innovation(
        name=name, title=f"Planted {name}", category="architecture", year=2024,
        paper="https://example.org/planted", description="Synthetic runs from planted scaling laws.",
        baseline=Recipe(activation="gelu"), modern=Recipe(activation="swiglu"),
        parts=parts, plugin="tests.analysis_fixtures",
    )


def add_planted_innovation(db, innovation: Innovation, tier, rng: np.random.Generator, *,
                           alphas=(0.15, 0.15), excess=(2.0, 1.8), noise=0.01, curvature=0.05,
                           seconds_per_flop=(1e-9, 1e-9), n_failed=0) -> None:
    """Record ``innovation`` and its runs on ``tier`` from the planted laws (see module doc).

    ``alphas``, ``excess`` (L* − E at the geometric middle budget) and
    ``seconds_per_flop`` are (baseline, modern); the first seed's run of the first
    ``n_failed`` ladder sizes of the modern arm's smallest budget is recorded as failed
    (each size keeps its other seeds' runs).
    """
    save_innovations(db, [innovation_row(innovation, PLUGIN)])
    c_mid = math.exp(np.mean(np.log(tier.budgets)))
    failed = 0
    for arm, alpha, excess_mid, speed in zip(("baseline", "modern"), alphas, excess, seconds_per_flop):
        A = excess_mid * c_mid**alpha
        for budget in tier.budgets:
            optimum = E_TRUE + A * budget**-alpha
            for width, factor in enumerate(LADDER):
                n_params = round(math.sqrt(budget / 120) * factor)
                for seed in tier.seeds:
                    loss = optimum + curvature * math.log(factor) ** 2 + noise * rng.standard_normal()
                    fail = (arm == "modern" and budget == tier.budgets[0] and seed == tier.seeds[0]
                            and failed < n_failed)
                    failed += fail
                    save_run(db, {
                        "run_id": f"{innovation.name}-{tier.name}-{arm}-{budget:.3g}-{width}-{seed}",
                        "innovation": innovation.name, "arm": arm, "tier": tier.name,
                        "tier_version": tier.version, "budget": budget, "width": width,
                        "n_params": n_params, "seed": seed, "status": "failed" if fail else "ok",
                        "error": "diverged: planted failure" if fail else None,
                        "final_loss": None if fail else loss,
                        "train_time_s": budget * speed * (1 + 0.02 * rng.standard_normal()),
                        "declaration_hash": innovation.declaration_hash(),
                    })
