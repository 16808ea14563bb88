"""LSTM → Transformer: the change of model family."""

from cegbench import Innovation, Recipe, hookimpl


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="lstm-to-transformer",
            title="LSTM → Transformer",
            category="architecture",
            year=2017,
            paper="https://arxiv.org/abs/1706.03762",
            description=(
                "Replaces a one-layer LSTM language model with a modern decoder-only "
                "Transformer of the same width, trained with the same optimizer, schedule "
                "and budgets. The reference work found this gain grows with compute."
            ),
            baseline=Recipe(family="lstm"),
            modern=Recipe(family="gpt", norm="rmsnorm", activation="swiglu", position="rotary"),
            expected="scale-dependent",
        )
    ]
