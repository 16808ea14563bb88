"""Exit statuses and notes of the smaller commands."""

import pytest
from click.testing import CliRunner

from cegbench import sweep as sweep_module
from cegbench.cli import cli
from cegbench.registry.db import innovation_row, open_registry, save_innovations, save_run


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
