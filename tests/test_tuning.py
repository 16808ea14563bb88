"""The learning-rate tuning protocol: planning, choosing, and the driver's tuning phase."""

import dataclasses
import json
import math

import pytest

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.execute.local import LocalExecutor
from cegbench.plan.cells import widths_at
from cegbench.plan.specs import TunedRate
from cegbench.plan.tuning import TuningError, choose, plan_sweeps, recipe_key
from cegbench.registry.learning_rates import learning_rates, tuned_rates
from cegbench.registry.opening import open_registry
from cegbench.sweep.run import tune_learning_rates
from cegbench.tiers import TIERS

# the smoke tier with a cheaper smallest budget and two rates: the protocol is the same
TINY = dataclasses.replace(TIERS.get("smoke"), name="tiny", budgets=(1e8, 2e8, 4e8, 8e8),
                           lr_multipliers=(0.5, 2.0), eval_points=1, eval_tokens=512)

NEW_OPTIMIZER_PLUGIN = '''
import torch
from cegbench import Component, Innovation, Recipe, hookimpl

class Nesterov:
    base_lr = 0.05
    def build(self, model, lr):
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)

@hookimpl
def cegbench_register_components():
    return [Component("optimizer", "nesterov", Nesterov())]

@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="sgd-to-nesterov", title="SGD → Nesterov", category="optimizer",
        year=1983, paper="https://example.org/nesterov", description="d",
        baseline=Recipe(optimizer="sgd"), modern=Recipe(optimizer="nesterov"))]
'''


