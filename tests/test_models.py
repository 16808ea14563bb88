"""The reference model families: every switch builds and trains, parameters are counted exactly."""

import itertools
import math

import pytest
import torch
import torch.nn as nn

from cegbench import Recipe
from cegbench.components import Components
from cegbench.models import ModelFamily, gpt, lstm
from cegbench.models import layers as builtin

ACTIVATIONS = ("relu", "gelu", "swiglu")
NORMS = ("layernorm", "rmsnorm")
PLACEMENTS = ("pre", "post")
POSITIONS = ("learned", "sinusoidal", "rotary")
SWITCHES = list(itertools.product(ACTIVATIONS, NORMS, PLACEMENTS, POSITIONS))
VOCAB, CONTEXT = 101, 32


def make_components(*plugins):
    """A Components registry holding what the given plugin modules register."""
    components = Components()
    for plugin in plugins:
        for c in plugin.cegbench_register_components():
            components[c.kind].register(c.name, c.implementation, origin="test")
    return components


pytestmark = pytest.mark.usefixtures("one_thread")


def random_batch(batch_size=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(VOCAB, (batch_size, CONTEXT + 1), generator=g)
    return idx[:, :-1].contiguous(), idx[:, 1:].contiguous()


def n_built(model):
    return sum(p.numel() for p in model.parameters())  # shared (tied) tensors once

# -----------------------------------------------------------------------------
# registration


def test_builtin_components_are_registered(components):
    kinds = ("activation", "norm", "position", "attention_kernel", "family")
    names = {kind: list(components[kind]) for kind in kinds}
    assert names == {
        "activation": ["gelu", "relu", "relu-squared", "swiglu"],  # relu-squared: its plugin's
        "norm": ["layernorm", "rmsnorm"],
        "position": ["learned", "rotary", "sinusoidal"],
        "attention_kernel": ["fused", "plain"],
        "family": ["gpt", "lstm"],
    }
    assert components["activation"].origin("relu-squared") == "cegbench.plugins.relu_squared"
    for name in (*ACTIVATIONS, "relu-squared"):
        assert components.get("activation", name).gated == (name == "swiglu")
    for name in ("gpt", "lstm"):
        family = components.get("family", name)
        assert isinstance(family, ModelFamily) and family.name == name


def test_swiglu_halves_its_input(components):
    x = torch.randn(2, 3, 10)
    y = components.get("activation", "swiglu")()(x)
    a, b = x.chunk(2, dim=-1)
    assert y.shape == (2, 3, 5)
    torch.testing.assert_close(y, torch.nn.functional.silu(a) * b)


def test_positions_keep_shapes(components):
    x = torch.randn(2, 8, 32)
    q, k = torch.randn(2, 2, 8, 16), torch.randn(2, 2, 8, 16)
    for name in POSITIONS:
        position = components.get("position", name)(32, 2, 8)
        assert position.embed(x).shape == x.shape
        q2, k2 = position.rotate(q, k)
        assert q2.shape == q.shape and k2.shape == k.shape
        if name == "rotary":
            assert position.embed(x) is x
        else:
            assert q2 is q and k2 is k


def test_rotary_scores_depend_on_offset_only(components):
    rotary = components.get("position", "rotary")(16, 1, 8)
    q = torch.randn(16).expand(1, 1, 8, 16)  # the same query and key at every position
    k = torch.randn(16).expand(1, 1, 8, 16)
    q, k = rotary.rotate(q, k)
    scores = (q @ k.transpose(-2, -1))[0, 0]  # (T, T)
    torch.testing.assert_close(scores[3, 1], scores[6, 4])  # offset 2 both
    torch.testing.assert_close(scores.diagonal(), scores[0, 0].expand(8))
    assert not torch.allclose(scores[3, 1], scores[3, 2])

# -----------------------------------------------------------------------------
# the Transformer


@pytest.mark.parametrize("activation,norm,placement,position", SWITCHES)
def test_every_switch_combination_trains(components, activation, norm, placement, position):
    recipe = Recipe(activation=activation, norm=norm, norm_placement=placement, position=position)
    torch.manual_seed(0)
    model = components.get("family", "gpt").build(recipe, 32, VOCAB, CONTEXT, components)
    x, y = random_batch()
    logits, loss = model(x, y)
    assert logits.shape == (2, CONTEXT, VOCAB)
    assert abs(loss.item() - math.log(VOCAB)) < 0.1  # uniform predictions at init
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_no_targets_no_loss(components):
    model = components.get("family", "gpt").build(Recipe(), 16, VOCAB, CONTEXT, components)
    logits, loss = model(random_batch()[0])
    assert logits.shape == (2, CONTEXT, VOCAB) and loss is None


def test_norm_placement(components):
    family = components.get("family", "gpt")
    pre = family.build(Recipe(norm_placement="pre"), 16, VOCAB, CONTEXT, components)
    post = family.build(Recipe(norm_placement="post"), 16, VOCAB, CONTEXT, components)
    assert not isinstance(pre.transformer.ln_f, nn.Identity)
    assert isinstance(post.transformer.ln_f, nn.Identity)  # post-norm ends normalised already


@pytest.mark.parametrize("width,depth", [(16, 1), (32, 2), (64, 4), (256, 16)])
def test_shape_follows_width(components, width, depth):
    family = gpt.GPTFamily()
    config = family.config(Recipe(), width, VOCAB, CONTEXT, components)
    assert family.depth(width) == config.n_layer == depth
    assert config.n_head == width // 16 and config.n_embd // config.n_head == 16
    assert config.mlp_hidden == 4 * width
    assert family.config(Recipe(activation="swiglu"), width, VOCAB, CONTEXT, components).mlp_hidden == round(8 * width / 3)


@pytest.mark.parametrize("width", [0, 8, 24, 40, 100])
def test_width_must_be_a_multiple_of_16(components, width):
    family = components.get("family", "gpt")
    for call in (lambda: family.depth(width),
                 lambda: family.build(Recipe(), width, VOCAB, CONTEXT, components),
                 lambda: family.n_params(Recipe(), width, VOCAB, CONTEXT, components),
                 lambda: family.flops_per_token(Recipe(), width, VOCAB, CONTEXT, components)):
        with pytest.raises(ValueError, match=f"width={width}"):
            call()


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("tied", [True, False])
def test_gpt_n_params_is_exact(components, activation, tied):
    family = components.get("family", "gpt")
    for width, norm, placement, position in itertools.product(
            (16, 48), NORMS, PLACEMENTS, POSITIONS):
        recipe = Recipe(activation=activation, norm=norm, norm_placement=placement,
                        position=position, tied_embeddings=tied)
        model = family.build(recipe, width, VOCAB, CONTEXT, components)
        assert family.n_params(recipe, width, VOCAB, CONTEXT, components) == n_built(model), recipe


def test_tied_embeddings_share_one_matrix(components):
    family = components.get("family", "gpt")
    tied = family.build(Recipe(tied_embeddings=True), 16, VOCAB, CONTEXT, components)
    untied = family.build(Recipe(tied_embeddings=False), 16, VOCAB, CONTEXT, components)
    assert tied.lm_head.weight is tied.transformer.wte.weight
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    assert n_built(untied) - n_built(tied) == VOCAB * 16


@pytest.mark.parametrize("width", [16, 32, 64, 128, 256])
@pytest.mark.parametrize("tied", [True, False])
def test_swiglu_is_parameter_matched_to_gelu(components, width, tied):
    family = gpt.GPTFamily()
    gelu = family.n_params(Recipe(activation="gelu", tied_embeddings=tied), width, VOCAB, CONTEXT, components)
    swiglu = family.n_params(Recipe(activation="swiglu", tied_embeddings=tied), width, VOCAB, CONTEXT, components)
    assert abs(swiglu - gelu) / gelu < 0.02


def test_same_seed_same_logits(components):
    family = components.get("family", "gpt")
    recipe = Recipe(activation="swiglu", position="rotary", norm="rmsnorm")
    x, _ = random_batch()

    def logits(seed):
        torch.manual_seed(seed)
        return family.build(recipe, 32, VOCAB, CONTEXT, components)(x)[0]

    assert torch.equal(logits(1), logits(1))
    assert not torch.equal(logits(1), logits(2))


def test_residual_projections_get_the_scaled_init(components):
    torch.manual_seed(0)
    model = components.get("family", "gpt").build(Recipe(), 64, VOCAB, CONTEXT, components)
    n_layer = model.config.n_layer
    std = model.transformer.h[0].mlp.c_proj.weight.std().item()
    assert std == pytest.approx(0.02 / math.sqrt(2 * n_layer), rel=0.1)
    assert model.transformer.h[0].attn.c_attn.weight.std().item() == pytest.approx(0.02, rel=0.1)


@pytest.mark.parametrize("attention,mlp,qk_norm,kernel", list(itertools.product(
    ("mha", "gqa", "mqa"), ("dense", "moe"), (False, True), ("fused", "plain"))))
def test_attention_and_mlp_switches_train_and_count_exactly(components, attention, mlp, qk_norm, kernel):
    family = components.get("family", "gpt")
    for recipe in (Recipe(attention=attention, mlp=mlp, qk_norm=qk_norm, attention_kernel=kernel),
                   Recipe(attention=attention, mlp=mlp, qk_norm=qk_norm, attention_kernel=kernel,
                          activation="swiglu", norm="rmsnorm", position="rotary", tied_embeddings=False)):
        torch.manual_seed(0)
        model = family.build(recipe, 64, VOCAB, CONTEXT, components)
        assert family.n_params(recipe, 64, VOCAB, CONTEXT, components) == n_built(model), recipe
        assert model.transformer.h[0].attn.n_kv_head == {"mha": 4, "gqa": 2, "mqa": 1}[attention]
        logits, loss = model(*random_batch())
        assert logits.shape == (2, CONTEXT, VOCAB)
        assert abs(loss.item() - math.log(VOCAB)) < 0.1
        loss.backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (recipe, name)


@pytest.mark.parametrize("width,gqa", [(16, 1), (32, 1), (64, 2), (128, 4), (256, 8)])
def test_key_value_heads(width, gqa):
    n_head = width // 16
    assert [gpt.kv_heads(kind, n_head) for kind in ("mha", "gqa", "mqa")] == [n_head, gqa, 1]


@pytest.mark.parametrize("width", [16, 32, 48, 64])
def test_recipes_trained_alike_build_the_same_model(components, width):
    """``as_trained`` names one model for attention kinds exactly when they build it: the
    same seed then gives the same weights, so their runs can train once."""
    family = components.get("family", "gpt")
    kinds = ("mha", "gqa", "mqa")
    built = {}
    for kind in kinds:
        torch.manual_seed(0)
        built[kind] = family.build(Recipe(attention=kind), width, VOCAB, CONTEXT, components).state_dict()
    for a, b in itertools.combinations(kinds, 2):
        alike = family.as_trained(Recipe(attention=a), width) == family.as_trained(Recipe(attention=b), width)
        same = built[a].keys() == built[b].keys() and all(torch.equal(built[a][k], built[b][k]) for k in built[a])
        assert alike == same, (width, a, b)
    assert family.as_trained(Recipe(attention="gqa"), width).attention == {16: "mha", 32: "mqa", 48: "mqa",
                                                                           64: "gqa"}[width]


def test_plain_and_fused_attention_compute_the_same(components):
    family = components.get("family", "gpt")
    x, y = random_batch()
    outputs = []
    for kernel in ("fused", "plain"):
        torch.manual_seed(0)  # kernels have no parameters: the same seed gives the same weights
        model = family.build(Recipe(attention_kernel=kernel, position="rotary"), 32, VOCAB, CONTEXT, components)
        logits, loss = model(x, y)
        loss.backward()
        outputs.append((logits, model.transformer.h[0].attn.c_attn.weight.grad))
    (fused, fused_grad), (plain, plain_grad) = outputs
    torch.testing.assert_close(plain, fused)
    torch.testing.assert_close(plain_grad, fused_grad)


def test_grouped_query_attention_shares_keys_and_values(components):
    """A GQA model equals the MHA model whose key/value heads repeat each shared head."""
    family = components.get("family", "gpt")
    torch.manual_seed(0)
    gqa = family.build(Recipe(attention="gqa"), 64, VOCAB, CONTEXT, components)
    mha = family.build(Recipe(attention="mha"), 64, VOCAB, CONTEXT, components)
    state = gqa.state_dict()

    def repeat(w):  # (2 heads × 16, 64) -> (4 heads × 16, 64), each head twice in a row
        return w.view(2, 16, 64).repeat_interleave(2, dim=0).reshape(64, 64)

    for i, block in enumerate(gqa.transformer.h):
        q, k, v = block.attn.c_attn.weight.split((64, 32, 32))  # 4 query heads, 2 key/value heads
        state[f"transformer.h.{i}.attn.c_attn.weight"] = torch.cat((q, repeat(k), repeat(v)))
    mha.load_state_dict(state)
    x, _ = random_batch()
    torch.testing.assert_close(mha(x)[0], gqa(x)[0])


def test_mixture_of_experts_mixes_the_top_experts_of_each_token(components):
    """The grouped dispatch gives what a token-by-token loop over the chosen experts gives."""
    torch.manual_seed(0)
    model = components.get("family", "gpt").build(Recipe(mlp="moe"), 32, VOCAB, CONTEXT, components)
    moe = model.transformer.h[0].mlp
    assert isinstance(moe, gpt.MoE) and (moe.n_expert, moe.top_k) == (4, 2)
    assert moe.experts[0].c_fc.out_features == 2 * 32  # hidden 4·32 / top_k
    x = torch.randn(2, 5, 32)
    expected = torch.zeros(10, 32)
    for n, token in enumerate(x.view(10, 32)):
        weights, chosen = torch.softmax(moe.router(token), dim=-1).topk(2)
        for w, e in zip(weights / weights.sum(), chosen):
            expected[n] += w * moe.experts[e](token)
    torch.testing.assert_close(moe(x), expected.view(2, 5, 32))
    assert moe.aux_loss.item() >= 1.0 - 1e-6  # E·Σ share·mean prob is ≥ 1, = 1 when balanced


def test_mixture_of_experts_balancing_loss_trains_but_is_not_evaluated(components):
    torch.manual_seed(0)
    model = components.get("family", "gpt").build(Recipe(mlp="moe"), 32, VOCAB, CONTEXT, components)
    x, y = random_batch()
    train_loss = model(x, y)[1]
    aux = sum(block.mlp.aux_loss for block in model.transformer.h)
    model.eval()
    eval_loss = model(x, y)[1]
    torch.testing.assert_close(train_loss, eval_loss + gpt.MOE_AUX_WEIGHT * aux)


def test_moe_has_the_active_parameters_of_the_dense_mlp(components):
    family = gpt.GPTFamily()
    dense = family.n_params(Recipe(), 64, VOCAB, CONTEXT, components)
    moe = family.n_params(Recipe(mlp="moe"), 64, VOCAB, CONTEXT, components)
    layers, mlp = 4, 2 * 64 * 256
    router, experts = 64 * 4, 4 * (2 * 64 * 128)
    assert moe - dense == layers * (router + experts - mlp)  # 2 of 4 half-size experts are active


class SquaredReLU(nn.Module):
    """A component a plugin might register (Primer, So et al. 2021)."""

    gated = False

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))  # a parameter, to check it is counted

    def forward(self, x):
        return self.scale * torch.relu(x) ** 2


