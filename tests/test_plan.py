import dataclasses

import pytest

from cegbench.allocation import isoflop_ladder
from cegbench.data.names import VOCAB_SIZE
from cegbench.innovations import Recipe
from cegbench.optim import cosine, inverse_sqrt, linear
from cegbench.plan.cells import plan_runs, widths_at
from cegbench.plan.specs import RunSpec, TunedRate
from cegbench.plugins.warmup import cosine_no_warmup
from cegbench.tiers import TIERS
from plan_fixtures import fixed_rates


def test_every_tier_has_a_ladder_of_three_sizes_and_enough_seeds(components):
    for name in TIERS:
        tier = TIERS.get(name)
        assert len(tier.budgets) >= 3 and list(tier.budgets) == sorted(tier.budgets)
        assert all(w % 16 == 0 for w in tier.widths)
        if name != "smoke":  # the bootstrap pools each budget's residuals: 2 seeds × 3 rungs
            assert len(tier.seeds) >= 2
        for family_name in ("gpt", "lstm"):
            family = components.get("family", family_name)
            for budget in tier.budgets:
                widths = isoflop_ladder(budget, tier, family, Recipe(family=family_name), VOCAB_SIZE,
                                        components)
                assert len(widths) >= 3 and widths == sorted(set(widths))


def test_plan_covers_arms_budgets_sizes_seeds(catalog):
    tier = TIERS.get("smoke")
    innovation = catalog.innovations.get("gelu-to-swiglu")
    specs = plan_runs([innovation], tier, catalog.components, fixed_rates(innovation))
    assert len(specs) == 2 * len(tier.budgets) * tier.sizes_per_budget * len(tier.seeds)
    assert len({s.run_id for s in specs}) == len(specs)
    assert {s.arm for s in specs} == {"baseline", "modern"}
    assert all(s.declaration_hash == innovation.declaration_hash() for s in specs)
    assert [s.budget for s in specs] == sorted(s.budget for s in specs)  # small budgets first


def test_run_id_is_a_hash_of_the_whole_spec(catalog):
    innovation = catalog.innovations.get("gelu-to-swiglu")
    spec = plan_runs([innovation], TIERS.get("smoke"), catalog.components, fixed_rates(innovation))[0]
    assert spec.run_id == RunSpec.from_dict(spec.to_dict()).run_id
    for field in dataclasses.fields(spec):
        value = getattr(spec, field.name)
        if isinstance(value, str):
            changed = value + "x"
        elif isinstance(value, (int, float)):
            changed = value + 1
        else:
            changed = dataclasses.replace(value, activation="relu")
        assert dataclasses.replace(spec, **{field.name: changed}).run_id != spec.run_id, field.name


def test_learning_rate_rule_scales_the_tuned_rate_with_width():
    tier = TIERS.get("cpu")
    assert tier.learning_rate(1e-3, 64, 64) == pytest.approx(1e-3)
    assert tier.learning_rate(1e-3, 64, 256) == pytest.approx(1e-3 * 0.25 ** tier.lr_width_exponent)


def test_plan_uses_each_recipes_tuned_rate(catalog):
    tier = TIERS.get("smoke")
    innovation = catalog.innovations.get("adam-to-adamw")
    rates = {innovation.baseline: TunedRate(1e-3, 32), innovation.modern: TunedRate(8e-3, 48)}
    for spec in plan_runs([innovation], tier, catalog.components, rates):
        rate = rates[spec.recipe]
        assert spec.learning_rate == tier.learning_rate(rate.learning_rate, rate.width, spec.width)
    with pytest.raises(KeyError, match="'adam-to-adamw', arm 'modern'.*no tuned learning rate"):
        plan_runs([innovation], tier, catalog.components, {innovation.baseline: rates[innovation.baseline]})


def test_kaplan_and_chinchilla_prescribe_one_width_that_parts_with_budget(components):
    for name in TIERS:
        tier = TIERS.get(name)
        kaplan = [widths_at(c, tier, Recipe(allocation="kaplan"), components) for c in tier.budgets]
        chinchilla = [widths_at(c, tier, Recipe(allocation="chinchilla"), components)
                      for c in tier.budgets]
        assert all(len(w) == 1 for w in kaplan + chinchilla)
        assert kaplan[0] == chinchilla[0]  # anchored together at the smallest budget
        assert kaplan == sorted(kaplan) and chinchilla == sorted(chinchilla)
        # the smoke grid must be wide enough for the rules to part at the top budgets
        assert kaplan[-1][0] > chinchilla[-1][0], (name, kaplan, chinchilla)


