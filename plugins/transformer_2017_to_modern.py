"""The 2017 Transformer recipe → a modern (Llama-style) recipe: a bundle of six ideas."""

from cegbench import Innovation, Recipe, hookimpl


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="transformer-2017-to-modern",
            title="2017 Transformer → modern Transformer",
            category="architecture",
            year=2023,
            paper="https://arxiv.org/abs/2302.13971",
            description=(
                "Changes six things at once, from the recipe of Vaswani et al. 2017 (post-"
                "LayerNorm, GeLU MLP, sinusoidal positions, Adam, warm-up then inverse-"
                "square-root decay) to the one Llama popularised (pre-RMSNorm, SwiGLU MLP, "
                "rotary positions, AdamW, warm-up then cosine decay). Its parts are measured "
                "on their own too, so its gain can be compared with the product of theirs."
            ),
            baseline=Recipe(norm="layernorm", norm_placement="post", activation="gelu",
                            position="sinusoidal", optimizer="adam", schedule="inverse-sqrt"),
            modern=Recipe(norm="rmsnorm", norm_placement="pre", activation="swiglu",
                          position="rotary", optimizer="adamw", schedule="cosine"),
            expected="scale-invariant",
            parts=("post-norm-to-pre-norm", "layernorm-to-rmsnorm", "gelu-to-swiglu",
                   "sinusoidal-to-rope", "adam-to-adamw", "inverse-sqrt-to-cosine"),
        )
    ]
