"""Data-loading throughput: windows/s from a token store's memory map beside the
in-memory tensor datasets were before stores, in one run.

For the embedded Wikipedia sample and a larger store of random bytes (``--mb``,
written to a temporary data folder: its pages are in the page cache, as a
store's are once read), draws batches of the cpu tier's shape (32 × 64) and the
gpu tier's (64 × 256) with ``dataset.batch`` from each, in alternating rounds,
and prints windows/s, tokens/s and the memory-map / in-memory ratio. With CUDA,
also the device path a packed trainer takes: ``train_tokens`` copied to the GPU
once, starts drawn and windows gathered there (``gather_windows``).

    python tests/benchmarks/bench_data.py [--seconds 1] [--mb 256] [--threads 2]
"""

import argparse
import os
import tempfile
import time

import numpy as np
import torch

from cegbench.data.datasets import gather_windows, load_dataset, split
from cegbench.data.store import write_store

SHAPES = [(32, 64), (64, 256)]  # (batch, context): the cpu and gpu tiers


def rate(draw, seconds: float) -> float:
    """Calls of ``draw()`` per second over about ``seconds``."""
    draw()  # warm up
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        draw()
        n += 1
    return n / elapsed


def device_rate(tokens, batch, context, seconds) -> float:
    """Batches per second drawn and gathered on the GPU from a device-resident copy."""
    device_tokens = tokens.to("cuda")
    generator = torch.Generator(device="cuda").manual_seed(0)

    def draw():
        starts = torch.randint(len(device_tokens) - context - 1, (batch,), generator=generator,
                               device="cuda")
        gather_windows(device_tokens, starts, context)

    for _ in range(10):
        draw()
    torch.cuda.synchronize()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            draw()
        n += 50
    torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median kept)")
    parser.add_argument("--mb", type=int, default=256, help="size of the random-bytes store")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as folder:
        os.environ["CEGBENCH_DATA_CACHE"] = folder
        enwiki = load_dataset("enwiki-sample")
        whole = torch.cat([enwiki.train, enwiki.val]).numpy()
        random_bytes = np.random.default_rng(0).integers(0, 256, args.mb << 20, dtype=np.uint8)
        write_store(os.path.join(folder, "random"), [random_bytes],
                    n_validation=lambda n: n // 20, source="random")
        cases = [
            ("enwiki-sample", enwiki, split("enwiki-sample", whole)),
            (f"random {args.mb} MB", load_dataset(f"store:{folder}/random"),
             split("random", random_bytes)),
        ]
        print(f"torch {torch.__version__}, {args.threads} threads; windows/s (median of "
              f"{args.rounds} alternating rounds of {args.seconds:g} s)")
        print(f"{'dataset':<16} {'B×T':>7} {'in-memory':>11} {'memory map':>11} {'ratio':>6} "
              f"{'tokens/s (map)':>15}" + ("  GPU gather" if torch.cuda.is_available() else ""))
        for label, mapped, memory in cases:
            for batch, context in SHAPES:
                rates = {"memory": [], "mapped": []}
                for _ in range(args.rounds):
                    for name, dataset in (("memory", memory), ("mapped", mapped)):
                        generator = torch.Generator().manual_seed(0)
                        rates[name].append(rate(lambda d=dataset, g=generator, b=batch,
                                                t=context: d.batch(b, t, g), args.seconds))
                memory_rate = float(np.median(rates["memory"])) * batch  # windows/s
                mapped_rate = float(np.median(rates["mapped"])) * batch
                line = (f"{label:<16} {f'{batch}×{context}':>7} {memory_rate:>11,.0f} "
                        f"{mapped_rate:>11,.0f} {mapped_rate / memory_rate:>6.2f} "
                        f"{mapped_rate * context:>15,.0f}")
                if torch.cuda.is_available():
                    gpu = device_rate(mapped.train_tokens, batch, context, args.seconds) * batch
                    line += f"  {gpu:,.0f} ({gpu * context:,.0f} tokens/s)"
                print(line)
        del cases, enwiki


if __name__ == "__main__":
    main()
