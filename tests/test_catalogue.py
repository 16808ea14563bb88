"""Every innovation in the loaded catalogue, built-in or not: its two arms differ only in the
declared way, both arms train, and docs/catalogue.md is the page the declarations generate.

"Only in the declared way" is checked on the built models at one width:

- structure: every module whose type, parameter shapes or weight sharing differs between
  the arms belongs to a part of the model (attention, MLP, norms, position, embeddings)
  that one of the declared fields may change (``FIELD_PARTS``);
- parameter counts and measured FLOPs per token: equal, except for the exact difference
  the declaration implies (fewer key/value heads, an untied head) and, for fields that
  move them a little by design, a stated relative tolerance (``PARAM_TOLERANCE``,
  ``FLOP_TOLERANCE``): LayerNorm biases, a final norm, QK-norm gains, a learned position
  table, SwiGLU's rounded hidden size, the MoE router. A mixture of experts is compared on
  its *active* parameters, those a token uses.

A change of model family (LSTM → Transformer) changes everything by design and is only
trained. A recipe field missing from ``FIELD_PARTS`` fails the test: a new field must say
what it may change.
"""

import dataclasses
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cegbench.catalog import listing
from cegbench.catalog.plugin_manager import load_catalog
from cegbench.cli.main import cli
from cegbench.data.names import VOCAB_SIZE
from cegbench.flops import measure_flops_per_token
from cegbench.innovations import Recipe
from cegbench.models.gpt import MoE
from cegbench.plan.specs import RunSpec
from cegbench.train.trainer import run

WIDTH, VOCAB, CONTEXT = 64, 97, 32
CATALOGUE_PAGE = Path(__file__).parent.parent / "docs" / "catalogue.md"

# the parts of a Transformer each recipe field may change; training-only fields change none
FIELD_PARTS = {
    "activation": {"mlp"},
    "norm": {"norm", "attention"},  # QK-norm uses the recipe's norm
    "norm_placement": {"norm"},  # the final norm exists only with pre-norm
    "position": {"position"},
    "tied_embeddings": {"embeddings"},
    "attention": {"attention"},
    "attention_kernel": {"attention"},
    "qk_norm": {"attention"},
    "mlp": {"mlp"},
    "optimizer": set(),
    "schedule": set(),
    "allocation": set(),
}
# relative changes of the parameter count / FLOPs a field may make on its own (else 0)
PARAM_TOLERANCE = {"activation": 0.02, "norm": 0.02, "norm_placement": 0.02, "position": 0.02,
                   "qk_norm": 0.02, "mlp": 0.02}
FLOP_TOLERANCE = {"activation": 0.02, "mlp": 0.02}

pytestmark = pytest.mark.usefixtures("one_thread")

CATALOG = load_catalog()  # conftest turns entry-point plugins off
NAMES = list(CATALOG.innovations)


def test_every_recipe_field_says_what_it_changes():
    assert set(FIELD_PARTS) | {"family"} == {f.name for f in dataclasses.fields(Recipe)}


def part(module_name):
    for marker, name in ((".attn", "attention"), (".mlp", "mlp"), ("ln_", "norm"),
                         ("transformer.pos", "position"), ("wte", "embeddings"), ("lm_head", "embeddings")):
        if marker in module_name:
            return name
    return "container"


def structure(model):
    """Module name → (type, direct parameters with shapes and the name of their first owner)."""
    owner = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        owner.setdefault(id(p), name)
    return {
        name: (type(module).__name__,
               tuple((n, tuple(p.shape), owner[id(p)]) for n, p in module.named_parameters(recurse=False)))
        for name, module in model.named_modules()
    }


def active_params(model):
    """Parameters a token uses: a mixture of experts counts only top_k of its experts."""
    total = sum(p.numel() for p in model.parameters())
    for module in model.modules():
        if isinstance(module, MoE):
            per_expert = sum(p.numel() for p in module.experts[0].parameters())
            total -= (module.n_expert - module.top_k) * per_expert
    return total


def kv_projection(model):
    """Weights of the key and value projections, all layers."""
    return sum(2 * WIDTH * block.attn.kv_size for block in model.transformer.h)


def exact_difference(fields, a, b, per_weight):
    """The difference (b - a) the declared fields imply exactly, ``per_weight`` per weight."""
    difference = 0
    if "attention" in fields:  # fewer key/value heads: smaller projections, fewer matmul FLOPs
        difference += per_weight * (kv_projection(b) - kv_projection(a))
    return difference


