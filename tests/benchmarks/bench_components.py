"""Training step time of each architecture switch, relative to the default GPT, in one run.

Builds the default recipe and one recipe per switch (each changes one field) at
the same width, and times forward + backward + AdamW step on the same batch.
The cases are timed in interleaved rounds and each keeps its fastest round, so
a busy machine slows all of them alike; the ratio is against the default GPT.

    python tests/benchmarks/bench_components.py [--width 64] [--steps 10] [--rounds 5] [--threads 1]
"""

import argparse
import time

import torch

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.innovations import Recipe

CONTEXT, BATCH, VOCAB = 32, 16, 256
CASES = {
    "default (pre-LN, GeLU, learned, MHA, dense, fused)": Recipe(),
    "relu": Recipe(activation="relu"),
    "swiglu": Recipe(activation="swiglu"),
    "relu-squared": Recipe(activation="relu-squared"),
    "rmsnorm": Recipe(norm="rmsnorm"),
    "post-norm": Recipe(norm_placement="post"),
    "sinusoidal": Recipe(position="sinusoidal"),
    "rotary": Recipe(position="rotary"),
    "untied head": Recipe(tied_embeddings=False),
    "gqa": Recipe(attention="gqa"),
    "mqa": Recipe(attention="mqa"),
    "qk-norm": Recipe(qk_norm=True),
    "moe (4 experts, top-2)": Recipe(mlp="moe"),
    "plain attention": Recipe(attention_kernel="plain"),
}


def stepper(recipe, width, components):
    """A function doing one training step of a fresh model of this recipe."""
    torch.manual_seed(0)
    model = components.get("family", "gpt").build(recipe, width, VOCAB, CONTEXT, components)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    idx = torch.randint(VOCAB, (BATCH, CONTEXT + 1), generator=torch.Generator().manual_seed(0))
    x, y = idx[:, :-1].contiguous(), idx[:, 1:].contiguous()

    def step():
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    components = load_catalog().components
    steps = {name: stepper(recipe, args.width, components) for name, recipe in CASES.items()}
    for step in steps.values():  # warm up: first calls pay one-off set-up
        step()
        step()
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(args.rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            best[name] = min(best[name], (time.perf_counter() - start) / args.steps)
    reference = best[next(iter(CASES))]
    print(f"torch {torch.__version__}, {args.threads} thread(s), width {args.width}, batch "
          f"{BATCH}×{CONTEXT} tokens, best of {args.rounds} rounds of {args.steps} steps")
    print(f"{'recipe':<52} {'ms/step':>8} {'ratio':>6}")
    for name, seconds in best.items():
        print(f"{name:<52} {seconds * 1e3:>8.2f} {seconds / reference:>6.2f}")


if __name__ == "__main__":
    main()
