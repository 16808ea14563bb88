"""Declarations a plugin makes: ``Recipe`` (one arm), ``Innovation`` (a pair of
arms with metadata) and ``Component`` (a new building block), and their checks.

pluggy never looks at what a hook returns, so every field is checked here and
an error names the plugin, the declaration and the field at fault.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from cegbench.hashing import content_hash
from cegbench.literature import Finding, LiteratureError, unencodable, validate_finding

ARMS = ("baseline", "modern")  # the two sides of every innovation, in this order

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
CATEGORIES = ("architecture", "optimizer", "schedule", "allocation", "systems", "data")
LABELS = ("scale-invariant", "scale-dependent", "inconclusive")
NORM_PLACEMENTS = ("pre", "post")
ATTENTIONS = ("mha", "gqa", "mqa")
MLPS = ("dense", "moe")
BOOL_FIELDS = ("tied_embeddings", "qk_norm")


class DeclarationError(ValueError):
    """A plugin declared something invalid; the message names plugin and field."""


@dataclass(frozen=True)
class Recipe:
    """One arm of an innovation: everything that decides how a model is trained.

    Each string field names a component of the same kind (see
    ``cegbench.components.KINDS``); plugins may register new ones.
    """

    family: str = "gpt"  # model family: "gpt" (decoder-only Transformer) or "lstm"
    activation: str = "gelu"  # MLP non-linearity: "relu", "gelu", "swiglu" (gated)
    norm: str = "layernorm"  # "layernorm" or "rmsnorm"
    norm_placement: str = "pre"  # "pre": x + f(norm(x)); "post": norm(x + f(x))
    position: str = "learned"  # "learned", "sinusoidal", "rotary"
    optimizer: str = "adamw"  # "sgd" (with momentum), "adam", "adamw"
    schedule: str = "cosine"  # learning-rate multiplier over training, see cegbench.optim
    allocation: str = "isoflop"  # how a budget is split into model sizes, see cegbench.allocation
    tied_embeddings: bool = True  # share the input embedding with the output head
    attention: str = "mha"  # key/value heads: "mha" (one per query head), "gqa" (shared), "mqa" (one)
    attention_kernel: str = "fused"  # how softmax(q·kᵀ/√d)·v is computed: "fused" (SDPA), "plain"
    mlp: str = "dense"  # "dense" MLP or "moe" (mixture of experts, top-k routed)
    qk_norm: bool = False  # normalise queries and keys (per head) before the scores

    def component_fields(self) -> dict[str, str]:
        """The fields that name components, keyed by component kind."""
        return {kind: getattr(self, kind) for kind in RECIPE_COMPONENT_FIELDS}

    def differences(self, other: Recipe) -> dict[str, tuple]:
        """Fields where ``self`` and ``other`` differ, as (self, other) pairs."""
        return {
            f.name: (getattr(self, f.name), getattr(other, f.name))
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        }


RECIPE_COMPONENT_FIELDS = (
    "family", "activation", "norm", "position", "optimizer", "schedule", "allocation",
    "attention_kernel",
)


@dataclass(frozen=True)
class Innovation:
    """A named baseline/modern pair that differs in one idea."""

    name: str  # slug used on the command line and in URLs, e.g. "gelu-to-swiglu"
    title: str  # human title, e.g. "GeLU → SwiGLU"
    category: str  # one of CATEGORIES
    year: int  # year the modern idea was published
    paper: str  # URL of the paper that introduced the modern idea
    description: str  # one paragraph in plain words
    baseline: Recipe
    modern: Recipe
    expected: str | None = None  # the class the literature expects (display only, never used)
    parts: tuple[str, ...] = ()  # for a bundle: names of the innovations it combines
    # what published work measured (cegbench.literature.Finding); display only, never hashed
    literature: tuple[Finding, ...] = ()
    plugin: str = field(default="", compare=False)  # filled in by the loader

    def declaration_hash(self) -> str:
        """A stable hash of everything declared, so changed declarations never mix."""
        data = dataclasses.asdict(self)
        data.pop("plugin")
        data.pop("literature")  # citations are not part of what is measured
        return content_hash(data, 16)

    def recipe(self, arm: str) -> Recipe:
        if arm not in ARMS:
            raise ValueError(f"arm must be 'baseline' or 'modern', not {arm!r}")
        return getattr(self, arm)


@dataclass(frozen=True)
class Component:
    """A building block a recipe can name (see docs/plugins.md for each kind's contract)."""

    kind: str  # one of cegbench.components.KINDS
    name: str  # the name recipes use
    implementation: object  # class or object honouring the kind's contract
    description: str = ""
    plugin: str = field(default="", compare=False)  # filled in by the loader


def _check_type(where: str, name: str, value, expected) -> None:
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        names = expected.__name__ if isinstance(expected, type) else " or ".join(
            t.__name__ for t in expected
        )
        raise DeclarationError(
            f"{where}: field '{name}' must be {names}, got {type(value).__name__} {value!r}"
        )
    if isinstance(value, str) and (problem := unencodable(value)):
        raise DeclarationError(f"{where}: field '{name}' {problem}")


def validate_recipe(where: str, recipe) -> None:
    if not isinstance(recipe, Recipe):
        raise DeclarationError(f"{where} must be a cegbench.Recipe, got {type(recipe).__name__}")
    for f in dataclasses.fields(Recipe):
        value = getattr(recipe, f.name)
        _check_type(where, f.name, value, bool if f.name in BOOL_FIELDS else str)
    for name, allowed in (("norm_placement", NORM_PLACEMENTS), ("attention", ATTENTIONS), ("mlp", MLPS)):
        if getattr(recipe, name) not in allowed:
            raise DeclarationError(
                f"{where}: field {name!r} must be one of {allowed}, got {getattr(recipe, name)!r}"
            )


def validate_innovation(plugin: str, innovation) -> None:
    """Check one declared innovation's types and values (not its component names)."""
    if not isinstance(innovation, Innovation):
        raise DeclarationError(
            f"plugin {plugin!r}: cegbench_register_innovations must return "
            f"cegbench.Innovation objects, got {type(innovation).__name__} {innovation!r:.80}"
        )
    where = f"plugin {plugin!r}, innovation {innovation.name!r}"
    for name in ("name", "title", "category", "paper", "description"):
        _check_type(where, name, getattr(innovation, name), str)
        if not getattr(innovation, name).strip():
            raise DeclarationError(f"{where}: field '{name}' is empty")
    if not SLUG.match(innovation.name):
        raise DeclarationError(
            f"{where}: field 'name' must be a slug of 2-63 lowercase letters, digits and "
            f"hyphens, got {innovation.name!r}"
        )
    if innovation.category not in CATEGORIES:
        raise DeclarationError(
            f"{where}: field 'category' must be one of {', '.join(CATEGORIES)}; "
            f"got {innovation.category!r}"
        )
    _check_type(where, "year", innovation.year, int)
    if not 1950 <= innovation.year <= 2100:
        raise DeclarationError(f"{where}: field 'year' out of range: {innovation.year}")
    if not innovation.paper.startswith(("https://", "http://")):
        raise DeclarationError(f"{where}: field 'paper' must be an http(s) URL, got {innovation.paper!r}")
    if innovation.expected is not None and innovation.expected not in LABELS:
        raise DeclarationError(
            f"{where}: field 'expected' must be None or one of {', '.join(LABELS)}; "
            f"got {innovation.expected!r}"
        )
    _check_type(where, "parts", innovation.parts, tuple)
    for part in innovation.parts:
        _check_type(where, "parts", part, str)
    _check_type(where, "literature", innovation.literature, tuple)
    for index, finding in enumerate(innovation.literature):
        try:
            validate_finding(finding)
        except LiteratureError as error:
            raise DeclarationError(f"{where}: field 'literature'[{index}]: {error}") from None
    validate_recipe(f"{where}, arm 'baseline'", innovation.baseline)
    validate_recipe(f"{where}, arm 'modern'", innovation.modern)
    if innovation.baseline == innovation.modern:
        raise DeclarationError(
            f"{where}: fields 'baseline' and 'modern' are identical recipes; an innovation "
            "must change at least one field"
        )
