"""The cpu v4 pilot: does seed noise follow optimiser steps or training tokens, and does it
look like the noise model the v4 design was simulated with?

Trains the default recipe (gelu-to-swiglu's baseline: GeLU, LayerNorm, learned
positions, AdamW, cosine) at width 32 and 48 — the short rungs at the small end of the
grid — with 8 seeds per cell, in three pairs of cells per width:

* batch 8 (v3's and v4's), at runs of 1,400–2,000 steps;
* batch 16, the same steps (twice the tokens);
* batch 16, the same tokens (half the steps).

If noise follows steps, the first two cells are alike and the third is noisier; if it
follows tokens, the first and third are alike and the second is quieter.
``tests/test_pilot_v4.py`` reads the export and checks both against the noise model
fitted on cpu v3's runs (``docs/tiers.md`` has the numbers).

Each run's learning rate is the one v3's tuning gave the recipe at that width
(``leaderboard/runs.jsonl.gz``), the same at batch 16 (the pilot measures noise, not
rates). The runs are recorded under the tier name ``cpu-v4-pilot``, which no cegbench tier
has: the export is data for the check, not a tier's runs to import. One run at a time,
one torch thread, resumable (a run recorded already is skipped):

    nice python leaderboard/pilot_v4.py           # about 35 minutes of one core
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import sys
from pathlib import Path

import torch

from cegbench.plan import RunSpec
from cegbench.plugin_manager import load_catalog
from cegbench.registry.db import innovation_row, open_registry, recorded_run_ids, save_innovations
from cegbench.registry.exchange import write_export
from cegbench.registry.ingest import ingest
from cegbench.tiers import CPU_V4
from cegbench.train import run

HERE = Path(__file__).parent
REGISTRY = HERE / "pilot-v4.db"  # not committed
EXPORT = HERE / "pilot-v4.jsonl.gz"
INNOVATION, ARM = "gelu-to-swiglu", "baseline"
SEEDS = tuple(range(8))
# (width, budget at batch 8): runs of 1,987 and 1,432 steps at batch 8
CELLS = ((32, 2.5e11), (48, 5e11))


def pilot_specs(catalog) -> list[RunSpec]:
    """Every pilot run: per width, batch 8 at its budget, batch 16 at twice it (same steps)
    and at it (same tokens), each with ``SEEDS``."""
    innovation = catalog.innovations.get(INNOVATION)
    recipe = innovation.recipe(ARM)
    rates = v3_rates()
    specs = []
    for width, budget in CELLS:
        for batch, factor in ((8, 1), (16, 2), (16, 1)):
            tier = dataclasses.replace(CPU_V4, name="cpu-v4-pilot", batch_size=batch)
            for seed in SEEDS:
                specs.append(RunSpec.for_tier(
                    tier, recipe=recipe, budget=budget * factor, width=width, seed=seed,
                    learning_rate=rates[width], innovation=INNOVATION, arm=ARM,
                    declaration_hash=innovation.declaration_hash()))
    return specs


def v3_rates() -> dict[int, float]:
    """The learning rate v3's runs of the pilot's recipe used at each width."""
    rates = {}
    with gzip.open(HERE / "runs.jsonl.gz", "rt") as rows:
        for line in rows:
            row = json.loads(line)
            if row["innovation"] == INNOVATION and row["arm"] == ARM:
                rates[row["width"]] = row["learning_rate"]
    return rates


def main() -> int:
    torch.set_num_threads(1)
    catalog = load_catalog()
    db = open_registry(REGISTRY)
    innovation = catalog.innovations.get(INNOVATION)
    save_innovations(db, [innovation_row(innovation, catalog.plugin_info(innovation.plugin))])
    specs = pilot_specs(catalog)
    done = recorded_run_ids(db, [s.run_id for s in specs])
    for i, spec in enumerate(specs, 1):
        if spec.run_id in done:
            continue
        result = run(spec, catalog.components)
        ingest(db, result, "python leaderboard/pilot_v4.py")
        print(f"{i}/{len(specs)} width {spec.width} batch {spec.batch_size} budget {spec.budget:.3g} "
              f"seed {spec.seed}: {result.steps} steps, loss {result.final_loss}, {result.wall_time_s:.1f} s",
              flush=True)
    count = write_export(db, str(EXPORT))
    print(f"exported {count} runs to {EXPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
