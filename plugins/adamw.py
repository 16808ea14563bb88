"""SGD with momentum → AdamW."""

from cegbench import Innovation, Recipe, hookimpl


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="sgd-to-adamw",
            title="SGD with momentum → AdamW",
            category="optimizer",
            year=2017,
            paper="https://arxiv.org/abs/1711.05101",
            description=(
                "Trains the same Transformer with AdamW (per-parameter adaptive step sizes "
                "and decoupled weight decay) instead of SGD with momentum. Each optimizer "
                "uses its own base learning rate under the tier's width rule."
            ),
            baseline=Recipe(optimizer="sgd"),
            modern=Recipe(optimizer="adamw"),
            expected="scale-invariant",
        )
    ]
