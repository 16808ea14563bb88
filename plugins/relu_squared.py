"""GeLU → ReLU²: a new activation, registered by this plugin, and the innovation using it."""

import torch
from torch import nn

from cegbench import Component, Innovation, Recipe, hookimpl


class ReLUSquared(nn.Module):
    """relu(x)², as in Primer (So et al. 2021) and the modded-nanogpt records."""

    gated = False  # takes and returns the MLP's hidden width

    def forward(self, x):
        return torch.relu(x).square()


@hookimpl
def cegbench_register_components():
    return [Component("activation", "relu-squared", ReLUSquared, "relu(x)² (So et al. 2021)")]


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="gelu-to-relu-squared",
            title="GeLU → ReLU²",
            category="architecture",
            year=2021,
            paper="https://arxiv.org/abs/2109.08668",
            description=(
                "Replaces the MLP's GeLU with the square of a ReLU, the activation Primer's "
                "architecture search found and the modded-nanogpt speed runs adopted. It is "
                "as cheap as ReLU, zero for negative inputs and grows quadratically for "
                "positive ones. Parameters and FLOPs are unchanged."
            ),
            baseline=Recipe(activation="gelu"),
            modern=Recipe(activation="relu-squared"),
            expected="scale-invariant",
        )
    ]
