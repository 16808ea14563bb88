"""A complete third-party cegbench plugin.

It registers a component cegbench does not have (the ReLU² activation) and an
innovation that uses it. Installed with pip, it is found through the
``cegbench`` entry-point group declared in ``pyproject.toml``.
"""

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
    return [Component("activation", "relu-squared", ReLUSquared, "relu(x)²")]


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="gelu-to-relu-squared",
            title="GeLU → ReLU²",
            category="architecture",
            year=2021,
            paper="https://arxiv.org/abs/2109.08668",
            description="Replaces the MLP's GeLU with the square of a ReLU, found by Primer's search.",
            baseline=Recipe(activation="gelu"),
            modern=Recipe(activation="relu-squared"),
        )
    ]
