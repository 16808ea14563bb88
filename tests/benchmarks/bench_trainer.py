"""Trainer throughput beside a plain PyTorch loop of the same model, in one run.

For each model family at two widths, trains one run with cegbench's trainer
(``cegbench.train.run``: FLOP check, schedule, clipping, divergence checks,
held-out evaluations included) and the same number of steps of a hand-written
loop (same model, batches and AdamW, nothing else), both warmed up first,
and prints tokens/s,
achieved FLOP/s and the trainer/plain ratio.

    python tests/benchmarks/bench_trainer.py [--steps 200] [--threads 2]
"""

import argparse
import dataclasses
import time

import torch

from cegbench.data import load_dataset
from cegbench.innovations import Recipe
from cegbench.plan import RunSpec
from cegbench.plugin_manager import load_catalog
from cegbench.train import run

CASES = [("gpt", 32), ("gpt", 96), ("lstm", 64), ("lstm", 192)]
CONTEXT, BATCH = 64, 32


def plain_loop(family, recipe, width, components, dataset, steps):
    """The baseline: nothing but forward, backward, step."""
    torch.manual_seed(0)
    model = family.build(recipe, width, dataset.vocab_size, CONTEXT, components)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        x, y = dataset.batch(BATCH, CONTEXT, batches)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    components = load_catalog().components
    dataset = load_dataset("enwiki-sample")
    print(f"torch {torch.__version__}, {args.threads} threads, batch {BATCH}×{CONTEXT} tokens, "
          f"{args.steps} steps per measurement")
    print(f"{'family':<6} {'width':>5} {'params':>9} {'FLOPs/token':>12} "
          f"{'trainer tok/s':>14} {'plain tok/s':>12} {'trainer GFLOP/s':>16} "
          f"{'plain GFLOP/s':>14} {'ratio':>6}")
    for family_name, width in CASES:
        recipe = Recipe(family=family_name)
        family = components.get("family", family_name)
        flops_per_token = family.flops_per_token(recipe, width, dataset.vocab_size, CONTEXT, components)
        tokens = args.steps * BATCH * CONTEXT
        spec = RunSpec(
            innovation="bench", arm="baseline", recipe=recipe, declaration_hash="bench",
            tier="bench", tier_version=1, dataset="enwiki-sample",
            budget=flops_per_token * tokens, width=width, seed=0, context=CONTEXT,
            batch_size=BATCH, learning_rate=1e-3, eval_points=5, eval_tokens=16_384,
            max_loss=8.0,
        )
        # warm both up first: the first call for a new shape pays one-off kernel set-up
        run(dataclasses.replace(spec, budget=spec.budget / 10), components)
        plain_loop(family, recipe, width, components, dataset, 10)
        result = run(spec, components)
        assert result.status == "ok", result.error
        plain_s = plain_loop(family, recipe, width, components, dataset, result.steps)
        trainer_rate = result.tokens / result.wall_time_s
        plain_rate = result.tokens / plain_s
        print(f"{family_name:<6} {width:>5} {result.n_params:>9,} {flops_per_token:>12.3g} "
              f"{trainer_rate:>14,.0f} {plain_rate:>12,.0f} "
              f"{trainer_rate * flops_per_token / 1e9:>16.2f} "
              f"{plain_rate * flops_per_token / 1e9:>14.2f} {trainer_rate / plain_rate:>6.2f}")


if __name__ == "__main__":
    main()
