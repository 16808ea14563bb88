import dataclasses

import pytest

from cegbench.allocation import isoflop_ladder
from cegbench.data import VOCAB_SIZE
from cegbench.optim import cosine, inverse_sqrt, linear
from cegbench.plan import RunSpec, plan_runs
from cegbench.tiers import TIERS


def test_every_tier_has_a_ladder_of_three_sizes_and_enough_seeds(components):
    for name in TIERS:
        tier = TIERS.get(name)
        assert len(tier.budgets) >= 3 and list(tier.budgets) == sorted(tier.budgets)
        assert all(w % 16 == 0 for w in tier.widths)
        if name != "smoke":
            assert len(tier.seeds) >= 3
        for family_name in ("gpt", "lstm"):
            family = components.get("family", family_name)
            for budget in tier.budgets:
                from cegbench.innovations import Recipe

                widths = isoflop_ladder(budget, tier, family, Recipe(family=family_name), VOCAB_SIZE,
                                        components)
                assert len(widths) >= 3 and widths == sorted(set(widths))


def test_plan_covers_arms_budgets_sizes_seeds(catalog):
    tier = TIERS.get("smoke")
    innovation = catalog.innovations.get("gelu-to-swiglu")
    specs = plan_runs([innovation], tier, catalog.components)
    assert len(specs) == 2 * len(tier.budgets) * tier.sizes_per_budget * len(tier.seeds)
    assert len({s.run_id for s in specs}) == len(specs)
    assert {s.arm for s in specs} == {"baseline", "modern"}
    assert all(s.declaration_hash == innovation.declaration_hash() for s in specs)
    assert [s.budget for s in specs] == sorted(s.budget for s in specs)  # small budgets first


def test_run_id_is_a_hash_of_the_whole_spec(catalog):
    spec = plan_runs([catalog.innovations.get("gelu-to-swiglu")], TIERS.get("smoke"),
                     catalog.components)[0]
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


def test_learning_rate_rule_scales_with_width():
    tier = TIERS.get("cpu")
    assert tier.learning_rate(1e-3, 64) == pytest.approx(1e-3)
    assert tier.learning_rate(1e-3, 256) == pytest.approx(1e-3 * 0.25 ** tier.lr_width_exponent)


def test_schedules():
    for schedule in (cosine, linear, inverse_sqrt):
        assert schedule(0.05) == pytest.approx(0.5)  # half-way through warm-up
        assert schedule(0.1) == pytest.approx(1.0)
    assert cosine(1.0) == pytest.approx(0.1) and linear(1.0) == pytest.approx(0.1)
    assert inverse_sqrt(0.4) == pytest.approx(0.5)
