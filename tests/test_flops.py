"""FLOP accounting: the measured count matches the formulas, and nothing is counted as 0 silently."""

import itertools

import pytest
import torch
import torch.nn as nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from cegbench import Recipe
from cegbench.flops import (
    FlopMismatchError,
    FlopReport,
    MeasuredFlops,
    UnsupportedOpError,
    check_flops,
    is_heavy,
    measure_flops_per_token,
)
from cegbench.models import gpt

VOCAB, CONTEXT = 97, 32
SWITCHES = list(itertools.product(("relu", "gelu", "swiglu"), ("layernorm", "rmsnorm"), ("pre", "post"),
                                  ("learned", "sinusoidal", "rotary"), (True, False)))
needs_onednn_lstm = pytest.mark.skipif(not torch.backends.mkldnn.is_available(),
                                       reason="nn.LSTM runs as aten.mkldnn_rnn_layer only with oneDNN")


pytestmark = pytest.mark.usefixtures("one_thread")


def build(components, recipe, width):
    return components.get("family", recipe.family).build(recipe, width, VOCAB, CONTEXT, components)

# -----------------------------------------------------------------------------
# measured == analytic


@pytest.mark.parametrize("activation,norm,placement,position,tied", SWITCHES)
def test_gpt_measured_matches_analytic(components, activation, norm, placement, position, tied):
    recipe = Recipe(activation=activation, norm=norm, norm_placement=placement, position=position,
                    tied_embeddings=tied)
    report = check_flops(components.get("family", "gpt"), recipe, 32, VOCAB, CONTEXT, components,
                         tolerance=0.01)
    assert isinstance(report, FlopReport)
    assert report.relative_difference < 0.01


@pytest.mark.parametrize("attention,mlp,qk_norm,kernel", list(itertools.product(
    ("mha", "gqa", "mqa"), ("dense", "moe"), (False, True), ("fused", "plain"))))
def test_attention_and_mlp_switches_measure_as_analytic(components, attention, mlp, qk_norm, kernel):
    recipe = Recipe(attention=attention, mlp=mlp, qk_norm=qk_norm, attention_kernel=kernel,
                    activation="swiglu", position="rotary")
    report = check_flops(components.get("family", "gpt"), recipe, 64, VOCAB, CONTEXT, components,
                         tolerance=0.01)
    assert report.relative_difference < 0.01


def test_plain_and_fused_attention_count_the_same(components):
    counts = {kernel: measure_flops_per_token(build(components, Recipe(attention_kernel=kernel), 32),
                                              VOCAB, CONTEXT) for kernel in ("plain", "fused")}
    assert counts["plain"].per_token == counts["fused"].per_token
    assert "aten.bmm" in counts["plain"].by_op  # the scores as batched matmuls ...
    assert not any("attention" in op for op in counts["plain"].by_op)
    assert "aten.bmm" not in counts["fused"].by_op  # ... or inside the fused kernel


def test_moe_counts_active_flops_only(components):
    """Only the routed tokens' expert matmuls count: top-2 of 4 half-size experts cost what
    the dense MLP costs, plus the router."""
    dense = measure_flops_per_token(build(components, Recipe(), 64), VOCAB, CONTEXT).per_token
    moe = measure_flops_per_token(build(components, Recipe(mlp="moe"), 64), VOCAB, CONTEXT).per_token
    layers, router = 4, 6 * 64 * 4  # forward + backward of a (64 → 4) matmul, per token
    assert moe == pytest.approx(dense + layers * router, rel=1e-12)


def test_gqa_and_mqa_save_key_value_projection_flops(components):
    counted = {kind: measure_flops_per_token(build(components, Recipe(attention=kind), 64),
                                             VOCAB, CONTEXT).per_token for kind in ("mha", "gqa", "mqa")}
    layers, per_head = 4, 6 * 2 * 64 * 16  # training FLOPs of one head's key and value projections
    assert counted["mha"] - counted["gqa"] == pytest.approx(layers * 2 * per_head, rel=1e-12)
    assert counted["mha"] - counted["mqa"] == pytest.approx(layers * 3 * per_head, rel=1e-12)


@pytest.mark.parametrize("width", [16, 48, 64, 128])
def test_gpt_measured_matches_analytic_across_widths(components, width):
    family = components.get("family", "gpt")
    for recipe in (Recipe(), Recipe(activation="swiglu", norm="rmsnorm", position="rotary")):
        report = check_flops(family, recipe, width, VOCAB, CONTEXT, components, tolerance=0.01)
        assert report.relative_difference < 0.01


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("width", [16, 24, 64])
def test_lstm_measured_matches_analytic(components, width, tied):
    family = components.get("family", "lstm")
    report = check_flops(family, Recipe(family="lstm", tied_embeddings=tied), width, VOCAB, CONTEXT,
                         components, tolerance=0.01)
    assert report.relative_difference < 0.01


@pytest.mark.parametrize("width", [16, 64])
def test_lstm_count_includes_the_recurrent_matmuls(components, width):
    measured = measure_flops_per_token(build(components, Recipe(family="lstm"), width), VOCAB, CONTEXT)
    head = 6 * width * VOCAB  # forward + backward of the (tied) head
    gates = 3 * 2 * 4 * width * width  # forward + backward of the input-to-gates matmul
    recurrent = 3 * 2 * 4 * width * width  # ... and of the hidden-to-gates matmul, every step
    assert measured.per_token > 0
    assert measured.per_token == pytest.approx(head + gates + recurrent, rel=1e-9)


