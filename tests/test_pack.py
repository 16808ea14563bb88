"""Packed training (cegbench.train.pack): a pack is the same runs as its members trained alone.

Measured tolerance: over GPT variants (adamw and sgd, pre and post norm, learned,
sinusoidal and rotary positions, mha/gqa/mqa, fused and plain attention, tied and
untied), packed final losses differ from unpacked ones by at most 7e-8 relative
and every curve point by at most 5e-7 absolute (batched matmuls add in another
order); the tests allow 1e-5 relative.
"""

import dataclasses
import json

import pytest
import torch
from test_train import make_spec

from cegbench.innovations import Recipe
from cegbench.plan.specs import pack_groups, pack_key
from cegbench.train.pack import run_pack
from cegbench.train.trainer import CUDA_CHECK_EVERY, DeviceSettings, run

RTOL = 1e-5

GPT_VARIANTS = [
    Recipe(),
    Recipe(optimizer="sgd", schedule="inverse-sqrt"),
    Recipe(activation="swiglu", norm="rmsnorm", position="rotary", norm_placement="post",
           attention="gqa", qk_norm=True, tied_embeddings=False),
    Recipe(attention_kernel="plain", position="sinusoidal", attention="mqa", activation="relu"),
]


def members(recipe, **changes):
    """Three runs of one shape: two seeds and learning rates."""
    return [make_spec(recipe=recipe, width=16, budget=2e8, seed=0, **changes),
            make_spec(recipe=recipe, width=16, budget=2e8, seed=1, learning_rate=8e-3, **changes),
            make_spec(recipe=recipe, width=16, budget=2e8, seed=2, learning_rate=2e-3, **changes)]


def assert_same_runs(packed, alone, exact=False):
    for p, a in zip(packed, alone, strict=True):
        assert (p.run_id, p.spec, p.status, p.error) == (a.run_id, a.spec, a.status, a.error)
        assert (p.steps, p.tokens, p.n_params, p.flops_per_token) == (a.steps, a.tokens, a.n_params,
                                                                       a.flops_per_token)
        assert [c["step"] for c in p.curve] == [c["step"] for c in a.curve]
        if exact:
            assert p.curve == a.curve
        elif a.final_loss is not None:
            assert p.final_loss == pytest.approx(a.final_loss, rel=RTOL)
            for cp, ca in zip(p.curve, a.curve):
                assert cp["loss"] == pytest.approx(ca["loss"], rel=RTOL)


@pytest.mark.parametrize("recipe", GPT_VARIANTS, ids=lambda r: f"{r.activation}-{r.position}-{r.attention}")
def test_packed_gpt_runs_equal_unpacked(components, recipe):
    specs = members(recipe)
    packed = run_pack(specs, components)
    assert_same_runs(packed, [run(s, components) for s in specs])
    for result in packed:
        pack = json.loads(result.environment["pack"])
        assert pack["engine"] == "vmap" and pack["size"] == 3
        assert set(pack["packed_with"]) == {s.run_id for s in specs} - {result.run_id}
        assert 0 < result.train_time_s < result.wall_time_s


@pytest.mark.parametrize("recipe", [Recipe(family="lstm"), Recipe(mlp="moe")], ids=["lstm", "moe"])
def test_unpackable_families_fall_back_to_unpacked_runs(components, recipe):
    """LSTM (no vmap rule for aten::lstm) and MoE (data-dependent expert slices) train
    one by one: the very same numbers as unpacked, and the reason in the provenance."""
    specs = members(recipe)
    packed = run_pack(specs, components)
    assert_same_runs(packed, [run(s, components) for s in specs], exact=True)
    for result in packed:
        pack = json.loads(result.environment["pack"])
        assert pack["size"] == 1 and pack["packed_with"] == [] and "vmap cannot" in pack["fallback"]


def test_a_diverging_member_fails_alone(components):
    specs = members(Recipe())
    specs[1] = dataclasses.replace(specs[1], learning_rate=1e3, max_loss=6.0)
    packed = run_pack(specs, components)
    alone = [run(s, components) for s in specs]
    assert [r.status for r in packed] == ["ok", "failed", "ok"]
    assert packed[1].error.startswith("diverged: training loss")
    assert_same_runs(packed, alone)


def test_divergence_read_back_every_k_steps_gives_the_same_failure(components):
    """The GPU path's sync-free check (first bad step kept on the device, read back every
    k steps) reports the same step and loss as the per-step check."""
    specs = members(Recipe())
    specs[0] = dataclasses.replace(specs[0], learning_rate=1e3, max_loss=6.0)
    lazy = DeviceSettings("cpu", None, CUDA_CHECK_EVERY)
    packed = run_pack(specs, components, settings=lazy)
    alone = [run(s, components) for s in specs]
    assert packed[0].status == "failed" and packed[0].error == alone[0].error
    assert_same_runs(packed[1:], alone[1:])
    single = run(specs[0], components, settings=lazy)
    assert single.error == alone[0].error and single.curve == alone[0].curve


def components_with(kind, name, implementation):
    """The built-in components plus one more."""
    from cegbench import allocation, optim
    from cegbench.components import Components
    from cegbench.models import gpt, lstm
    from cegbench.models import layers as builtin

    components = Components()
    for plugin in (builtin, gpt, lstm, optim, allocation):
        for c in plugin.cegbench_register_components():
            components[c.kind].register(c.name, c.implementation, origin="test")
    components[kind].register(name, implementation, origin="test")
    return components


def test_a_component_that_cannot_be_vmapped_falls_back():
    """A third-party norm using dropout (random numbers in forward) cannot be vmapped."""

    class DropoutNorm(torch.nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(dim))

        def forward(self, x):
            return torch.nn.functional.dropout(x * self.weight, 0.1, self.training)

    components = components_with("norm", "dropout-norm", DropoutNorm)
    specs = members(Recipe(norm="dropout-norm"))
    packed = run_pack(specs, components)
    assert_same_runs(packed, [run(s, components) for s in specs], exact=True)
    assert all("fallback" in json.loads(r.environment["pack"]) for r in packed)


def test_bf16_autocast_trains_packed_and_alone_on_cpu(components):
    """The GPU path's precision (bf16 autocast over fp32 master weights), run on CPU."""
    bf16 = DeviceSettings("cpu", torch.bfloat16, 1)
    specs = members(Recipe())[:2]
    packed = run_pack(specs, components, settings=bf16)
    fp32 = [run(s, components) for s in specs]
    for p, f in zip(packed, fp32):
        assert p.status == "ok", p.error
        assert p.final_loss == pytest.approx(f.final_loss, rel=0.02)
    alone = run(specs[0], components, settings=bf16)
    assert alone.final_loss == pytest.approx(packed[0].final_loss, rel=0.01)


def test_pack_groups_by_shape_only():
    a = make_spec(seed=0)
    specs = [a, make_spec(seed=1), make_spec(seed=0, learning_rate=1e-3), make_spec(width=32),
             make_spec(seed=0, innovation="other", arm="modern"), make_spec(budget=8e8)]
    groups = pack_groups(specs)
    assert [len(g) for g in groups] == [4, 1, 1]
    assert groups[0] == [specs[0], specs[1], specs[2], specs[4]]
    assert [len(g) for g in pack_groups(specs, max_members=3)] == [3, 1, 1, 1]
    assert pack_key(a) == pack_key(make_spec(seed=5)) != pack_key(make_spec(context=32))
