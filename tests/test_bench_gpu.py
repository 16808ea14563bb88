"""bench_gpu.py's tiny CPU mode, so that the GPU benchmark cannot rot."""

import importlib.util
from pathlib import Path


def test_bench_gpu_tiny_mode_runs_on_cpu(capsys):
    path = Path(__file__).parent / "benchmarks" / "bench_gpu.py"
    spec = importlib.util.spec_from_file_location("bench_gpu", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = bench.main(["--tiny"])
    out = capsys.readouterr().out
    assert "measured bf16 matmul peak" in out and "projected GPU-hours" in out
    assert figures["peak"] > 0 and figures["hours"] > 0 and set(figures["rates"]) == {16}