@pytest.mark.parametrize("name", NAMES)
def test_arms_differ_only_in_the_declared_way(name):
    innovation = CATALOG.innovations.get(name)
    fields = innovation.baseline.differences(innovation.modern)
    if "family" in fields:
        pytest.skip("a change of model family changes every part by design; trained below")
    family = CATALOG.components.get("family", innovation.baseline.family)
    models = {}
    for arm in ("baseline", "modern"):
        torch.manual_seed(0)
        models[arm] = family.build(innovation.recipe(arm), WIDTH, VOCAB, CONTEXT, CATALOG.components)
    a, b = models["baseline"], models["modern"]

    sa, sb = structure(a), structure(b)
    changed = {part(m) for m in sa.keys() | sb.keys() if sa.get(m) != sb.get(m)}
    allowed = set().union(*(FIELD_PARTS[f] for f in fields))
    assert changed <= allowed, f"{name}: {sorted(changed - allowed)} changed, but it declares {sorted(fields)}"
    model_fields = {f for f in fields if FIELD_PARTS[f]}
    assert bool(changed) == bool(model_fields), f"{name}: declares {sorted(model_fields)}, changes {changed}"

    tolerance = max((PARAM_TOLERANCE.get(f, 0.0) for f in fields), default=0.0)
    na, nb = active_params(a), active_params(b)
    expected = exact_difference(fields, a, b, 1)
    if "tied_embeddings" in fields:  # a separate head matrix (or one fewer)
        expected += VOCAB * WIDTH * (innovation.baseline.tied_embeddings - innovation.modern.tied_embeddings)
    assert abs(nb - na - expected) <= tolerance * na, (name, na, nb, expected)

    tolerance = max((FLOP_TOLERANCE.get(f, 0.0) for f in fields), default=0.0)
    fa = measure_flops_per_token(a, VOCAB, CONTEXT).per_token
    fb = measure_flops_per_token(b, VOCAB, CONTEXT).per_token
    expected = exact_difference(fields, a, b, 6)  # 6 FLOPs per weight per token, training
    assert abs(fb - fa - expected) <= tolerance * fa + 1e-9 * fa, (name, fa, fb, expected)


@pytest.mark.parametrize("name", NAMES)
def test_both_arms_train(name):
    """A few steps of each arm through the real trainer, FLOP check included."""
    innovation = CATALOG.innovations.get(name)
    for arm in ("baseline", "modern"):
        recipe = innovation.recipe(arm)
        family = CATALOG.components.get("family", recipe.family)
        budget = 3 * family.flops_per_token(recipe, 32, VOCAB_SIZE, 16, CATALOG.components) * 4 * 16
        spec = RunSpec(
            innovation=name, arm=arm, recipe=recipe, declaration_hash=innovation.declaration_hash(),
            tier="test", tier_version=1, dataset="synthetic", budget=budget, width=32, seed=0,
            context=16, batch_size=4,
            learning_rate=CATALOG.components.get("optimizer", recipe.optimizer).base_lr,
            eval_points=1, eval_tokens=256, max_loss=8.0,
        )
        result = run(spec, CATALOG.components)
        assert result.status == "ok", f"{name}, {arm}: {result.error}"
        assert result.steps == 3 and result.final_loss is not None


def test_catalogue_page_is_up_to_date():
    result = CliRunner().invoke(cli, ["list", "--markdown"], catch_exceptions=False)
    assert result.exit_code == 0
    assert CATALOGUE_PAGE.read_text() == result.output, (
        f"docs/catalogue.md is out of date: run `{listing.MARKDOWN_COMMAND}`")


def test_catalogue_page_shows_every_innovation_and_its_metadata():
    page = CATALOGUE_PAGE.read_text()
    for innovation in map(CATALOG.innovations.get, NAMES):
        assert f"### {innovation.name}" in page
        for text in (innovation.title, innovation.paper, innovation.description, str(innovation.year)):
            assert text in page, (innovation.name, text)
        for part_name in innovation.parts:
            assert part_name in page


def test_list_shows_complete_metadata():
    output = CliRunner().invoke(cli, ["list"], catch_exceptions=False).output
    lines = {line.split()[0]: line for line in output.splitlines()}
    assert set(lines) == set(NAMES)
    for innovation in map(CATALOG.innovations.get, NAMES):
        line = lines[innovation.name]
        for text in (innovation.category, str(innovation.year), innovation.expected or "—",
                     innovation.title, innovation.paper, listing.changes(innovation)):
            assert text in line, (innovation.name, text)
