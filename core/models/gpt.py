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
- tied_embeddings: the head shares the token embedding matrix,
- attention: "mha" (a key/value head per query head), "gqa" (one per 2 query
  heads, Ainslie et al. 2023) or "mqa" (one in all, Shazeer 2019),
- attention_kernel: "fused" (scaled_dot_product_attention) or "plain" (scores
  materialised); same maths, same FLOPs,
- qk_norm: queries and keys normalised per head with the recipe's norm,
- mlp: "dense" or "moe" (4 experts of hidden h/2, top-2 routing, so the active
  parameters per token match the dense MLP; FLOPs are counted as active FLOPs).

Components are looked up by name in a ``Components`` registry and never imported
here, so a component a plugin registers works exactly like a built-in one.
"""

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from cegbench.hookspecs import hookimpl
from cegbench.innovations import Component
from cegbench.models import ModelFamily

HEAD_SIZE = 16  # head dimension; width / 16 heads and width / 16 layers
GQA_GROUP = 2  # grouped-query attention: query heads per key/value head
N_EXPERT, TOP_K = 4, 2  # mixture of experts: experts per layer, experts per token
MOE_AUX_WEIGHT = 0.01  # weight of the load-balancing loss in the training loss (Switch Transformer)


def kv_heads(attention, n_head):
    """Key/value heads for the recipe's attention kind: "mha", "gqa" or "mqa".

    GQA shares each key/value head between GQA_GROUP = 2 query heads: at the
    widths of the CPU tiers (1 to 4 heads) a larger group would make it MQA.
    """
    return {"mha": n_head, "gqa": max(1, n_head // GQA_GROUP), "mqa": 1}[attention]


class CausalSelfAttention(nn.Module):

    def __init__(self, config, Norm, Kernel):
        super().__init__()
        assert config.n_embd % config.n_head == 0 and config.n_head % config.n_kv_head == 0
        self.n_head = config.n_head
        self.n_kv_head = config.n_kv_head  # n_head (multi-head), fewer (grouped-query) or 1 (multi-query)
        self.n_embd = config.n_embd
        self.head_size = config.n_embd // config.n_head
        self.kv_size = self.n_kv_head * self.head_size
        # query, key, value projections for all heads, in one batch
        self.c_attn = nn.Linear(config.n_embd, config.n_embd + 2 * self.kv_size, bias=False)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=False)
        # QK-norm: each head's query and key normalised (the recipe's norm, over the head size)
        self.q_norm = Norm(self.head_size) if config.qk_norm else nn.Identity()
        self.k_norm = Norm(self.head_size) if config.qk_norm else nn.Identity()
        self.kernel = Kernel()

    def forward(self, x, position):
        B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)
        hs = self.head_size
        q, k, v = self.c_attn(x).split((self.n_embd, self.kv_size, self.kv_size), dim=2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_kv_head, hs).transpose(1, 2)  # (B, n_kv, T, hs)
        v = v.view(B, T, self.n_kv_head, hs).transpose(1, 2)  # (B, n_kv, T, hs)
        q, k = self.q_norm(q), self.k_norm(k)
        q, k = position.rotate(q, k)  # identity unless the position is rotary
        if self.n_kv_head != self.n_head:  # each key/value head serves a group of query heads
            k = k.repeat_interleave(self.n_head // self.n_kv_head, dim=1)  # (B, nh, T, hs)
            v = v.repeat_interleave(self.n_head // self.n_kv_head, dim=1)
        y = self.kernel(q, k, v)  # (B, nh, T, hs), causal
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs side by side
        return self.c_proj(y)


class MLP(nn.Module):

    def __init__(self, config, Activation, hidden=None):
        super().__init__()
        hidden = hidden or config.mlp_hidden
        # a gated activation halves its input: (..., 2*hidden) -> (..., hidden)
        fan_out = 2 * hidden if Activation.gated else hidden
        self.c_fc = nn.Linear(config.n_embd, fan_out, bias=False)
        self.act = Activation()
        self.c_proj = nn.Linear(hidden, config.n_embd, bias=False)

    def forward(self, x):
        x = self.c_fc(x)  # (..., hidden) or (..., 2*hidden) when gated
        x = self.act(x)  # (..., hidden)
        return self.c_proj(x)  # (..., C)


class MoE(nn.Module):
    """Mixture-of-experts MLP: a router sends each token to its top_k of n_expert MLPs.

    Each expert has hidden size mlp_hidden / top_k, so the experts a token visits
    hold as many weights, and cost as many FLOPs, as the dense MLP (plus the
    router's d × n_expert). The outputs are mixed with the router's softmax
    probabilities renormalised over the chosen experts (as in Mixtral). Tokens are
    dispatched grouped: the (token, expert) assignments are sorted by expert and
    each expert runs once on its contiguous slice, so only routed tokens are
    multiplied. ``aux_loss`` is the Switch Transformer load-balancing loss
    (Fedus et al. 2021) of the last forward pass.
    """

    def __init__(self, config, Activation):
        super().__init__()
        self.n_expert, self.top_k = config.n_expert, config.top_k
        self.router = nn.Linear(config.n_embd, config.n_expert, bias=False)
        hidden = config.mlp_hidden // config.top_k
        self.experts = nn.ModuleList([MLP(config, Activation, hidden) for _ in range(config.n_expert)])
        self.aux_loss = None

    def forward(self, x):
        B, T, C = x.size()
        x = x.reshape(B * T, C)  # (N, C), one row per token
        probs = F.softmax(self.router(x), dim=-1)  # (N, E)
        weights, chosen = probs.topk(self.top_k, dim=-1)  # (N, k) each
        weights = weights / weights.sum(dim=-1, keepdim=True)
        counts = torch.bincount(chosen.view(-1), minlength=self.n_expert)  # (E,) assignments per expert
        # load balancing: each expert's share of the assignments times its mean probability, times E
        share = counts.to(x.dtype) / chosen.numel()
        self.aux_loss = self.n_expert * (share * probs.mean(dim=0)).sum()
        # grouped dispatch: sort the N·k assignments by expert, run each expert on its slice
        order = chosen.view(-1).argsort(stable=True)  # (N·k,)
        token = order // self.top_k  # the token of each sorted assignment
        routed = x[token]  # (N·k, C), grouped by expert
        parts = routed.split(counts.tolist())
        y = torch.cat([expert(part) for expert, part in zip(self.experts, parts)])
        y = y * weights.view(-1)[order].unsqueeze(1)  # (N·k, C), weighted
        return torch.zeros_like(x).index_add_(0, token, y).view(B, T, C)


class Block(nn.Module):

    def __init__(self, config, Norm, Activation, Kernel):
        super().__init__()
        self.pre_norm = config.norm_placement == "pre"
        self.ln_1 = Norm(config.n_embd)
        self.attn = CausalSelfAttention(config, Norm, Kernel)
        self.ln_2 = Norm(config.n_embd)
        self.mlp = MoE(config, Activation) if config.mlp == "moe" else MLP(config, Activation)

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
    n_kv_head: int = 4  # key/value heads: n_head (multi-head), n_head/2 (grouped-query), 1 (multi-query)
    attention_kernel: str = "fused"
    qk_norm: bool = False
    mlp: str = "dense"  # "dense" or "moe"
    n_expert: int = N_EXPERT  # used by "moe" only
    top_k: int = TOP_K


class GPT(nn.Module):

    def __init__(self, config, components):
        super().__init__()
        assert config.norm_placement in ("pre", "post")
        self.config = config
        Norm = components.get("norm", config.norm)
        Activation = components.get("activation", config.activation)
        Position = components.get("position", config.position)
        Kernel = components.get("attention_kernel", config.attention_kernel)

        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            pos=Position(config.n_embd, config.n_head, config.context),
            h=nn.ModuleList([Block(config, Norm, Activation, Kernel) for _ in range(config.n_layer)]),
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
            if self.training and self.config.mlp == "moe":  # held-out losses stay pure cross-entropy
                loss = loss + MOE_AUX_WEIGHT * sum(block.mlp.aux_loss for block in self.transformer.h)
        return logits, loss


class GPTFamily(ModelFamily):
    """Decoder-only Transformers of width d: d/16 layers of d/16 heads of size 16."""

    name = "gpt"

    def depth(self, width):
        _check_width(width)
        return max(1, width // HEAD_SIZE)

    def config(self, recipe, width, vocab_size, context, components):
        """The ``GPTConfig`` of the model this family builds for ``recipe`` at ``width``."""
        n_layer = self.depth(width)  # checks the width first
        gated = components.get("activation", recipe.activation).gated
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
            n_kv_head=kv_heads(recipe.attention, width // HEAD_SIZE),
            attention_kernel=recipe.attention_kernel,
            qk_norm=recipe.qk_norm,
            mlp=recipe.mlp,
        )

    def as_trained(self, recipe, width):
        """The attention named by the key/value heads the model has: with one query head
        every kind is "mha", and GQA with fewer than 2·GQA_GROUP heads has one key/value
        head, so it is "mqa"."""
        n_head = width // HEAD_SIZE
        n_kv_head = kv_heads(recipe.attention, n_head)
        attention = "mha" if n_kv_head == n_head else "mqa" if n_kv_head == 1 else recipe.attention
        return dataclasses.replace(recipe, attention=attention)

    def build(self, recipe, width, vocab_size, context, components):
        return GPT(self.config(recipe, width, vocab_size, context, components), components)

    def n_params(self, recipe, width, vocab_size, context, components):
        """Every parameter, embeddings included; shared (tied) weights counted once.

        The Linear layers are counted here; the norms, position and activation
        are counted by instantiating them on the meta device, so that a plugin's
        component is counted as exactly as a built-in one.
        """
        c = self.config(recipe, width, vocab_size, context, components)
        C, L, V = c.n_embd, c.n_layer, c.vocab_size
        norm = _count_params(components, "norm", c.norm, C)
        attention = _attention_matmul_params(c)
        if c.qk_norm:
            attention += 2 * _count_params(components, "norm", c.norm, C // c.n_head)
        attention += _count_params(components, "attention_kernel", c.attention_kernel)
        activation = _count_params(components, "activation", c.activation)
        if c.mlp == "moe":  # the router and every expert, active or not
            mlp = C * c.n_expert + c.n_expert * (_mlp_matmul_params(c, components, c.mlp_hidden // c.top_k)
                                                 + activation)
        else:
            mlp = _mlp_matmul_params(c, components, c.mlp_hidden) + activation
        block = 2 * norm + attention + mlp
        embeddings = V * C if c.tied_embeddings else 2 * V * C  # wte (and a separate lm_head)
        position = _count_params(components, "position", c.position, C, c.n_head, c.context)
        final_norm = norm if c.norm_placement == "pre" else 0
        return embeddings + position + L * block + final_norm

    def flops_per_token(self, recipe, width, vocab_size, context, components):
        """Training FLOPs (forward + backward) per token: 6·N + 12·L·T·d.

        Counts matrix multiplications only, at 2 FLOPs per multiply-add, like
        ``torch.utils.flop_counter``; elementwise work (activations, norms,
        residual adds, rotary, softmax, the loss) and embedding lookups are
        ignored. Per token and per layer, the forward pass costs

        - 2·N_layer for the weights, N_layer = 4·d² (c_attn + c_proj) + the MLP's
          d·h + h·d (h = 4·d), or 2·d·h + h·d when gated (h = round(8/3 · d));
          with grouped-query or multi-query attention the key and value
          projections shrink to 2·d·(n_kv · 16); with a mixture of experts only
          the active weights count: the router's d·E and top_k experts of hidden
          h / top_k each (so the same as the dense MLP when top_k divides h),
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
        C, L, V, T = c.n_embd, c.n_layer, c.vocab_size, c.context
        if c.mlp == "moe":  # active weights only: the router and the top_k experts a token visits
            mlp = C * c.n_expert + c.top_k * _mlp_matmul_params(c, components, c.mlp_hidden // c.top_k)
        else:
            mlp = _mlp_matmul_params(c, components, c.mlp_hidden)
        n_matmul = L * (_attention_matmul_params(c) + mlp) + C * V
        return float(6 * n_matmul + 12 * L * T * C)


def _check_width(width):
    if not isinstance(width, int) or width < HEAD_SIZE or width % HEAD_SIZE:
        raise ValueError(f"gpt width must be a positive multiple of {HEAD_SIZE}, got width={width!r}")


def _attention_matmul_params(c):
    """c_attn (queries, then keys and values for n_kv_head heads) and c_proj."""
    kv = c.n_kv_head * (c.n_embd // c.n_head)
    return c.n_embd * (c.n_embd + 2 * kv) + c.n_embd * c.n_embd


def _mlp_matmul_params(c, components, hidden):
    """c_fc and c_proj of one MLP of this hidden size (c_fc doubled for a gated activation)."""
    gated = components.get("activation", c.activation).gated
    return c.n_embd * (2 * hidden if gated else hidden) + hidden * c.n_embd




def _count_params(components, kind, name, *args):
    """Parameters of one component, built on the meta device (no memory, no init cost)."""
    cls = components.get(kind, name)
    with torch.device("meta"):
        module = cls(*args)
    return sum(p.numel() for p in module.parameters())


@hookimpl
def cegbench_register_components():
    return [Component("family", "gpt", GPTFamily(),
                      "decoder-only Transformer, depth = width/16, head size 16 (nanoGPT layout)")]
