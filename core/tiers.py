"""Tiers: named, versioned, fixed measurement set-ups.

A tier fixes the budgets, the size grid the allocation rule picks each
budget's ladder from, the seeds, the dataset, the context length, the batch
size and the learning-rate tuning protocol (see ``cegbench.plan.tuning``). A
published tier never changes: a change is a new ``version``, and runs of
different versions never mix in one fit.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from cegbench.components import Lookup


@dataclass(frozen=True)
class Tier:
    name: str
    version: int
    description: str
    dataset: str  # a dataset name (cegbench.data.names)
    context: int  # tokens per training window
    batch_size: int  # windows per step
    budgets: tuple[float, ...]  # training compute per run, FLOPs
    widths: tuple[int, ...]  # model-size grid (multiples of 16)
    seeds: tuple[int, ...]
    # seeds at each budget, in the order of ``budgets``: the first k of ``seeds`` (empty:
    # every seed at every budget). Seeds are cheapest where runs are shortest
    seeds_per_budget: tuple[int, ...] = ()
    sizes_per_budget: int = 3  # IsoFLOP ladder length around the expected optimum
    # widths a sweep may add beyond each end of a ladder whose results put the lowest
    # loss at that end (cegbench.plan.cells.extend_ladders); 0: ladders stay as planned
    ladder_extension: int = 0
    tokens_per_param: float = 20.0  # where the ladder is centred (Chinchilla)
    # learning-rate tuning (cegbench.plan.tuning): optimizer.base_lr × each multiplier is tried
    # at the smallest budget, middle width, on tuning_seed (never a measurement seed)
    lr_multipliers: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    # rates a tuning may add beyond an edge of lr_multipliers, one grid step at a time,
    # while the best rate is at that edge (cegbench.plan.tuning.extended); 0: the grid is fixed
    lr_extension: int = 3
    tuning_seed: int = 1000
    lr_width_exponent: float = 0.5  # lr(width) = tuned lr × (tuned width / width) ** exponent
    eval_points: int = 5  # held-out evaluations along each run (the last one at the end)
    eval_tokens: int = 16_384  # held-out tokens per evaluation
    # "scale-invariant" needs the CEG to drift by at most this factor over 100× of compute
    # (both ways: within [1/margin, margin]); analysis only, not part of any run's spec
    margin: float = 1.25
    # intervals from one noise model fitted on all the tier's runs (``analysis.robust``:
    # cell medians, a shape-aware optimum, heavy tails) instead of each ladder's pooled
    # seed residuals; analysis only, like ``margin``
    tier_noise: bool = False
    max_loss: float = 8.0  # a training loss above this (ln 256 ≈ 5.5 at init) is divergence
    # the most epochs of its dataset's training split any run may train on: the planner
    # refuses a tier whose largest run would repeat the data more often (not hashed into
    # run ids: it decides which runs may be planned, not what a run does)
    max_epochs: float = 1.0
    # what this version changed from the one before, for people (the site's About page);
    # display only, like ``description``
    changes: str = ""

    def __post_init__(self):
        if self.seeds_per_budget and (len(self.seeds_per_budget) != len(self.budgets)
                                      or not all(1 <= k <= len(self.seeds) for k in self.seeds_per_budget)):
            raise ValueError(f"tier {self.name} v{self.version}: seeds_per_budget {self.seeds_per_budget} needs one "
                             f"count per budget ({len(self.budgets)}), each from 1 to {len(self.seeds)}")

    def seeds_at(self, budget: float) -> tuple[int, ...]:
        """The seeds every cell at ``budget`` trains (``seeds_per_budget``)."""
        if not self.seeds_per_budget:
            return tuple(self.seeds)
        return tuple(self.seeds[: self.seeds_per_budget[list(self.budgets).index(budget)]])

    @property
    def headline_compute(self) -> float:
        """The one compute every innovation of the tier is quoted at: the geometric centre
        of its budgets (analysis only, like ``margin``)."""
        return float(math.sqrt(min(self.budgets) * max(self.budgets)))

    def learning_rate(self, tuned_lr: float, tuned_width: int, width: int) -> float:
        """The width rule: the rate tuned at ``tuned_width``, transferred to ``width``."""
        return tuned_lr * (tuned_width / width) ** self.lr_width_exponent


# How an external tier's frontier is read off its rows (``cegbench.analysis.curves`` reads
# them, the registry records each tier's): final losses at their budgets, or checkpoint
# curves read at a grid of budgets or as their lower envelope
FINAL, ISOFLOP, ENVELOPE = "final", "isoflop", "envelope"
FRONTIER_READS = (FINAL, ISOFLOP, ENVELOPE)
CURVE_READS = (ISOFLOP, ENVELOPE)
DEFAULT_CURVE_READ = ISOFLOP

TIERS: Lookup[Tier] = Lookup("tier")

for _tier in (
    Tier(
        name="smoke",
        version=2,
        description="CI and a first look: seconds per run on synthetic data; too small to decide much.",
        dataset="synthetic",
        context=32,
        batch_size=16,
        # v2 halved v1's budgets and held-out evaluation, so that the whole catalogue,
        # tuning included, runs in CI: about 7 CPU-seconds per innovation
        budgets=(2.5e8, 5e8, 1e9, 2e9),
        widths=(16, 32, 48, 64),
        seeds=(0, 1),
        lr_multipliers=(0.25, 1.0, 4.0),
        lr_extension=0,  # the default job and CI stay this cheap; a warning names an edge
        # budgets this small cannot reach 20 tokens per parameter at any width, and
        # every ladder is [16, 32, 48] at any centre above 0.07. At 0.125 the
        # allocation rules anchored there (kaplan, chinchilla) start at width 32,
        # which leaves the grid room for them to part: 64 against 48 at the top budget
        tokens_per_param=0.125,
        eval_points=2,
        eval_tokens=2048,
        # too small to decide much: a loose margin (CEG within 2× over 100× compute)
        margin=2.0,
        changes="v2 halved v1's budgets and held-out evaluation, so that the whole catalogue, "
                "tuning included, runs in CI.",
    ),
    Tier(
        name="cpu",
        version=3,
        description=(
            "A laptop: the embedded English Wikipedia sample, 2.5e11 to 4e12 FLOPs (16×), "
            "2 seeds, batch 8 × 64 tokens; the whole catalogue in about 7.6 hours on 2 quiet "
            "CPU cores, tuning included (a sample of the published sweep re-timed: "
            "leaderboard/README.md). docs/tiers.md has the design calculation."
        ),
        dataset="enwiki-sample",
        context=64,
        # v2's 32 windows a step left the optimum below the smallest width (16) up to
        # ~3e11 FLOPs and gave the ladders' larger rungs 33-200 steps, where the loss
        # varies by up to 0.3 nats between seeds. With 8, the width-32 rung at 2.5e11
        # trains 1,987 steps and is the optimum there (pilot in docs/tiers.md), so every
        # budget's ladder can bracket it; the price is ~1.6× the seconds per FLOP
        batch_size=8,
        budgets=(2.5e11, 6.3e11, 1.6e12, 4e12),
        widths=(16, 32, 48, 64, 80, 96, 128, 160, 192, 256),
        seeds=(0, 1),
        # centres the ladder on width 32 up to 1.6e12 and on 48 at 4e12, where the pilot
        # found the optimum of the default recipe
        tokens_per_param=80.0,
        # ladders follow their lowest loss to the grid's end (9 widths beyond either end
        # of any ladder reach it): at the re-tuned rate (×16) the LSTM's lowest loss sat
        # 2-3 rungs beyond its ladder at 3 of 4 budgets. A rung is one run per seed at
        # its budget, added only where the results call for it
        ladder_extension=9,
        eval_tokens=32_768,
        margin=1.5,
        # the embedded sample has 5.47 M training bytes; the width-16 rung at 1.6e12
        # trains on 5.3 epochs of it (far below its ladder's optimum). Repeating data up
        # to about 4 epochs is nearly as good as new data (Muennighoff et al. 2023);
        # docs/data.md has the table
        max_epochs=6.0,
        changes="v3 measures at 2.5e11 to 4e12 FLOPs with 8 windows a step and 2 seeds; v2 measured "
                "at 1e11 to 1.5e12 with 32 windows a step and 3 seeds, and its smallest budgets "
                "could not bracket the optimum (docs/tiers.md).",
    ),
    Tier(
        name="gpu",
        version=3,
        description=(
            "One GPU, 1e14 to 1e17 FLOPs, on the first 10 B bytes of FineWeb-Edu's sample-10BT "
            "(prepare it once: `cegbench data prepare fineweb-edu --tokens 10B`): every run "
            "sees its data at most once (the largest, 7.5 B tokens, 0.79 epochs). v2 trained "
            "on the embedded 5.5 MB sample, up to 1,369 epochs. docs/data.md has the table "
            "and how to reproduce the store."
        ),
        dataset="fineweb-edu:10B",
        context=256,
        batch_size=64,
        budgets=(1e14, 1e15, 1e16, 1e17),
        widths=(64, 96, 128, 192, 256, 384, 512, 768, 1024),
        seeds=(0, 1, 2),
        eval_tokens=262_144,
        margin=1.25,
        changes="v3 trains on FineWeb-Edu (the first 10 B bytes of sample-10BT), so that every run "
                "sees its data at most once; v2 trained on the embedded 5.5 MB sample, up to 1,369 "
                "epochs. Budgets, widths, seeds, context, batch and tuning are v2's.",
    ),
):
    TIERS.register(_tier.name, _tier, origin="cegbench.tiers")
TIERS.freeze()

# cpu v4, designed by the simulator calibrated on cpu v3's runs (docs/tiers.md). Not yet the
# registered "cpu" tier: v3 stays the published one until v4's sweep runs (the lead's call;
# register this in its place then). v3's data, context, batch, grid, tuning and margin; 3
# budgets 4× apart over v3's 16× span; 6 seeds at the smallest budget, whose runs are short,
# heavy-tailed and cheap (6 seeds there cost less than 3 at the largest), 3 elsewhere; the
# intervals from the tier-wide noise model.
CPU_V4 = dataclasses.replace(
    TIERS.get("cpu"),
    version=4,
    description=(
        "A laptop: the embedded English Wikipedia sample, 2.5e11, 1e12 and 4e12 FLOPs (16×), "
        "6 seeds at 2.5e11 and 3 above, batch 8 × 64 tokens, intervals from the tier-wide noise "
        "model. docs/tiers.md has the design by the calibrated simulator."
    ),
    budgets=(2.5e11, 1e12, 4e12),
    seeds=(0, 1, 2, 3, 4, 5),
    seeds_per_budget=(6, 3, 3),
    tier_noise=True,
    changes="v4 measures at 3 budgets 4× apart (2.5e11, 1e12, 4e12) with 6 seeds at the smallest and 3 "
            "above, and reads its intervals off one noise model fitted on all its runs (cell medians, "
            "heavy tails, asymmetric valleys); v3 measured at 4 budgets with 2 seeds and per-ladder "
            "residual pools.",
)
