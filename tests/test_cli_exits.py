"""Exit statuses and notes of the smaller commands."""

import pytest
from click.testing import CliRunner

from cegbench.cli.main import cli
from cegbench.registry.db import innovation_row, save_innovations, save_run
from cegbench.registry.opening import open_registry
from cegbench.sweep import run as sweep_module


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def registry(tmp_path, catalog):
    """A registry holding one run of an innovation that no loaded plugin declares."""
    path = tmp_path / "r.db"
    db = open_registry(path)
    swiglu = catalog.innovations.get("gelu-to-swiglu")
    row = innovation_row(swiglu, catalog.plugin_info(swiglu.plugin))
    save_innovations(db, [row, {**row, "name": "uninstalled-idea", "plugin": "gone"}])
    save_run(db, {"run_id": "r1", "innovation": "uninstalled-idea", "arm": "baseline",
                  "tier": "smoke", "tier_version": 2, "budget": 2.5e8, "width": 16, "seed": 0,
                  "status": "ok", "final_loss": 3.0, "declaration_hash": "x"})
    db.close()
    return path


def test_show_with_an_unknown_tier_exits_2(registry):
    result = invoke("show", "gelu-to-swiglu", "--tier", "huge", "--registry", str(registry))
    assert result.exit_code == 2 and "Unknown tier 'huge'" in result.output


def test_export_of_an_unknown_innovation_exits_2(registry):
    result = invoke("export", "--innovation", "nope", "--registry", str(registry))
    assert result.exit_code == 2
    assert "innovation 'nope' is not in registry" in result.output
    assert "exported 0 runs" not in result.output


def test_status_shows_runs_of_innovations_not_loaded(registry):
    result = invoke("status", "--tier", "smoke", "--registry", str(registry))
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("uninstalled-idea"))
    assert "not loaded: 1 run(s) done, 0 failed are recorded" in line


def test_run_exits_1_when_a_named_innovation_was_not_run(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_module, "tune_learning_rates", lambda *args, **kwargs: {})
    result = invoke("run", "--tier", "smoke", "--innovation", "gelu-to-swiglu", "--device", "cpu",
                    "--jobs", "1", "--registry", str(tmp_path / "r.db"))
    assert result.exit_code == 1, result.output
    assert "gelu-to-swiglu asked for by --innovation but not run" in result.output


@pytest.mark.parametrize("jobs", ["10000", str(10**20)])
def test_jobs_has_an_upper_bound_and_writes_nothing(tmp_path, jobs):
    """Before: 10000 started 27 workers (8.2 GB on 2 cores); 10^20 gave a traceback after
    writing the registry."""
    from cegbench.execute import JOBS_PER_CPU, available_cpus

    result = invoke("run", "--tier", "smoke", "--innovation", "gelu-to-swiglu", "--jobs", jobs,
                    "--registry", str(tmp_path / "r.db"))
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert result.output.strip() == (
        f"Error: --jobs is {jobs}, more than the {JOBS_PER_CPU * available_cpus()} local jobs "
        f"this machine takes ({JOBS_PER_CPU} per CPU this process may use, {available_cpus()}): "
        "each job is a process with its own copy of the model code and data; pass at most that")
    assert list(tmp_path.iterdir()) == []


def test_jobs_from_the_settings_file_are_bounded_too(tmp_path):
    settings = tmp_path / "cegbench.toml"
    settings.write_text("[executor]\njobs = 100000\n")
    result = invoke("run", "--tier", "smoke", "--innovation", "gelu-to-swiglu", "--config",
                    str(settings), "--registry", str(tmp_path / "r.db"))
    assert result.exit_code == 1 and "the settings file's executor.jobs is 100000" in result.output
    assert not (tmp_path / "r.db").exists()
