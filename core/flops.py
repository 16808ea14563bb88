"""Training FLOPs per token: measured by a counter, checked against a formula.

Compute is the benchmark's currency, so it must be counted the same way for
every recipe and family. ``measure_flops_per_token`` runs one forward and
backward pass under ``torch.utils.flop_counter.FlopCounterMode``; the families'
``flops_per_token`` give the analytic count; ``check_flops`` insists they agree.

The counter alone is not trusted, because it counts an op it has no formula for
as zero, silently. On CPU that includes the fused attention kernel
(``aten._scaled_dot_product_flash_attention_for_cpu`` and its backward) and the
oneDNN LSTM layer (``aten.mkldnn_rnn_layer`` and its backward), which is how an
LSTM comes out nearly free. So:

- ``FORMULAS`` adds formulas for those ops;
- every op that runs is recorded, and a compute-heavy one (its name says
  matmul, convolution, attention, recurrent cell, …) that neither the counter
  nor ``FORMULAS`` can count raises ``UnsupportedOpError`` instead of counting 0.

What is counted: model FLOPs of matrix multiplications, 2 per multiply-add.
Elementwise ops, norms, softmax, the loss and embedding lookups count 0 here and
in the analytic formulas alike. Attention counts every (query, key) pair of the
full T×T score matrix: the causal mask is not discounted. A backward pass counts
twice its forward; recomputation inside a fused attention backward is not
counted (model FLOPs, not hardware FLOPs).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

aten = torch.ops.aten


class UnsupportedOpError(RuntimeError):
    """A compute-heavy op ran that no FLOP formula covers; it would have counted as 0."""


class FlopMismatchError(RuntimeError):
    """Measured and analytic FLOPs per token disagree beyond the tolerance."""


@dataclass(frozen=True)
class MeasuredFlops:
    per_token: float  # training FLOPs (forward + backward) per token
    by_op: dict[str, float]  # the same, split by aten op (e.g. "aten.mm"); sums to per_token


@dataclass(frozen=True)
class FlopReport:
    measured: float  # FLOPs per token, counted
    analytic: float  # FLOPs per token, from the family's formula
    relative_difference: float  # |measured - analytic| / analytic

# -----------------------------------------------------------------------------
# formulas for the ops the counter misses (called with tensor shapes, like its own)


def sdpa_forward_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    """Attention forward: q·kᵀ and p·v over the full T×T scores (mask not discounted)."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def sdpa_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    """Attention backward: 4 matmuls (grads of the scores, v, q and k), twice the forward.

    torch's own formula adds a 5th for the fused kernel's recomputation of the
    scores; that is hardware work, not model work, and is left out here so that
    the count is the same whichever kernel (CPU, flash, efficient, cuDNN) runs.
    """
    return 2 * sdpa_flop_count(query_shape, key_shape, value_shape)


def rnn_layer_flop(input_shape, weight_ih_shape, weight_hh_shape, *args, out_shape=None, **kwargs):
    """One recurrent layer, forward: every step multiplies the input and the previous
    hidden state by the gate weights, 2·(gates·hidden)·(input + hidden) FLOPs.

    The step count is the input's size without its feature axis, so the layout
    (batch-first or not, packed or not) does not matter; for an LSTM the weights
    are (4·hidden, input) and (4·hidden, hidden).
    """
    steps = math.prod(input_shape[:-1])
    return 2 * steps * (math.prod(weight_ih_shape) + math.prod(weight_hh_shape))


def rnn_layer_backward_flop(input_shape, weight_ih_shape, weight_hh_shape, *args, out_shape=None, **kwargs):
    """One recurrent layer, backward: gradients of the inputs/states and of the weights, twice the forward."""
    return 2 * rnn_layer_flop(input_shape, weight_ih_shape, weight_hh_shape)


FORMULAS = {
    aten._scaled_dot_product_flash_attention_for_cpu: sdpa_forward_flop,
    aten._scaled_dot_product_flash_attention_for_cpu_backward: sdpa_backward_flop,
    # the counter knows these, but counts the recomputation of the scores in the backward
    aten._scaled_dot_product_flash_attention_backward: sdpa_backward_flop,
    aten._scaled_dot_product_efficient_attention_backward: sdpa_backward_flop,
    aten._scaled_dot_product_cudnn_attention_backward: sdpa_backward_flop,
    # oneDNN's LSTM layer: schema (input, weight_ih, weight_hh, bias_ih, bias_hh, hx, cx, ...);
    # its backward is (input, weight_ih, weight_hh, ...) too
    aten.mkldnn_rnn_layer: rnn_layer_flop,
    aten.mkldnn_rnn_layer_backward: rnn_layer_backward_flop,
}

# An op whose name has one of these words does real arithmetic; if nothing can
# count it, measuring must fail rather than count it as 0.
HEAVY_OP = re.compile(
    r"(^|_)(mm|bmm|addmm|addbmm|baddbmm|mv|addmv|dot|vdot|matmul|einsum|linear|bilinear|"
    r"tensordot|conv\w*|\w*attention\w*|\w*attn\w*|\w*rnn\w*|lstm\w*|gru\w*|fft\w*)($|_)"
)


def is_heavy(op_name: str) -> bool:
    """Does this aten op (e.g. "mm", "_scaled_dot_product_flash_attention_for_cpu") do matmul-like work?"""
    return HEAVY_OP.search(op_name) is not None


class _OpRecorder(TorchDispatchMode):
    """Remembers every op packet that reaches the kernels."""

    def __init__(self):
        super().__init__()
        self.ops = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(func._overloadpacket)
        return func(*args, **(kwargs or {}))

# -----------------------------------------------------------------------------
# measuring and checking


def measure_flops_per_token(model, vocab_size, context, batch_size=2, formulas=None) -> MeasuredFlops:
    """Count one training step's FLOPs (forward + backward) on a random batch, per token.

    The batch is (batch_size, context) token ids drawn from a fixed seed on the
    model's device (CPU, for the formulas above to be the ones that apply). The
    model's gradients are cleared afterwards. ``formulas`` replaces ``FORMULAS``
    (tests pass ``{}`` to see the counter's blind spots).

    Raises ``UnsupportedOpError`` naming every compute-heavy op that ran
    without a formula.
    """
    formulas = FORMULAS if formulas is None else formulas
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    idx = torch.randint(vocab_size, (batch_size, context + 1), generator=generator).to(device)
    x, y = idx[:, :-1].contiguous(), idx[:, 1:].contiguous()

    counter = FlopCounterMode(display=False, custom_mapping=formulas)
    recorder = _OpRecorder()
    # the recorder is entered first, so it sees what the counter passes on to the
    # kernels: the ops it did not decompose into smaller ones
    with recorder, counter:
        _, loss = model(x, y)
        loss.backward()
    model.zero_grad(set_to_none=True)

    uncounted = sorted(str(op) for op in recorder.ops
                       if op not in counter.flop_registry and is_heavy(op.__name__))
    if uncounted:
        raise UnsupportedOpError(
            f"{type(model).__name__} ran compute-heavy op(s) that no FLOP formula covers, so they "
            f"would count as 0: {', '.join(uncounted)}. Add a formula to cegbench.flops.FORMULAS."
        )
    tokens = batch_size * context
    by_op = {str(op): n / tokens for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return MeasuredFlops(per_token=counter.get_total_flops() / tokens, by_op=by_op)


def check_flops(family, recipe, width, vocab_size, context, components, tolerance=0.10) -> FlopReport:
    """Build the family's model for ``recipe`` at ``width`` on CPU, measure its FLOPs per
    token and compare with ``family.flops_per_token``.

    Raises ``FlopMismatchError`` when they differ by more than ``tolerance``
    (relative to the analytic number), and ``UnsupportedOpError`` (from
    measuring) when the count would miss an op.
    """
    model = family.build(recipe, width, vocab_size, context, components)
    measured = measure_flops_per_token(model, vocab_size, context).per_token
    analytic = family.flops_per_token(recipe, width, vocab_size, context, components)
    difference = abs(measured - analytic) / analytic
    if difference > tolerance:
        raise FlopMismatchError(
            f"family {family.name!r}, width {width}, recipe {_recipe_fields(recipe)}: measured "
            f"{measured:.6g} FLOPs/token but the analytic formula gives {analytic:.6g} "
            f"({difference:.1%} apart, tolerance {tolerance:.1%})"
        )
    return FlopReport(measured=measured, analytic=analytic, relative_difference=difference)


def _recipe_fields(recipe):
    fields = ("activation", "norm", "norm_placement", "position", "tied_embeddings", "attention",
              "attention_kernel", "mlp", "qk_norm")
    return ", ".join(f"{f}={getattr(recipe, f)!r}" for f in fields)