def test_plugin_component_is_found_by_name():
    components = make_components(builtin, gpt, lstm)
    components["activation"].register("squared-relu", SquaredReLU, origin="test")
    recipe = Recipe(activation="squared-relu")
    family = components.get("family", "gpt")
    model = family.build(recipe, 32, VOCAB, CONTEXT, components)
    assert isinstance(model.transformer.h[0].mlp.act, SquaredReLU)
    assert family.n_params(recipe, 32, VOCAB, CONTEXT, components) == n_built(model)
    _, loss = model(*random_batch())
    loss.backward()

# -----------------------------------------------------------------------------
# the LSTM


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("width", [16, 24, 64])
def test_lstm_trains_and_counts_its_parameters(components, tied, width):
    family = components.get("family", "lstm")
    recipe = Recipe(family="lstm", tied_embeddings=tied)
    torch.manual_seed(0)
    model = family.build(recipe, width, VOCAB, CONTEXT, components)
    assert family.depth(width) == 1 and model.lstm.num_layers == 1
    assert family.n_params(recipe, width, VOCAB, CONTEXT, components) == n_built(model)
    assert (model.lm_head.weight is model.wte.weight) == tied
    logits, loss = model(*random_batch())
    assert logits.shape == (2, CONTEXT, VOCAB)
    assert abs(loss.item() - math.log(VOCAB)) < 0.1
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_lstm_state_starts_at_zero_for_every_sequence(components):
    model = components.get("family", "lstm").build(Recipe(family="lstm"), 16, VOCAB, CONTEXT, components)
    x, _ = random_batch(batch_size=3)
    together = model(x)[0]
    for i in range(3):  # each sequence alone gives the same logits: nothing carried over
        torch.testing.assert_close(model(x[i:i + 1])[0], together[i:i + 1])


def test_lstm_ignores_transformer_switches(components):
    family = components.get("family", "lstm")
    plain = Recipe(family="lstm")
    switched = Recipe(family="lstm", activation="swiglu", norm="rmsnorm",
                      norm_placement="post", position="rotary")
    assert family.n_params(plain, 32, VOCAB, CONTEXT, components) == family.n_params(switched, 32, VOCAB, CONTEXT, components)
    assert family.flops_per_token(plain, 32, VOCAB, CONTEXT, components) == family.flops_per_token(switched, 32, VOCAB, CONTEXT, components)
    torch.manual_seed(0)
    a = family.build(plain, 32, VOCAB, CONTEXT, components)(random_batch()[0])[0]
    torch.manual_seed(0)
    b = family.build(switched, 32, VOCAB, CONTEXT, components)(random_batch()[0])[0]
    assert torch.equal(a, b)
