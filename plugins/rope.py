"""Absolute positions (sinusoidal or learned) → rotary position embeddings."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import gundlach_ablation, sanderson

ROPE = "https://arxiv.org/abs/2104.09864"


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="sinusoidal-to-rope",
            title="Sinusoidal positions → RoPE",
            category="architecture",
            year=2021,
            paper=ROPE,
            description=(
                "Replaces the fixed sine/cosine table added to the token embeddings (Vaswani "
                "et al. 2017) with rotary embeddings: each query and key is rotated by an "
                "angle proportional to its position, so attention scores depend only on how "
                "far apart two tokens are. Neither arm has position parameters."
            ),
            baseline=Recipe(position="sinusoidal"),
            modern=Recipe(position="rotary"),
            expected="scale-invariant",
            literature=(gundlach_ablation(1.44),),
        ),
        Innovation(
            name="learned-to-rope",
            title="Learned positions → RoPE",
            category="architecture",
            year=2021,
            paper=ROPE,
            description=(
                "Replaces GPT-2's trained table of position vectors, added to the token "
                "embeddings, with rotary embeddings, which rotate queries and keys by an "
                "angle proportional to their position. The table's context × width "
                "parameters disappear; the FLOPs are the same."
            ),
            baseline=Recipe(position="learned"),
            modern=Recipe(position="rotary"),
            expected="scale-invariant",
            literature=(gundlach_ablation(1.26), *sanderson(
                1.87, 1.35, "RoPE replaces learned positions in a baseline without per-block LayerNorm")),
        ),
    ]
