"""Dense MLP → mixture-of-experts MLP (top-2 of 4 experts)."""

from cegbench import Innovation, Recipe, hookimpl


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="dense-to-moe",
            title="Dense MLP → mixture of experts",
            category="architecture",
            year=2017,
            paper="https://arxiv.org/abs/1701.06538",
            description=(
                "Replaces each layer's MLP with four smaller MLPs (experts) and a router that "
                "sends every token to the two it scores highest, mixing their outputs by the "
                "router's weights; a small load-balancing loss keeps the experts evenly used. "
                "Each expert is half as wide as the dense MLP, so a token uses as many "
                "weights and FLOPs as before, while the model holds twice the MLP parameters. "
                "Compute is counted as active FLOPs."
            ),
            baseline=Recipe(mlp="dense"),
            modern=Recipe(mlp="moe"),
            expected="scale-dependent",
        )
    ]
