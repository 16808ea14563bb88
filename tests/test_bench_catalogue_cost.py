"""bench_catalogue_cost.py on a small smoke registry, so that the re-timing cannot rot."""

import importlib.util
from pathlib import Path

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.execute.local import LocalExecutor
from cegbench.registry.opening import open_registry
from cegbench.sweep.run import run_sweep
from cegbench.tiers import TIERS


def test_a_sample_of_the_registrys_trainings_retrains_to_the_bit(tmp_path, capsys, one_thread):
    catalog = load_catalog()
    db = open_registry(tmp_path / "r.db")
    run_sweep(db, catalog, [catalog.innovations.get("gelu-to-swiglu")], TIERS.get("smoke"),
              executor=lambda: LocalExecutor(catalog.components), command="test", analyze=False)
    path = Path(__file__).parent / "benchmarks" / "bench_catalogue_cost.py"
    spec = importlib.util.spec_from_file_location("bench_catalogue_cost", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = bench.main(["--registry", str(tmp_path / "r.db"), "--tier", "smoke", "--minutes", "0.02",
                          "--jobs", "1"])
    out = capsys.readouterr().out
    assert "re-timing" in out and "whole catalogue" in out
    assert figures["sampled"] >= 1 and figures["identical"] == figures["sampled"]
    low, high = figures["interval"]
    assert 0 < low <= figures["hours"] <= high
