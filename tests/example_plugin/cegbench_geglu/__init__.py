"""A complete third-party cegbench plugin.

It registers a component cegbench does not have (the GeGLU activation) and an
innovation that uses it. Installed with pip, it is found through the
``cegbench`` entry-point group declared in ``pyproject.toml``.
"""

from torch import nn
from torch.nn import functional as F

from cegbench import Component, Innovation, Recipe, hookimpl


class GeGLU(nn.Module):
    """gelu(a)·b, a gated unit (Shazeer 2020): the MLP gives it 2 × hidden channels."""

    gated = True  # input: a value half and a gate half; output: the hidden width

    def forward(self, x):
        a, b = x.chunk(2, dim=-1)
        return F.gelu(a) * b


@hookimpl
def cegbench_register_components():
    return [Component("activation", "geglu", GeGLU, "gelu(a)·b, gated")]


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="gelu-to-geglu",
            title="GeLU → GeGLU",
            category="architecture",
            year=2020,
            paper="https://arxiv.org/abs/2002.05202",
            description="Replaces the MLP's GeLU with GeGLU: one projection, through GeLU, gates another.",
            baseline=Recipe(activation="gelu"),
            modern=Recipe(activation="geglu"),
        )
    ]