def test_schedules():
    for schedule in (cosine, linear, inverse_sqrt):
        assert schedule(0.05) == pytest.approx(0.5)  # half-way through warm-up
        assert schedule(0.1) == pytest.approx(1.0)
    assert cosine(1.0) == pytest.approx(0.1) and linear(1.0) == pytest.approx(0.1)
    assert inverse_sqrt(0.4) == pytest.approx(0.5)
    assert cosine_no_warmup(0.0) == pytest.approx(1.0) and cosine_no_warmup(1.0) == pytest.approx(0.1)
    assert cosine_no_warmup(0.5) == pytest.approx(0.55)  # half-way down from 1 to 0.1, from step 1


@pytest.mark.parametrize("name, field", [
    ("sgd-to-adam", "optimizer"), ("adam-to-adamw", "optimizer"),
    ("inverse-sqrt-to-cosine", "schedule"), ("linear-to-cosine", "schedule"),
    ("no-warmup-to-warmup", "schedule"), ("kaplan-to-chinchilla-allocation", "allocation"),
])
def test_optimisation_pairs_change_training_not_the_model(catalog, name, field):
    """The arms differ in the declared field alone, and build the same model at a width:
    same modules, same parameter count, same measured FLOPs per token."""
    from cegbench.train.trainer import measured_flops

    innovation = catalog.innovations.get(name)
    assert list(innovation.baseline.differences(innovation.modern)) == [field]
    tier = TIERS.get("smoke")
    for width in (16, 32):
        models, flops = [], []
        for recipe in (innovation.baseline, innovation.modern):
            family = catalog.components.get("family", recipe.family)
            models.append(family.build(recipe, width, VOCAB_SIZE, tier.context, catalog.components))
            flops.append(measured_flops(family, recipe, width, VOCAB_SIZE, tier.context,
                                        catalog.components).measured)
        baseline, modern = models
        assert str(baseline) == str(modern)
        assert [p.shape for p in baseline.parameters()] == [p.shape for p in modern.parameters()]
        assert flops[0] == flops[1]


def _ladder(tier, widths, seeds=(0, 1)):
    from cegbench.plan.cells import Cell

    tier = dataclasses.replace(tier, seeds=seeds)
    return tier, [Cell("x", "baseline", Recipe(), "h", tier.name, tier.version, 1e9, w, s)
                  for w in widths for s in seeds]


def _losses(by_width):
    return {("x", "baseline", 1e9, w): loss for w, loss in by_width.items()}


def test_a_ladder_with_its_lowest_loss_at_an_edge_gains_the_next_grid_width():
    from cegbench.plan.cells import extend_ladders

    tier, cells = _ladder(dataclasses.replace(TIERS.get("cpu"), ladder_extension=2), (32, 48, 64))
    added = lambda losses: sorted({(c.width, c.seed) for c in extend_ladders(cells, tier, _losses(losses))}
                                  - {(c.width, c.seed) for c in cells})
    assert added({32: 3.0, 48: 2.9, 64: 3.1}) == []  # bracketed
    assert added({32: 3.0, 48: 2.9, 64: 2.8}) == [(80, 0), (80, 1)]  # lowest at the top
    assert added({32: 2.7, 48: 2.9, 64: 3.1}) == [(16, 0), (16, 1)]  # lowest at the bottom
    assert added({32: 3.0, 48: 2.9}) == []  # a width without results yet: wait for it
    # the new rung is lowest again: one more, then the tier's limit of 2 per side
    assert added({32: 3.0, 48: 2.9, 64: 2.8, 80: 2.7}) == [(80, 0), (80, 1), (96, 0), (96, 1)]
    assert added({32: 3.0, 48: 2.9, 64: 2.8, 80: 2.7, 96: 2.6}) == [(80, 0), (80, 1), (96, 0), (96, 1)]
    # the new rung brackets it: nothing more
    assert added({32: 3.0, 48: 2.9, 64: 2.8, 80: 2.85}) == [(80, 0), (80, 1)]


