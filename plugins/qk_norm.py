"""QK-norm: normalise queries and keys before the attention scores."""

from cegbench import Innovation, Recipe, hookimpl


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="qk-norm",
            title="QK-norm",
            category="architecture",
            year=2020,
            paper="https://arxiv.org/abs/2010.04245",
            description=(
                "Normalises each head's query and key vectors (with the model's norm, over "
                "the head dimension) before their dot products, so attention scores cannot "
                "grow without bound and the softmax does not saturate. Used in ViT-22B, "
                "OLMo 2 and the modded-nanogpt speed runs; it adds a few gain parameters "
                "and no matrix FLOPs."
            ),
            baseline=Recipe(qk_norm=False),
            modern=Recipe(qk_norm=True),
            expected="scale-invariant",
        )
    ]
