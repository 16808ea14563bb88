"""Tied → untied input embedding and output head."""

from cegbench import Innovation, Recipe, hookimpl


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="untied-head",
            title="Tied → untied output head",
            category="architecture",
            year=2024,
            paper="https://github.com/KellerJordan/modded-nanogpt",
            description=(
                "Gives the output head its own weight matrix instead of reusing the input "
                "embedding (weight tying, Press & Wolf 2017, as in GPT-2). The modded-nanogpt "
                "speed runs found an untied head trains faster. It adds vocabulary × width "
                "parameters but no FLOPs: the head's matrix product is done either way."
            ),
            baseline=Recipe(tied_embeddings=True),
            modern=Recipe(tied_embeddings=False),
            expected=None,
        )
    ]
