"""Built-in building blocks of the reference Transformer, each chosen by a recipe field.

activation  ``relu``, ``gelu`` and ``swiglu`` (gated: silu(a) * b, Shazeer 2020,
            https://arxiv.org/abs/2002.05202).
norm        ``layernorm`` (with weight and bias, as ``nn.LayerNorm`` and the
            original Transformer) and ``rmsnorm`` (weight only, Zhang & Sennrich
            2019, https://arxiv.org/abs/1910.07467).
position    ``learned`` (a trained table added to the token embeddings, GPT-2),
            ``sinusoidal`` (a fixed table added, Vaswani et al. 2017) and
            ``rotary`` (queries and keys rotated, Su et al. 2021,
            https://arxiv.org/abs/2104.09864).
attention_kernel  ``fused`` (``F.scaled_dot_product_attention``, a flash-style
            kernel that never stores the T×T scores) and ``plain`` (the scores
            written out: softmax(q·kᵀ/√d + causal mask)·v). Same maths, same FLOPs.

The contracts (see ``cegbench.components``): an activation is an ``nn.Module``
class with no constructor arguments and a class attribute ``gated``; a norm takes
``dim``; a position takes ``(n_embd, n_head, context)`` and has ``embed(x)`` on
(B, T, C) token embeddings and ``rotate(q, k)`` on (B, nh, T, hs) queries and keys;
an attention kernel is an ``nn.Module`` class with no constructor arguments whose
``forward(q, k, v)`` maps (B, nh, T, hs) queries, keys and values to the causal
attention output of the same shape. Activations, norms and positions do no
matrix multiplication, so they add nothing to the FLOP count; both kernels cost
the same 4·T·hs FLOPs per query and head, forward.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from cegbench.hookspecs import hookimpl
from cegbench.innovations import Component

# -----------------------------------------------------------------------------
# activations


class ReLU(nn.Module):
    gated = False

    def forward(self, x):
        return F.relu(x)


class GeLU(nn.Module):
    gated = False

    def forward(self, x):
        return F.gelu(x)  # exact erf form, as in BERT and GPT-2's paper


class SwiGLU(nn.Module):
    gated = True  # input has 2 * hidden channels: a value half and a gate half

    def forward(self, x):
        a, b = x.chunk(2, dim=-1)  # (..., 2*hidden) -> 2 x (..., hidden)
        return F.silu(a) * b

# -----------------------------------------------------------------------------
# norms


class LayerNorm(nn.Module):
    """LayerNorm with weight and bias (Ba et al. 2016), as in the 2017 Transformer."""

    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class RMSNorm(nn.Module):
    """RMSNorm: no mean subtraction, no bias, a learned gain."""

    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return F.rms_norm(x, self.weight.shape, self.weight, 1e-5)

# -----------------------------------------------------------------------------
# positions


class LearnedPosition(nn.Module):
    """A trained (context, n_embd) table added to the token embeddings (GPT-2's wpe)."""

    def __init__(self, n_embd, n_head, context):
        super().__init__()
        self.wpe = nn.Embedding(context, n_embd)

    def embed(self, x):
        T = x.size(1)
        pos = torch.arange(T, dtype=torch.long, device=x.device)  # (T,)
        return x + self.wpe(pos)  # (B, T, C) + (T, C)

    def rotate(self, q, k):
        return q, k


class SinusoidalPosition(nn.Module):
    """The fixed sin/cos table of Vaswani et al. 2017, added unscaled (as in Gundlach et al.)."""

    def __init__(self, n_embd, n_head, context):
        super().__init__()
        pos = torch.arange(context, dtype=torch.float32).unsqueeze(1)  # (context, 1)
        freq = torch.exp(torch.arange(0, n_embd, 2).float() * (-math.log(10000.0) / n_embd))
        table = torch.zeros(context, n_embd)
        table[:, 0::2] = torch.sin(pos * freq)
        table[:, 1::2] = torch.cos(pos * freq)
        self.register_buffer("table", table, persistent=False)  # a function of shape, not state

    def embed(self, x):
        return x + self.table[: x.size(1)]  # (B, T, C) + (T, C)

    def rotate(self, q, k):
        return q, k


class RotaryPosition(nn.Module):
    """Rotary embeddings (RoPE), half-split layout as in GPT-NeoX and Llama, base 10000."""

    def __init__(self, n_embd, n_head, context, base=10000.0):
        super().__init__()
        head_size = n_embd // n_head
        inv_freq = 1.0 / (base ** (torch.arange(0, head_size, 2).float() / head_size))  # (hs/2,)
        angles = torch.outer(torch.arange(context).float(), inv_freq)  # (context, hs/2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def embed(self, x):
        return x  # positions enter through the attention, not the residual stream

    def rotate(self, q, k):
        T = q.size(-2)
        cos, sin = self.cos[:T].to(q.dtype), self.sin[:T].to(q.dtype)  # (T, hs/2)
        return _rotate_half_split(q, cos, sin), _rotate_half_split(k, cos, sin)


def _rotate_half_split(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)  # (B, nh, T, hs/2) each
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)

# -----------------------------------------------------------------------------
# attention kernels


class FusedAttention(nn.Module):
    """PyTorch's fused scaled-dot-product attention (flash attention where available)."""

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class PlainAttention(nn.Module):
    """Attention written out as in nanoGPT's slow path: the (T, T) scores are materialised."""

    def forward(self, q, k, v):
        T = q.size(-2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        att = att.masked_fill(~causal, float("-inf"))
        att = F.softmax(att, dim=-1)
        return att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)

# -----------------------------------------------------------------------------
# registration


@hookimpl
def cegbench_register_components():
    return [
        Component("activation", "relu", ReLU, "ReLU, max(0, x)"),
        Component("activation", "gelu", GeLU, "GeLU, x·Φ(x) (Hendrycks & Gimpel 2016)"),
        Component("activation", "swiglu", SwiGLU,
                  "SwiGLU, silu(a)·b, gated; MLP hidden 8/3·width to match parameters (Shazeer 2020)"),
        Component("norm", "layernorm", LayerNorm, "LayerNorm with weight and bias (Ba et al. 2016)"),
        Component("norm", "rmsnorm", RMSNorm, "RMSNorm, weight only (Zhang & Sennrich 2019)"),
        Component("position", "learned", LearnedPosition, "learned absolute position table (GPT-2)"),
        Component("position", "sinusoidal", SinusoidalPosition,
                  "fixed sinusoidal position table (Vaswani et al. 2017)"),
        Component("position", "rotary", RotaryPosition, "rotary embeddings on queries and keys (Su et al. 2021)"),
        Component("attention_kernel", "fused", FusedAttention,
                  "F.scaled_dot_product_attention: fused, scores never stored (Dao et al. 2022)"),
        Component("attention_kernel", "plain", PlainAttention,
                  "softmax(q·kᵀ/√d + causal mask)·v with the T×T scores materialised"),
    ]
