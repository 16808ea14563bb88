"""The registry through the command line: failed runs, provenance, status, and
never mixing declarations or tier versions in one fit.

Runs the test plugin's ``tiny-sweep`` innovation (8 short smoke-tier runs) in process.
"""

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from cegbench.cli.main import cli
from cegbench.tiers import TIERS
from cegbench.train.environment import cpu_model

PLUGIN = str(Path(__file__).parent / "plugin_files" / "tiny_sweep.py")


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def sweep(registry, *extra):
    return invoke("run", "--tier", "smoke", "--innovation", "tiny-sweep", "--registry",
                  str(registry), "--device", "cpu", "--plugins", PLUGIN, *extra)


def status_lines(registry) -> dict[str, list[str]]:
    result = invoke("status", "--tier", "smoke", "--innovation", "tiny-sweep",
                    "--registry", str(registry), "--plugins", PLUGIN)
    assert result.exit_code == 0, result.output
    lines = {}
    for line in result.output.splitlines():
        words = line.split()
        if words and words[0] in ("tiny-sweep", "all"):
            lines[" ".join(words[:2]) if words[0] != "all" else "all"] = words
    return lines


@pytest.fixture(scope="module")
def failed_then_retried(tmp_path_factory, one_thread):
    """A sweep whose modern arm runs out of memory, its rerun, then --retry-failed."""
    registry = tmp_path_factory.mktemp("retry") / "r.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TINY_SWEEP_FAIL", "1")
        first = sweep(registry)
    failed_rows = list(Database(registry)["runs"].rows_where("status = 'failed'"))
    failed_verdict = next(Database(registry)["verdicts"].rows)
    failed_status = status_lines(registry)
    rerun = sweep(registry, "--no-analyze")
    after_rerun = {r["run_id"]: r["status"] for r in Database(registry)["runs"].rows}
    retried = sweep(registry, "--retry-failed")
    return dict(registry=registry, first=first, failed_rows=failed_rows,
                failed_verdict=failed_verdict, failed_status=failed_status, rerun=rerun,
                after_rerun=after_rerun, retried=retried)


def test_failed_runs_are_stored_with_their_reason(failed_then_retried):
    first, rows = failed_then_retried["first"], failed_then_retried["failed_rows"]
    assert first.exit_code == 0, first.output
    assert "4 runs ok, 4 failed" in first.output
    assert len(rows) == 4 and {row["arm"] for row in rows} == {"modern"}
    for row in rows:
        assert row["error"].startswith("OutOfMemoryError: out of memory (simulated")
        assert row["final_loss"] is None and row["finished_at"]
    # analysis leaves them out and says how many there were
    verdict = failed_then_retried["failed_verdict"]
    assert verdict["n_failed"] == 4 and verdict["n_runs"] == 4


def test_failed_runs_are_not_retried_silently(failed_then_retried):
    rerun = failed_then_retried["rerun"]
    assert "8 already recorded, 0 to run" in rerun.output
    assert sorted(failed_then_retried["after_rerun"].values()) == ["failed"] * 4 + ["ok"] * 4


def test_retry_failed_runs_them_again(failed_then_retried):
    retried = failed_then_retried["retried"]
    assert retried.exit_code == 0, retried.output
    assert "4 already recorded, 4 to run" in retried.output and "4 runs ok, 0 failed" in retried.output
    rows = list(Database(failed_then_retried["registry"])["runs"].rows)
    assert len(rows) == 8 and {row["status"] for row in rows} == {"ok"}
    assert all(row["error"] is None for row in rows)


