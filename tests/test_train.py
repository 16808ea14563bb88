import dataclasses
import math

import pytest

from cegbench.data.datasets import load_dataset
from cegbench.innovations import Recipe
from cegbench.plan.specs import RunSpec
from cegbench.train.trainer import run


def make_spec(**changes) -> RunSpec:
    spec = RunSpec(
        innovation="test", arm="baseline", recipe=Recipe(), declaration_hash="x",
        tier="test", tier_version=1, dataset="synthetic", budget=4e8, width=16, seed=0,
        context=16, batch_size=8, learning_rate=4e-3, eval_points=3, eval_tokens=512,
        max_loss=8.0,
    )
    return dataclasses.replace(spec, **changes)


def test_run_trains_to_its_budget_and_records_everything(components):
    result = run(make_spec(), components)
    assert result.status == "ok", result.error
    tokens_per_step = 8 * 16
    assert result.steps == round(4e8 / (result.flops_per_token * tokens_per_step))
    assert result.tokens == result.steps * tokens_per_step
    assert result.epochs == result.tokens / len(load_dataset("synthetic").train)
    assert abs(result.flops_per_token * result.tokens - 4e8) / 4e8 < 0.02
    assert result.flops_per_token == pytest.approx(result.flops_per_token_analytic, rel=0.1)
    assert [p["step"] for p in result.curve][-1] == result.steps and len(result.curve) == 3
    assert result.final_loss == result.curve[-1]["loss"] < math.log(256)
    assert result.n_params > 0 and result.dataset_hash
    assert 0 < result.train_time_s < result.wall_time_s  # training steps alone, then the whole run
    assert result.environment["torch_version"] and result.environment["hardware"]


def test_same_seed_same_result_other_seed_differs(components):
    a, b = run(make_spec(), components), run(make_spec(), components)
    assert a.curve == b.curve
    assert run(make_spec(seed=1), components).final_loss != a.final_loss


def test_lstm_and_optimizer_variants_train(components):
    for recipe in (Recipe(family="lstm"), Recipe(optimizer="sgd", schedule="inverse-sqrt"),
                   Recipe(activation="swiglu", norm="rmsnorm", position="rotary",
                          norm_placement="post")):
        result = run(make_spec(recipe=recipe), components)
        assert result.status == "ok", (recipe, result.error)


def test_divergence_is_a_failed_run_with_its_reason(components):
    result = run(make_spec(max_loss=1.0), components)
    assert result.status == "failed"
    assert result.error.startswith("diverged: training loss exploded")
    result = run(make_spec(recipe=Recipe(optimizer="sgd"), learning_rate=1e6), components)
    assert result.status == "failed" and result.error.startswith("diverged: "), result.error


def test_any_exception_is_a_failed_run_naming_the_cause(components):
    result = run(make_spec(width=24), components)  # not a multiple of the head dimension
    assert result.status == "failed"
    assert "24" in result.error and "ValueError" in result.error
    result = run(make_spec(dataset="nonsense"), components)
    assert result.status == "failed" and "Unknown dataset 'nonsense'" in result.error


def test_flops_are_measured_once_per_recipe_shape_and_catalog(components, monkeypatch):
    import cegbench.train.trainer
    from cegbench.catalog.plugin_manager import load_catalog

    measured = []
    check_flops = cegbench.train.trainer.check_flops
    monkeypatch.setattr(cegbench.train.trainer, "check_flops",
                        lambda *args: measured.append(args[1:3]) or check_flops(*args))
    recipe = Recipe(activation="relu")  # not measured by the tests above
    first = run(make_spec(recipe=recipe), components)
    second = run(make_spec(recipe=recipe, seed=1), components)
    assert len(measured) == 1 and first.flops_per_token == second.flops_per_token
    run(make_spec(recipe=recipe, width=32), components)
    assert len(measured) == 2
    # another catalog may register other code under the same names: measured again
    run(make_spec(recipe=recipe), load_catalog().components)
    assert len(measured) == 3