@needs_onednn_lstm
def test_plain_counter_misses_the_lstm(components):
    """The pitfall this module exists for: FlopCounterMode alone sees only the head."""
    model = build(components, Recipe(family="lstm"), 32)
    idx = torch.randint(VOCAB, (2, CONTEXT))
    with FlopCounterMode(display=False) as counter:
        model(idx, idx)[1].backward()
    assert counter.get_total_flops() == 6 * 32 * VOCAB * 2 * CONTEXT


def test_by_op_adds_up(components):
    measured = measure_flops_per_token(build(components, Recipe(position="rotary"), 32), VOCAB, CONTEXT)
    assert isinstance(measured, MeasuredFlops)
    assert sum(measured.by_op.values()) == pytest.approx(measured.per_token)
    forward = measured.by_op["aten._scaled_dot_product_flash_attention_for_cpu"]
    backward = measured.by_op["aten._scaled_dot_product_flash_attention_for_cpu_backward"]
    assert forward == 2 * 2 * CONTEXT * 32 * 2  # q·kᵀ and p·v over all T keys, 2 layers
    assert backward == 2 * forward  # model FLOPs: no recomputation counted


def test_measuring_leaves_no_gradients(components):
    model = build(components, Recipe(), 16)
    measure_flops_per_token(model, VOCAB, CONTEXT)
    assert all(p.grad is None for p in model.parameters())

# -----------------------------------------------------------------------------
# nothing counts as 0 silently


def test_attention_without_its_formula_is_refused(components):
    model = build(components, Recipe(), 16)
    with pytest.raises(UnsupportedOpError, match="aten._scaled_dot_product_flash_attention_for_cpu"):
        measure_flops_per_token(model, VOCAB, CONTEXT, formulas={})


@needs_onednn_lstm
def test_lstm_without_its_formula_is_refused(components):
    model = build(components, Recipe(family="lstm"), 16)
    with pytest.raises(UnsupportedOpError, match="aten.mkldnn_rnn_layer"):
        measure_flops_per_token(model, VOCAB, CONTEXT, formulas={})


class MatVecLM(nn.Module):
    """A tiny LM whose mixing layer uses torch.mv, which the counter has no formula for."""

    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, 8)
        self.w = nn.Parameter(torch.randn(8, 8))
        self.lm_head = nn.Linear(8, VOCAB, bias=False)

    def forward(self, idx, targets=None):
        x = self.wte(idx).view(-1, 8)
        x = torch.stack([torch.mv(self.w, row) for row in x]).view(*idx.shape, 8)
        logits = self.lm_head(x)
        return logits, F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))


def test_an_op_without_any_formula_is_refused():
    with pytest.raises(UnsupportedOpError, match=r"MatVecLM .* aten\.mv\b"):
        measure_flops_per_token(MatVecLM(), VOCAB, 4)


@pytest.mark.parametrize("name,heavy", [
    ("mm", True), ("addmm_", True), ("_int_mm", True), ("bmm", True), ("convolution", True),
    ("_scaled_dot_product_flash_attention_for_cpu", True), ("mkldnn_rnn_layer_backward", True),
    ("_fft_r2c", True), ("cummax", False), ("mul", False), ("native_layer_norm", False),
    ("embedding_dense_backward", False), ("_softmax", False),
])
def test_heavy_op_names(name, heavy):
    assert is_heavy(name) == heavy

# -----------------------------------------------------------------------------
# check_flops refuses a wrong formula


class ForwardOnlyGPT(gpt.GPTFamily):
    """A family whose formula forgets the backward pass."""

    name = "forward-only-gpt"

    def flops_per_token(self, recipe, width, vocab_size, context, components=None):
        return super().flops_per_token(recipe, width, vocab_size, context, components) / 3


def test_wrong_formula_raises_mismatch(components):
    recipe = Recipe(activation="swiglu", position="rotary")
    with pytest.raises(FlopMismatchError) as error:
        check_flops(ForwardOnlyGPT(), recipe, 32, VOCAB, CONTEXT, components)
    message = str(error.value)
    measured = gpt.GPTFamily().flops_per_token(recipe, 32, VOCAB, CONTEXT, components)
    for text in ("'forward-only-gpt'", "width 32", "activation='swiglu'", "position='rotary'",
                 f"{measured:.6g}", f"{measured / 3:.6g}"):
        assert text in message


def test_tolerance_is_relative_to_the_analytic_count(components):
    class SlightlyHigh(gpt.GPTFamily):
        name = "slightly-high"

        def flops_per_token(self, *args, **kwargs):
            return super().flops_per_token(*args, **kwargs) * 1.05

    report = check_flops(SlightlyHigh(), Recipe(), 16, VOCAB, CONTEXT, components)  # 10 % allowed
    assert report.relative_difference == pytest.approx(0.05 / 1.05)
    with pytest.raises(FlopMismatchError):
        check_flops(SlightlyHigh(), Recipe(), 16, VOCAB, CONTEXT, components, tolerance=0.01)
