"""Trainer throughput: packed vs unpacked vs a plain PyTorch loop, side by side in one run.

For each case (family, width) at the cpu tier's batch (32 × 64 tokens), trains
``--members`` runs of one shape (seeds 0, 1, …) three ways, interleaved and
repeated ``--repeats`` times so that the ratios share the machine's noise:

- plain: a hand-written loop per run (same model, batches and AdamW, nothing else);
- unpacked: ``cegbench.train.trainer.run`` per run (schedule, clipping, divergence checks);
- packed: ``cegbench.train.pack.run_pack`` of all of them (one vmapped model).

It prints tokens/s and achieved GFLOP/s of the training steps (evaluations and
set-up excluded: ``train_time_s``; plain has neither), best of the repeats, and
the packed/unpacked and unpacked/plain ratios. The issue measured vmap packing
at 0.71–0.83× on 2 CPU cores; this is the benchmark behind ``PACK_BY_DEFAULT``.

    python tests/benchmarks/bench_trainer.py [--steps 60] [--members 3] [--threads 1]
"""

import argparse
import time

import torch

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.data.datasets import load_dataset
from cegbench.innovations import Recipe
from cegbench.plan.specs import RunSpec
from cegbench.train.pack import run_pack
from cegbench.train.trainer import run

CASES = [("gpt", 16), ("gpt", 32), ("gpt", 64), ("gpt", 128), ("gpt", 256), ("lstm", 64)]
CONTEXT, BATCH = 64, 32


def plain_loop(family, recipe, width, components, dataset, steps, seed):
    """The baseline: nothing but forward, backward, step. Returns seconds."""
    torch.manual_seed(seed)
    model = family.build(recipe, width, dataset.vocab_size, CONTEXT, components)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        x, y = dataset.batch(BATCH, CONTEXT, batches)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def specs_for(recipe, width, flops_per_token, steps, members):
    tokens = steps * BATCH * CONTEXT
    return [RunSpec(innovation="bench", arm="baseline", recipe=recipe, declaration_hash="bench",
                    tier="bench", tier_version=1, dataset="enwiki-sample",
                    budget=flops_per_token * tokens, width=width, seed=seed, context=CONTEXT,
                    batch_size=BATCH, learning_rate=1e-3, eval_points=1, eval_tokens=2048,
                    max_loss=8.0)
            for seed in range(members)]


def measure(case, components, dataset, steps, members, repeats):
    family_name, width = case
    recipe = Recipe(family=family_name)
    family = components.get("family", family_name)
    flops_per_token = family.flops_per_token(recipe, width, dataset.vocab_size, CONTEXT, components)
    specs = specs_for(recipe, width, flops_per_token, steps, members)
    # warm up (one-off kernel set-up, the FLOP measurement); then the three ways interleaved
    run_pack(specs_for(recipe, width, flops_per_token, 3, members), components)
    run(specs_for(recipe, width, flops_per_token, 3, 1)[0], components)
    best = {"plain": float("inf"), "unpacked": float("inf"), "packed": float("inf")}
    engine = "?"
    for _ in range(repeats):
        best["plain"] = min(best["plain"], sum(
            plain_loop(family, recipe, width, components, dataset, steps, s.seed) for s in specs))
        alone = [run(s, components) for s in specs]
        assert all(r.status == "ok" for r in alone), [r.error for r in alone]
        best["unpacked"] = min(best["unpacked"], sum(r.train_time_s for r in alone))
        packed = run_pack(specs, components)
        assert all(r.status == "ok" for r in packed), [r.error for r in packed]
        best["packed"] = min(best["packed"], sum(r.train_time_s for r in packed))
        engine = "vmap" if '"vmap"' in packed[0].environment["pack"] else "fallback"
    tokens = members * alone[0].tokens
    return flops_per_token, tokens, best, engine


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--case", action="append", default=None, help="family:width (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = ([(c.split(":")[0], int(c.split(":")[1])) for c in args.case] if args.case else CASES)
    components = load_catalog().components
    dataset = load_dataset("enwiki-sample")
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {BATCH}×{CONTEXT} tokens, "
          f"{args.members} runs × {args.steps} steps, best of {args.repeats}")
    print(f"{'family':<6} {'width':>5} {'pack':>8} {'plain tok/s':>12} {'unpacked tok/s':>15} "
          f"{'packed tok/s':>13} {'packed GFLOP/s':>15} {'packed/unpacked':>16} {'unpacked/plain':>15}")
    for case in cases:
        flops_per_token, tokens, best, engine = measure(case, components, dataset, args.steps,
                                                        args.members, args.repeats)
        rate = {k: tokens / v for k, v in best.items()}
        print(f"{case[0]:<6} {case[1]:>5} {engine:>8} {rate['plain']:>12,.0f} {rate['unpacked']:>15,.0f} "
              f"{rate['packed']:>13,.0f} {rate['packed'] * flops_per_token / 1e9:>15.2f} "
              f"{rate['packed'] / rate['unpacked']:>16.2f} {rate['unpacked'] / rate['plain']:>15.2f}",
              flush=True)


if __name__ == "__main__":
    main()