def test_status_counts_planned_done_failed_and_flops(failed_then_retried):
    lines = failed_then_retried["failed_status"]
    # columns: innovation arm planned done failed to-run spent needed tuned-lr
    assert lines["tiny-sweep baseline"][2:6] == ["4", "4", "0", "0"]
    assert lines["tiny-sweep modern"][2:6] == ["4", "0", "4", "0"]
    assert lines["all"][1:5] == ["8", "4", "4", "0"]
    two_smallest = sorted(TIERS.get("smoke").budgets)[:2]  # tiny-sweep's budgets, 2 seeds each
    assert float(lines["tiny-sweep baseline"][6]) == pytest.approx(2 * sum(two_smallest), rel=0.2)
    assert float(lines["tiny-sweep baseline"][7]) == 0
    # epochs of training data: recorded for the ok runs, planned for the failed ones
    ok_rows = Database(failed_then_retried["registry"])["runs"].rows_where("status = 'ok'")
    recorded = max(row["epochs"] for row in ok_rows)
    assert 0 < recorded < 0.1  # the synthetic corpus is never repeated on smoke
    assert float(lines["tiny-sweep baseline"][8]) == pytest.approx(recorded, rel=0.01)
    assert 0 < float(lines["tiny-sweep modern"][8]) < 0.1
    assert float(lines["tiny-sweep baseline"][9]) > 0  # the learning rate tuned for the recipe


def test_status_counts_what_the_sweeps_planner_plans(failed_then_retried, monkeypatch):
    """`cegbench status` asks the sweep's planner (``sweep.run.plan_now``), never plans on
    its own: what it counts is what a sweep would run."""
    from cegbench.sweep import run as sweep_run

    asked, plan_now = [], sweep_run.plan_now

    def planner(*args, **kwargs):
        asked.append(kwargs)
        return plan_now(*args, **kwargs)[:3]  # a plan of three runs

    monkeypatch.setattr(sweep_run, "plan_now", planner)
    lines = status_lines(failed_then_retried["registry"])
    assert asked == [{"available": asked[0]["available"], "check_repetition": False}]
    assert lines["all"][1] == "3"


def test_every_run_carries_its_provenance(failed_then_retried):
    row = next(Database(failed_then_retried["registry"])["runs"].rows)
    for column in ("cegbench_version", "torch_version", "python_version", "dataset",
                   "dataset_hash", "tier", "tier_version", "plugin", "declaration_hash",
                   "command", "started_at", "finished_at"):
        assert row[column] not in (None, ""), column
    assert row["git_commit"] is None or len(row["git_commit"]) == 40
    assert row["hardware"].startswith(cpu_model()) and row["device"] == "cpu"
    assert row["plugin"].endswith("tiny_sweep") and row["plugin_version"] is None
    assert row["command"] == f"cegbench run --tier smoke --innovation tiny-sweep --plugins {PLUGIN}"
    assert row["started_at"] <= row["finished_at"]


def test_status_matches_cells_and_older_runs_are_never_fitted(tmp_path, failed_then_retried):
    registry = tmp_path / "r.db"
    db = Database(registry)
    Database(failed_then_retried["registry"]).conn.backup(db.conn)
    rows = list(db["runs"].rows_where(order_by="run_id"))
    # a run recorded under another id (say, another tuned learning rate) still fills its cell
    db.execute("update runs set run_id = 'other-id' where run_id = ?", [rows[0]["run_id"]])
    # runs of an older declaration and of an older tier version stay out of fits and status
    db.execute("update runs set declaration_hash = 'old' where run_id = ?", [rows[1]["run_id"]])
    db.execute("update runs set tier_version = 0 where run_id = ?", [rows[2]["run_id"]])
    db.conn.commit()

    result = invoke("analyze", "--tier", "smoke", "--innovation", "tiny-sweep",
                    "--registry", str(registry))
    assert result.exit_code == 0, result.output
    verdict = next(Database(registry)["verdicts"].rows)
    assert verdict["n_runs"] == 6 and verdict["n_failed"] == 0
    assert verdict["cegbench_version"]

    lines = status_lines(registry)
    assert lines["all"][1:5] == ["8", "6", "0", "2"]
    output = invoke("status", "--tier", "smoke", "--innovation", "tiny-sweep",
                    "--registry", str(registry), "--plugins", PLUGIN).output
    assert "tiny-sweep has 2 run(s) of an older declaration or tier version" in output
