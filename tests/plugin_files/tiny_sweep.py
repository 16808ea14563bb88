"""A test plugin: an innovation whose smoke sweep is 8 short runs, and an
activation that fails on demand, for the registry's crash, concurrency and
failure tests (load it with ``--plugins``).

``tiny-sweep`` trains only the smallest width at the two smallest budgets.
While the environment variable ``TINY_SWEEP_FAIL`` is set, its modern arm's
activation raises ``torch.OutOfMemoryError`` in measurement runs, as a run that runs
out of memory does (learning-rate tuning, on the tier's tuning seed, still succeeds).
"""

import os

import torch
from torch import nn

from cegbench import Innovation, Recipe, hookimpl
from cegbench.innovations import Component
from cegbench.tiers import TIERS

TUNING_SEED = TIERS.get("smoke").tuning_seed


def smallest_width_two_budgets(budget, tier, family, recipe, vocab_size, components):
    """The tier's smallest width, at its two smallest budgets only."""
    return [tier.widths[0]] if budget in sorted(tier.budgets)[:2] else []


class FailingGELU(nn.GELU):
    gated = False

    def forward(self, x):
        # the trainer seeds torch with the run's seed
        if os.environ.get("TINY_SWEEP_FAIL") and torch.initial_seed() != TUNING_SEED:
            raise torch.OutOfMemoryError("out of memory (simulated by TINY_SWEEP_FAIL)")
        return super().forward(x)


@hookimpl
def cegbench_register_components():
    return [
        Component("allocation", "smallest-width-two-budgets", smallest_width_two_budgets,
                  "test only: the smallest width at the two smallest budgets"),
        Component("activation", "failing-gelu", FailingGELU,
                  "test only: GeLU that fails while TINY_SWEEP_FAIL is set"),
    ]


@hookimpl
def cegbench_register_innovations():
    return [Innovation(
        name="tiny-sweep", title="Tiny sweep (test)", category="architecture", year=2016,
        paper="https://arxiv.org/abs/1606.08415", description="A test innovation: 8 short runs.",
        baseline=Recipe(activation="relu", allocation="smallest-width-two-budgets"),
        modern=Recipe(activation="failing-gelu", allocation="smallest-width-two-budgets"))]
