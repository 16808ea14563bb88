"""The 2017 Transformer recipe → a modern (Llama-style) recipe: a bundle of six ideas."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import gundlach_ablation


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
            literature=(gundlach_ablation(
                1.33, label="scale-invariant",
                note=("all tweaks together; the parts' ablation CEGs multiply to 3.43: they do not "
                      "compose. The class is from the paper's scaling fits: α 0.091 (2017) vs "
                      "0.094 (modern) over 1e16–5e17 FLOPs, treated as scale-invariant")),),
        )
    ]