def test_the_cpu_tier_follows_an_optimum_to_the_end_of_its_grid():
    """cpu v3's re-tuned LSTM: the loss still falling at the first added rung."""
    from cegbench.plan.cells import extend_ladders

    tier, cells = _ladder(TIERS.get("cpu"), (80, 96, 128))
    falling = {80: 1.96, 96: 1.91, 128: 1.87, 160: 1.84, 192: 1.83, 256: 1.82}

    def rungs(known):
        return sorted({c.width for c in extend_ladders(cells, tier, _losses(known))} - {c.width for c in cells})

    assert rungs({w: falling[w] for w in (80, 96, 128, 160)}) == [160, 192]
    assert rungs({w: falling[w] for w in (80, 96, 128, 160, 192)}) == [160, 192, 256]
    assert rungs(falling) == [160, 192, 256]  # the grid's end
    tier, cells = _ladder(TIERS.get("cpu"), (32, 48, 64))
    assert rungs(dict(zip(tier.widths, (3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 2.4, 2.3, 2.2, 2.1)))) == [
        80, 96, 128, 160, 192, 256]  # six rungs, not capped before the grid ends


def test_ladders_do_not_extend_past_the_grid_or_the_tiers_limit_or_below_three_widths():
    from cegbench.plan.cells import extend_ladders

    cpu = TIERS.get("cpu")
    tier, cells = _ladder(dataclasses.replace(cpu, ladder_extension=2), cpu.widths[-3:])
    assert extend_ladders(cells, tier, _losses(dict(zip(cpu.widths[-3:], (3.0, 2.9, 2.8))))) == cells
    tier, cells = _ladder(dataclasses.replace(cpu, ladder_extension=0), (32, 48, 64))
    assert extend_ladders(cells, tier, _losses({32: 3.0, 48: 2.9, 64: 2.8})) == cells
    tier, cells = _ladder(dataclasses.replace(cpu, ladder_extension=2), (32,))
    assert extend_ladders(cells, tier, _losses({32: 3.0})) == cells


def test_a_ladder_stops_before_a_rung_that_would_repeat_the_data_too_often(catalog):
    """Width 16 at 4e12 FLOPs would train 13 epochs of the cpu sample (allowed: 6): the
    ladder stays at its edge, unbracketed, instead of the whole plan failing."""
    from cegbench.plan.cells import extend_ladders, plan_runs, within_epochs
    from cegbench.plan.specs import TunedRate

    cpu = TIERS.get("cpu")
    innovation = catalog.innovations.get("gelu-to-swiglu")
    rates = {innovation.recipe(arm): TunedRate(1e-3, 32) for arm in ("baseline", "modern")}
    specs = plan_runs([innovation], cpu, catalog.components, rates)
    ladder = sorted({s.width for s in specs if s.budget == 4e12 and s.arm == "baseline"})
    assert ladder[0] == 32
    lowest_at_bottom = {(innovation.name, "baseline", 4e12, w): 2.0 + w / 1000 for w in ladder}
    extended = plan_runs([innovation], cpu, catalog.components, rates, lowest_at_bottom)
    assert {s.width for s in extended if s.budget == 4e12 and s.arm == "baseline"} == set(ladder)
    # what it refused: the rung's run needs more than max_epochs of the data
    tier, cells = _ladder(cpu, (32, 48, 64))
    one_more = extend_ladders(cells, tier, _losses({32: 2.0, 48: 2.1, 64: 2.2}))
    assert {c.width for c in one_more} - {32, 48, 64} == {16}
    assert extend_ladders(cells, tier, _losses({32: 2.0, 48: 2.1, 64: 2.2}),
                          allowed=lambda cell: cell.width != 16) == cells
    # the check plan_runs and `cegbench status` both use
    at_4e12 = next(c for c in extended if c.budget == 4e12)
    allowed = within_epochs(cpu, catalog.components)
    assert not allowed(dataclasses.replace(at_4e12, width=16)) and allowed(at_4e12)


