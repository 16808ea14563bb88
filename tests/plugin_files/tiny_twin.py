"""A test plugin to load beside ``tiny_sweep.py``: an innovation whose baseline is
``tiny-sweep``'s baseline recipe, so the two share those trainings (``cegbench.sweep.run``)."""

from cegbench import Innovation, Recipe, hookimpl


@hookimpl
def cegbench_register_innovations():
    return [Innovation(
        name="tiny-twin", title="Tiny twin (test)", category="architecture", year=2016,
        paper="https://arxiv.org/abs/1606.08415",
        description="A test innovation sharing tiny-sweep's baseline: 8 short runs.",
        baseline=Recipe(activation="relu", allocation="smallest-width-two-budgets"),
        modern=Recipe(activation="gelu", allocation="smallest-width-two-budgets"))]
