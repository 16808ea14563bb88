"""GPU throughput: the device's bf16 matmul peak, then tokens/s and MFU of packed and
unpacked training at the gpu tier's widths, and the projected GPU-hours of one
innovation's gpu tier.

MFU here is model FLOPs (the trainer's measured FLOPs per token × tokens/s) over
the bf16 matmul peak measured on this device (a large square matmul), not the
vendor's datasheet figure. Packs of 1, 3, 9, … members are trained with
``cegbench.train.pack.run_pack`` (on CUDA: bf16 autocast, TF32, device-resident tokens,
divergence read back every ``CUDA_CHECK_EVERY`` steps); "unpacked" trains the
same runs one after another with ``cegbench.train.trainer.run``.

    python tests/benchmarks/bench_gpu.py                 # on a CUDA device
    python tests/benchmarks/bench_gpu.py --tiny          # seconds on CPU (run by CI)
"""

import argparse
import time

import torch

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.data.datasets import load_dataset
from cegbench.innovations import Recipe
from cegbench.plan.cells import plan_cells
from cegbench.plan.specs import RunSpec
from cegbench.tiers import TIERS
from cegbench.train.pack import run_pack
from cegbench.train.trainer import run


def matmul_peak(device: str, n: int, repeats: int = 10) -> float:
    """Measured bf16 matmul FLOP/s of an n × n × n product (fp32 on CPU without bf16 speed-up)."""
    dtype = torch.bfloat16
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n ** 3 * repeats / (time.perf_counter() - start)


def sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def specs_for(tier, recipe, width, flops_per_token, steps, members):
    tokens = steps * tier.batch_size * tier.context
    return [RunSpec(innovation="bench", arm="baseline", recipe=recipe, declaration_hash="bench",
                    tier="bench", tier_version=1, dataset="synthetic", budget=flops_per_token * tokens,
                    width=width, seed=seed, context=tier.context, batch_size=tier.batch_size,
                    learning_rate=1e-3, eval_points=1, eval_tokens=tier.batch_size * tier.context,
                    max_loss=20.0)
            for seed in range(members)]


def throughput(results) -> float:
    """Tokens/s of the training steps of these runs (trained together or one after another)."""
    assert all(r.status == "ok" for r in results), [r.error for r in results]
    return sum(r.tokens for r in results) / sum(r.train_time_s for r in results)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a few seconds on CPU (CI)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--members", type=int, nargs="+", default=None)
    parser.add_argument("--widths", type=int, nargs="+", default=None)
    args = parser.parse_args(argv)
    gpu = TIERS.get("gpu")
    if args.tiny:
        device, tier = args.device or "cpu", TIERS.get("smoke")
        widths, members, steps, n = args.widths or [16], args.members or [1, 2], args.steps or 3, 256
    else:
        device, tier = args.device or "cuda", gpu
        widths, members, steps, n = args.widths or list(gpu.widths), args.members or [1, 3, 9], \
            args.steps or 50, 8192
    components = load_catalog().components
    load_dataset("synthetic")
    peak = matmul_peak(device, n)
    print(f"torch {torch.__version__}, device {device}, measured bf16 matmul peak "
          f"{peak / 1e12:.2f} TFLOP/s ({n}×{n})")
    print(f"{'width':>5} {'members':>7} {'unpacked tok/s':>15} {'packed tok/s':>13} "
          f"{'speed-up':>8} {'packed MFU':>10}")
    recipe = Recipe()
    family = components.get("family", "gpt")
    best_rate = {}
    for width in widths:
        flops_per_token = family.flops_per_token(recipe, width, 256, tier.context, components)
        run(specs_for(tier, recipe, width, flops_per_token, 2, 1)[0], components, device)  # warm-up
        for m in members:
            specs = specs_for(tier, recipe, width, flops_per_token, steps, m)
            unpacked = throughput([run(s, components, device) for s in specs])
            packed = throughput(run_pack(specs, components, device))
            mfu = packed * flops_per_token / peak
            best_rate[width] = max(best_rate.get(width, 0.0), packed * flops_per_token)
            print(f"{width:>5} {m:>7} {unpacked:>15,.0f} {packed:>13,.0f} {packed / unpacked:>8.2f} "
                  f"{mfu:>10.1%}", flush=True)
    hours = projected_hours(gpu, components, best_rate)
    print(f"projected GPU-hours, one innovation's gpu tier (both arms, {len(gpu.seeds)} seeds, "
          f"measurement runs at the best packed FLOP/s per width): {hours:.1f}")
    return {"peak": peak, "rates": best_rate, "hours": hours}


def projected_hours(tier, components, rate_by_width: dict) -> float:
    """Σ budget / achieved FLOP/s over the cells of the first catalogued innovation; widths
    not measured take the nearest measured width's rate."""
    catalog = load_catalog()
    innovation = catalog.innovations.get(next(iter(catalog.innovations)))
    seconds = 0.0
    for cell in plan_cells([innovation], tier, components):
        nearest = min(rate_by_width, key=lambda w: abs(w - cell.width))
        seconds += cell.budget / rate_by_width[nearest]
    return seconds / 3600


if __name__ == "__main__":
    main()