def test_one_sweep_per_distinct_recipe_at_the_smallest_budget(catalog):
    tier = TIERS.get("cpu")
    innovations = [catalog.innovations.get(n) for n in ("gelu-to-swiglu", "layernorm-to-rmsnorm",
                                                        "kaplan-to-chinchilla-allocation")]
    sweeps = plan_sweeps([i.recipe(arm) for i in innovations for arm in ("baseline", "modern")],
                         tier, catalog.components)
    # the default Transformer is the baseline of both the first two: tuned once
    assert len(sweeps) == 5 and len({recipe_key(s.recipe) for s in sweeps}) == 5
    for sweep in sweeps:
        widths = widths_at(tier.budgets[0], tier, sweep.recipe, catalog.components)
        base_lr = catalog.components.get("optimizer", sweep.recipe.optimizer).base_lr
        assert [s.learning_rate for s in sweep.specs] == [base_lr * m for m in tier.lr_multipliers]
        for spec in sweep.specs:
            assert spec.budget == tier.budgets[0] and spec.width == widths[len(widths) // 2]
            assert spec.seed == tier.tuning_seed and spec.seed not in tier.seeds
            assert (spec.tier, spec.tier_version, spec.dataset) == (tier.name, tier.version,
                                                                      tier.dataset)
        assert sweep.protocol["multipliers"] == list(tier.lr_multipliers)


def planted(sweep, losses):
    return {spec.run_id: loss for spec, loss in zip(sweep.specs, losses)}


def test_choose_picks_the_lowest_held_out_loss_and_flags_the_grid_edge(catalog):
    [sweep] = plan_sweeps([catalog.innovations.get("gelu-to-swiglu").baseline], TIERS.get("cpu"),
                          catalog.components)  # multipliers 1/4, 1/2, 1, 2, 4
    choice = choose(sweep, planted(sweep, [3.0, 2.5, 2.4, 2.45, None]))
    assert choice.multiplier == 1.0 and choice.final_loss == 2.4 and not choice.at_edge
    assert choice.rate == TunedRate(sweep.specs[2].learning_rate, sweep.specs[2].width)
    assert choice.run_ids == tuple(s.run_id for s in sweep.specs)
    choice = choose(sweep, planted(sweep, [2.0, 2.5, 2.4, 2.45, 2.6]))
    assert choice.multiplier == 0.25 and choice.at_edge
    choice = choose(sweep, planted(sweep, [None, None, None, 2.9, 2.1]))  # failed runs are out
    assert choice.multiplier == 4.0 and choice.at_edge
    choice = choose(sweep, planted(sweep, [2.2, 2.1, 2.1, 2.1, math.nan]))  # a tie: nearest 1
    assert choice.multiplier == 1.0
    with pytest.raises(TuningError, match="every learning rate of the sweep failed"):
        choose(sweep, planted(sweep, [None] * 5))
    with pytest.raises(KeyError):
        choose(sweep, planted(sweep, [2.0] * 4))


class CountingExecutor(LocalExecutor):
    submitted = 0

    def submit(self, spec):
        CountingExecutor.submitted += 1
        return super().submit(spec)


def tune(db, catalog, names):
    CountingExecutor.submitted = 0
    innovations = [catalog.innovations.get(name) for name in names]
    return tune_learning_rates(db, innovations, TINY, catalog.components,
                               lambda: CountingExecutor(catalog.components), "test")


def test_tuning_phase_shares_recipes_stores_choices_and_resumes(tmp_path, catalog, one_thread):
    db = open_registry(tmp_path / "r.db")
    rates = tune(db, catalog, ["gelu-to-swiglu", "layernorm-to-rmsnorm"])
    assert CountingExecutor.submitted == 3 * 2  # 3 distinct recipes × 2 rates
    assert db["tuning_runs"].count == 6 and db["runs"].count == 0
    rows = learning_rates(db, "tiny")
    assert len(rows) == 3 and tuned_rates(db, TINY) == rates
    for row in rows:
        runs = [db["tuning_runs"].get(run_id) for run_id in json.loads(row["run_ids"])]
        best = min((r for r in runs if r["status"] == "ok"), key=lambda r: r["final_loss"])
        assert (row["learning_rate"], row["final_loss"]) == (best["learning_rate"], best["final_loss"])
        assert row["width"] == best["width"] and json.loads(row["protocol"])["seed"] == TINY.tuning_seed
        assert best["train_time_s"] > 0 and best["torch_version"] and best["command"] == "test"
    # resumed: nothing is trained again, and the same rates come out
    assert tune(db, catalog, ["gelu-to-swiglu", "layernorm-to-rmsnorm"]) == rates
    assert CountingExecutor.submitted == 0


def test_a_new_plugin_is_tuned_automatically_with_the_same_protocol(tmp_path, one_thread):
    plugin = tmp_path / "nesterov.py"
    plugin.write_text(NEW_OPTIMIZER_PLUGIN)
    catalog = load_catalog([str(plugin)])
    db = open_registry(tmp_path / "r.db")
    rates = tune(db, catalog, ["sgd-to-nesterov"])
    assert CountingExecutor.submitted == 2 * len(TINY.lr_multipliers)
    nesterov = catalog.innovations.get("sgd-to-nesterov").modern
    [row] = [r for r in learning_rates(db) if r["recipe_key"] == recipe_key(nesterov)]
    assert row["learning_rate"] in [0.05 * m for m in TINY.lr_multipliers]
    assert rates[nesterov].learning_rate == row["learning_rate"]


def test_a_choice_at_an_edge_extends_the_grid_one_step_at_a_time(catalog):
    from cegbench.plan.tuning import extended

    tier = TIERS.get("cpu")  # multipliers 1/4 … 4, at most 3 added
    [sweep] = plan_sweeps([catalog.innovations.get("gelu-to-swiglu").baseline], tier, catalog.components)
    base_lr = sweep.protocol["base_lr"]
    assert extended(sweep, choose(sweep, planted(sweep, [3.0, 2.5, 2.4, 2.45, 2.6])), tier) is None
    for _ in range(3):  # the loss still falls at the largest rate: 8×, 16×, 32×
        sweep = extended(sweep, choose(sweep, planted(sweep, [3.0 - 0.1 * i for i in range(len(sweep.specs))])), tier)
    assert sweep.multipliers == (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    assert sweep.protocol["multipliers"] == list(sweep.multipliers)
    new = sweep.specs[-1]
    assert new.learning_rate == pytest.approx(base_lr * 32) and new.width == sweep.specs[0].width
    assert (new.budget, new.seed) == (sweep.specs[0].budget, sweep.specs[0].seed)
    still = choose(sweep, planted(sweep, [3.0 - 0.1 * i for i in range(8)]))
    assert still.at_edge and extended(sweep, still, tier) is None  # the extension is spent
    # at the small end: 1/8
    [sweep] = plan_sweeps([catalog.innovations.get("gelu-to-swiglu").baseline], tier, catalog.components)
    smaller = extended(sweep, choose(sweep, planted(sweep, [2.0, 2.5, 2.6, 2.7, 2.8])), tier)
    assert smaller.multipliers[-1] == 0.125
    # a rate beyond the edge that fails bounds the grid: the edge's rate is inside it now
    bounded = choose(smaller, planted(smaller, [2.0, 2.5, 2.6, 2.7, 2.8, None]))
    assert bounded.multiplier == 0.25 and not bounded.at_edge


def test_the_tuning_phase_tries_rates_beyond_an_edge_and_resumes(tmp_path, catalog, one_thread):
    db = open_registry(tmp_path / "r.db")
    tier = dataclasses.replace(TINY, lr_extension=1)  # two rates: the best is always at an edge
    innovation = catalog.innovations.get("gelu-to-swiglu")
    CountingExecutor.submitted = 0
    rates = tune_learning_rates(db, [innovation], tier, catalog.components,
                                lambda: CountingExecutor(catalog.components), "test")
    assert CountingExecutor.submitted == 2 * 3  # 2 recipes × (2 rates + 1 beyond the edge)
    for row in learning_rates(db, "tiny"):
        protocol = json.loads(row["protocol"])
        assert len(protocol["multipliers"]) == 3 and protocol["extension"] == 1
        assert protocol["multipliers"][-1] in (0.125, 8.0) and len(json.loads(row["run_ids"])) == 3
        assert bool(row["at_edge"]) == (row["multiplier"] == protocol["multipliers"][-1])
    CountingExecutor.submitted = 0
    assert tune_learning_rates(db, [innovation], tier, catalog.components,
                               lambda: CountingExecutor(catalog.components), "test") == rates
    assert CountingExecutor.submitted == 0
