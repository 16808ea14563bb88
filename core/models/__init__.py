"""Reference model families: a switchable decoder-only Transformer (``gpt``) and an
LSTM language model (``lstm``).

A family turns a recipe and a width into a model, and says analytically how many
parameters it has and how many training FLOPs it spends per token. The analytic
numbers are what allocation and budgets use; ``cegbench.flops.check_flops``
cross-checks them against a measured count.

This module stays import-light (no torch): the families live in ``gpt.py`` and
``lstm.py`` and register themselves through ``cegbench_register_components``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from cegbench.components import Components
    from cegbench.innovations import Recipe


class ModelFamily:
    """A model family: builds models for a recipe and width, and counts their compute.

    Subclasses set ``name`` and implement the four methods; ``as_trained`` is optional.
    ``components`` (the loaded catalogue's) is how a family finds a recipe's components
    by name, built-in or registered by a plugin: their parameters counted, ``gated`` read.
    """

    name: str = ""

    def depth(self, width: int) -> int:
        """Number of layers of the model of this width."""
        raise NotImplementedError

    def build(self, recipe: Recipe, width: int, vocab_size: int, context: int,
              components: Components) -> nn.Module:
        """A freshly initialised model; ``model(idx, targets) -> (logits, loss)``."""
        raise NotImplementedError

    def n_params(self, recipe: Recipe, width: int, vocab_size: int, context: int,
                 components: Components) -> int:
        """Parameter count, analytic; equals the built model's count exactly."""
        raise NotImplementedError

    def flops_per_token(self, recipe: Recipe, width: int, vocab_size: int, context: int,
                        components: Components) -> float:
        """Analytic training FLOPs (forward + backward) per token."""
        raise NotImplementedError

    def as_trained(self, recipe: Recipe, width: int) -> Recipe:
        """``recipe`` as the model of ``width`` has it: recipes that build the same model
        at this width give the same recipe here, so their runs train once
        (``cegbench.plan.specs.training_id``). By default the recipe itself; a family whose
        models ignore a field at some widths names the one model they build."""
        return recipe

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