def test_a_sweep_adds_the_rungs_its_results_call_for(tmp_path, catalog, one_thread):
    from cegbench.execute.local import LocalExecutor
    from cegbench.registry.db import mean_losses, recorded_run_ids
    from cegbench.registry.learning_rates import tuned_rates
    from cegbench.registry.opening import open_registry
    from cegbench.sweep.run import run_sweep

    tier = dataclasses.replace(TIERS.get("smoke"), ladder_extension=1, budgets=(5e8, 1e9))
    innovation = catalog.innovations.get("gelu-to-swiglu")
    db = open_registry(tmp_path / "r.db")
    run_sweep(db, catalog, [innovation], tier, command="test", analyze=False,
              executor=lambda: LocalExecutor(catalog.components))
    losses = mean_losses(db, tier, {innovation.name: innovation.declaration_hash()})
    rates = tuned_rates(db, tier)
    planned = plan_runs([innovation], tier, catalog.components, rates)
    final = plan_runs([innovation], tier, catalog.components, rates, losses)
    # every rung the final results call for was run (a sweep leaves none for later) ...
    assert recorded_run_ids(db, [s.run_id for s in final]) == {s.run_id for s in final}
    # ... and a ladder grew exactly where its planned widths had the lowest loss at the top
    for arm in ("baseline", "modern"):
        for budget in tier.budgets:
            widths = sorted({s.width for s in planned if (s.arm, s.budget) == (arm, budget)})
            run = sorted({s.width for s in final if (s.arm, s.budget) == (arm, budget)})
            lowest = min(widths, key=lambda w: losses[(innovation.name, arm, budget, w)])
            grows = lowest == widths[-1] and widths[-1] < max(tier.widths)
            assert run == (widths + [tier.widths[tier.widths.index(widths[-1]) + 1]] if grows else widths)


def test_runs_that_build_the_same_model_share_a_training(catalog):
    """GQA with one key/value head is MQA, and the allocation only picks widths: runs of
    such arms train once (``training_id``); a change that alters the model does not."""
    from cegbench.plan.specs import training_id

    tier = TIERS.get("smoke")
    gqa, mqa = Recipe(attention="gqa"), Recipe(attention="mqa")

    def key(recipe, width, **fields):
        spec = RunSpec.for_tier(tier, recipe=recipe, budget=1e11, width=width, seed=0,
                                learning_rate=0.008, innovation="x", arm="modern", declaration_hash="h")
        return training_id(dataclasses.replace(spec, **fields).to_dict(), catalog.components)

    assert key(gqa, 32) == key(mqa, 32) == key(Recipe(attention="gqa", allocation="chinchilla"), 32)
    assert key(gqa, 16) == key(Recipe(), 16)  # one head: every attention kind is MHA
    assert key(gqa, 64) != key(mqa, 64)  # two key/value heads against one
    assert key(gqa, 32) != key(Recipe(), 32)
    assert key(gqa, 32) != key(gqa, 32, learning_rate=0.004)
    assert key(gqa, 32) == key(gqa, 32, innovation="y", arm="baseline", declaration_hash="g")


def test_a_tier_may_place_more_seeds_where_runs_are_cheapest(catalog):
    from cegbench.plan.cells import extend_ladders, plan_cells
    from cegbench.tiers import CPU_V4

    innovation = catalog.innovations.get("gelu-to-swiglu")
    cells = plan_cells([innovation], CPU_V4, catalog.components)
    seeds = {budget: {c.seed for c in cells if c.budget == budget} for budget in CPU_V4.budgets}
    assert seeds == {2.5e11: set(range(6)), 1e12: {0, 1, 2}, 4e12: {0, 1, 2}}
    # a rung added at a budget trains that budget's seeds
    ladder = [c for c in cells if c.arm == "baseline" and c.budget == 2.5e11]
    widths = sorted({c.width for c in ladder})
    losses = {("gelu-to-swiglu", "baseline", 2.5e11, w): loss for w, loss in zip(widths, (3.0, 2.9, 2.8))}
    added = [c for c in extend_ladders(ladder, CPU_V4, losses) if c not in ladder]
    assert {c.seed for c in added} == set(range(6)) and {c.width for c in added} == {64}


def test_seeds_per_budget_must_give_each_budget_some_of_the_tiers_seeds():
    with pytest.raises(ValueError, match="seeds_per_budget"):
        dataclasses.replace(TIERS.get("cpu"), seeds_per_budget=(2, 2))  # 4 budgets
    with pytest.raises(ValueError, match="from 1 to 2"):
        dataclasses.replace(TIERS.get("cpu"), seeds_per_budget=(3, 2, 2, 2))
