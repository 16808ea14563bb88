"""LSTM → Transformer: the change of model family."""

from cegbench import Finding, Innovation, Recipe, hookimpl
from cegbench.plugins._references import GUNDLACH, GUNDLACH_URL, gundlach_ablation


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
            literature=(
                gundlach_ablation(
                    6.28, label="scale-dependent",
                    note="CEG at that scale; the class is from the paper's scaling fits (next row)"),
                Finding(
                    source=GUNDLACH, url=GUNDLACH_URL, ceg=(6.0, 47.0), flops=(1e15, 1e17),
                    label="scale-dependent",
                    scale=("scaling fits of loss − 1.9 = A·C^−α over a frontier of 1e16–5e17 FLOPs "
                           "(widths 32–256, 40 tokens per parameter, C4, one seed)"),
                    note=("α 0.065 (LSTM) vs 0.094 (modern Transformer): CEG grows roughly as "
                          "C^0.45, about 6× at 1e15, 17× at 1e16, 47× at 1e17 FLOPs"),
                ),
            ),
        )
    ]
