"""The reference decoder-only Transformer, every modernisation a switch.

Follows nanoGPT's model.py (https://github.com/karpathy/nanoGPT) and the set-up of
Gundlach et al. 2025 (https://arxiv.org/abs/2511.21622): head dimension 16,
depth = width / 16, MLP ratio 4, no biases in Linear layers, no dropout.

Switchable features, each a recipe field naming a registered component:
- activation: "relu", "gelu", "swiglu" (gated; its MLP hidden is round(8/3 · width),
  so that it has the parameters of a ratio-4 MLP),
- norm: "layernorm", "rmsnorm",
- norm_placement: "pre" (x + f(norm(x)), with a final norm before the head) or
  "post" (norm(x + f(x)), the 2017 Transformer, no final norm),
- position: "learned", "sinusoidal", "rotary",
- tied_embeddings: the head shares the token embedding matrix.

Components are looked up by name in a ``Components`` registry and never imported
here, so a component a plugin registers works exactly like a built-in one.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from cegbench.hookspecs import hookimpl
from cegbench.innovations import Component
from cegbench.models import ModelFamily

HEAD_SIZE = 16  # head dimension; width / 16 heads and width / 16 layers


class CausalSelfAttention(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, in one batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=False)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=False)
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x, position):
        B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q, k = position.rotate(q, k)  # identity unless the position is rotary
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs side by side
        return self.c_proj(y)


class MLP(nn.Module):

    def __init__(self, config, Activation):
        super().__init__()
        # a gated activation halves its input: (..., 2*hidden) -> (..., hidden)
        fan_out = 2 * config.mlp_hidden if Activation.gated else config.mlp_hidden
        self.c_fc = nn.Linear(config.n_embd, fan_out, bias=False)
        self.act = Activation()
        self.c_proj = nn.Linear(config.mlp_hidden, config.n_embd, bias=False)

    def forward(self, x):
        x = self.c_fc(x)  # (B, T, hidden) or (B, T, 2*hidden) when gated
        x = self.act(x)  # (B, T, hidden)
        return self.c_proj(x)  # (B, T, C)


class Block(nn.Module):

    def __init__(self, config, Norm, Activation):
        super().__init__()
        self.pre_norm = config.norm_placement == "pre"
        self.ln_1 = Norm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = Norm(config.n_embd)
        self.mlp = MLP(config, Activation)

    def forward(self, x, position):
        if self.pre_norm:
            x = x + self.attn(self.ln_1(x), position)
            x = x + self.mlp(self.ln_2(x))
        else:  # post-norm, as in Vaswani et al. 2017
            x = self.ln_1(x + self.attn(x, position))
            x = self.ln_2(x + self.mlp(x))
        return x


@dataclass
class GPTConfig:
    context: int = 128  # longest sequence (nanoGPT's block_size)
    vocab_size: int = 50304
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 64
    mlp_hidden: int = 256  # 4 * n_embd, or round(8/3 * n_embd) for a gated activation
    activation: str = "gelu"  # component names, looked up in the Components registry
    norm: str = "layernorm"
    norm_placement: str = "pre"  # "pre": x + f(norm(x)), final norm; "post": norm(x + f(x)), none
    position: str = "learned"
    tied_embeddings: bool = True  # True: lm_head.weight is wte.weight


class GPT(nn.Module):

    def __init__(self, config, components):
        super().__init__()
        assert config.norm_placement in ("pre", "post")
        self.config = config
        Norm = components.get("norm", config.norm)
        Activation = components.get("activation", config.activation)
        Position = components.get("position", config.position)

        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            pos=Position(config.n_embd, config.n_head, config.context),
            h=nn.ModuleList([Block(config, Norm, Activation) for _ in range(config.n_layer)]),
            ln_f=Norm(config.n_embd) if config.norm_placement == "pre" else nn.Identity(),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tied_embeddings:
            self.transformer.wte.weight = self.lm_head.weight  # https://paperswithcode.com/method/weight-tying

        # init all weights (a component's own Linear and Embedding layers too), then a special
        # scaled init to the residual projections, per GPT-2 paper
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        B, T = idx.size()
        assert T <= self.config.context, f"Cannot forward sequence of length {T}, context is only {self.config.context}"
        pos = self.transformer.pos
        x = self.transformer.wte(idx)  # token embeddings of shape (B, T, C)
        x = pos.embed(x)  # plus the position table, unless rotary
        for block in self.transformer.h:
            x = block(x, pos)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)  # (B, T, vocab_size)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


class GPTFamily(ModelFamily):
    """Decoder-only Transformers of width d: d/16 layers of d/16 heads of size 16."""

    name = "gpt"

    def depth(self, width):
        _check_width(width)
        return max(1, width // HEAD_SIZE)

    def config(self, recipe, width, vocab_size, context, components=None):
        """The ``GPTConfig`` of the model this family builds for ``recipe`` at ``width``."""
        n_layer = self.depth(width)  # checks the width first
        gated = _resolve(components, "activation", recipe.activation).gated
        return GPTConfig(
            context=context,
            vocab_size=vocab_size,
            n_layer=n_layer,
            n_head=width // HEAD_SIZE,
            n_embd=width,
            mlp_hidden=round(8 * width / 3) if gated else 4 * width,
            activation=recipe.activation,
            norm=recipe.norm,
            norm_placement=recipe.norm_placement,
            position=recipe.position,
            tied_embeddings=recipe.tied_embeddings,
        )

    def build(self, recipe, width, vocab_size, context, components):
        return GPT(self.config(recipe, width, vocab_size, context, components), components)

    def n_params(self, recipe, width, vocab_size, context, components=None):
        """Every parameter, embeddings included; shared (tied) weights counted once.

        The Linear layers are counted here; the norms, position and activation
        are counted by instantiating them on the meta device, so that a plugin's
        component is counted as exactly as a built-in one.
        """
        c = self.config(recipe, width, vocab_size, context, components)
        C, H, L, V = c.n_embd, c.mlp_hidden, c.n_layer, c.vocab_size
        gated = _resolve(components, "activation", c.activation).gated
        norm = _count_params(components, "norm", c.norm, C)
        attention = 3 * C * C + C * C  # c_attn, c_proj
        mlp = C * (2 * H if gated else H) + H * C  # c_fc, c_proj
        block = 2 * norm + attention + mlp + _count_params(components, "activation", c.activation)
        embeddings = V * C if c.tied_embeddings else 2 * V * C  # wte (and a separate lm_head)
        position = _count_params(components, "position", c.position, C, c.n_head, c.context)
        final_norm = norm if c.norm_placement == "pre" else 0
        return embeddings + position + L * block + final_norm

    def flops_per_token(self, recipe, width, vocab_size, context, components=None):
        """Training FLOPs (forward + backward) per token: 6·N + 12·L·T·d.

        Counts matrix multiplications only, at 2 FLOPs per multiply-add, like
        ``torch.utils.flop_counter``; elementwise work (activations, norms,
        residual adds, rotary, softmax, the loss) and embedding lookups are
        ignored. Per token and per layer, the forward pass costs

        - 2·N_layer for the weights, N_layer = 4·d² (c_attn + c_proj) + the MLP's
          d·h + h·d (h = 4·d), or 2·d·h + h·d when gated (h = round(8/3 · d)),
        - 2·T·d for the scores q·kᵀ and 2·T·d for the weighted sum of v, over
          all T positions of the context: the causal mask is not discounted,

        plus 2·d·V for the head (tied or not: the matmul is done either way).
        The backward pass costs twice the forward (gradients of the input and
        of the weight, each a matmul of the same size), so with N the
        non-embedding matmul weights plus the head,

            FLOPs/token = 6·N + 12·L·T·d,

        the formula of PaLM (Chowdhery et al. 2022, appendix B) used by
        nanoGPT's ``estimate_mfu``. Only the model FLOPs are counted: the
        attention backward's recomputation of the scores is not.
        """
        c = self.config(recipe, width, vocab_size, context, components)
        C, H, L, V, T = c.n_embd, c.mlp_hidden, c.n_layer, c.vocab_size, c.context
        gated = _resolve(components, "activation", c.activation).gated
        n_matmul = L * (4 * C * C + C * (2 * H if gated else H) + H * C) + C * V
        return float(6 * n_matmul + 12 * L * T * C)


def _check_width(width):
    if not isinstance(width, int) or width < HEAD_SIZE or width % HEAD_SIZE:
        raise ValueError(f"gpt width must be a positive multiple of {HEAD_SIZE}, got width={width!r}")


def _resolve(components, kind, name):
    """A component by name; the built-ins when no registry is given."""
    if components is None:
        components = _builtin_components()
    return components.get(kind, name)


def _count_params(components, kind, name, *args):
    """Parameters of one component, built on the meta device (no memory, no init cost)."""
    cls = _resolve(components, kind, name)
    with torch.device("meta"):
        module = cls(*args)
    return sum(p.numel() for p in module.parameters())


_BUILTINS = None


def _builtin_components():
    """The built-in components alone, for counting without a loaded registry."""
    global _BUILTINS
    if _BUILTINS is None:
        from cegbench.components import Components
        from cegbench.models import components as builtin

        registry = Components()
        for c in builtin.cegbench_register_components():
            registry[c.kind].register(c.name, c.implementation, origin="cegbench.models.components")
        _BUILTINS = registry
    return _BUILTINS


@hookimpl
def cegbench_register_components():
    return [Component("family", "gpt", GPTFamily(),
                      "decoder-only Transformer, depth = width/16, head size 16 (nanoGPT layout)")]
