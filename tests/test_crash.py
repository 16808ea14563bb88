"""The registry under real processes: a sweep killed with SIGKILL resumes, and two
sweeps sharing one registry neither lose, duplicate nor fail on a lock.

Both tests drive ``cegbench run`` in subprocesses on the test plugin's
``tiny-sweep`` innovation (8 short smoke-tier runs).
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.plan.cells import plan_cells
from cegbench.tiers import TIERS

PLUGIN = Path(__file__).parent / "plugin_files" / "tiny_sweep.py"
# tiny matmuls: extra threads only spin, on a shared CI machine most of all
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}
# columns every recorded ok run must have: a row missing one was half written
COMPLETE = ("run_id", "innovation", "arm", "budget", "width", "seed", "spec", "status",
            "final_loss", "n_params", "flops_per_token", "tokens", "curve", "dataset_hash",
            "declaration_hash", "torch_version", "hardware", "command", "started_at", "finished_at")


@pytest.fixture(scope="module")
def planned():
    catalog = load_catalog([str(PLUGIN)])
    cells = plan_cells([catalog.innovations.get("tiny-sweep")], TIERS.get("smoke"),
                       catalog.components)
    assert len(cells) == 8
    # run ids depend on the tuned learning rates, so planned runs are matched by cell
    return {(c.innovation, c.arm, c.budget, c.width, c.seed) for c in cells}


def sweep(registry: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "cegbench.cli.main", "run", "--tier", "smoke", "--innovation",
            "tiny-sweep", "--plugins", str(PLUGIN), "--registry", str(registry), *extra]


def query(registry: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(registry, timeout=60)
    try:
        return connection.execute(sql).fetchall()
    except sqlite3.OperationalError:  # no runs table yet
        return []
    finally:
        connection.close()


def cells(rows) -> list[tuple]:
    """The cell key (innovation, arm, budget, width, seed) of each ``COMPLETE`` row."""
    return [row[1:6] for row in rows]


def check_registry(registry: Path, planned: set[tuple]) -> dict[str, tuple]:
    """Integrity ok, each planned run exactly once and complete; run id → (started, finished)."""
    assert query(registry, "PRAGMA integrity_check") == [("ok",)]
    assert query(registry, "PRAGMA foreign_key_check") == []
    rows = query(registry, f"select {', '.join(COMPLETE)} from runs")
    assert sorted(cells(rows)) == sorted(planned)  # none lost, none twice
    for row in rows:
        assert row[COMPLETE.index("status")] == "ok"
        missing = [name for name, value in zip(COMPLETE, row) if value is None]
        assert not missing, f"run {row[0]} is missing {missing}"
    return {row[0]: row[-2:] for row in rows}


def kill_after_two_runs(registry: Path, *extra) -> None:
    """Start a one-job sweep and SIGKILL it once two runs are recorded."""
    process = subprocess.Popen(sweep(registry, "--no-analyze", "--jobs", "1", *extra),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ONE_THREAD)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if query(registry, "select count(*) from runs") >= [(2,)]:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the sweep ended before it could be killed"


def test_sweep_killed_with_sigkill_resumes_redoing_only_the_run_in_flight(tmp_path, planned):
    registry = tmp_path / "r.db"
    kill_after_two_runs(registry)

    assert query(registry, "PRAGMA integrity_check") == [("ok",)]
    recorded = query(registry, f"select {', '.join(COMPLETE)} from runs")
    before = {row[0]: row[-2:] for row in recorded}
    assert 2 <= len(before) < len(planned)
    assert set(cells(recorded)) <= planned

    resumed = subprocess.run(sweep(registry, "--no-analyze", "--jobs", "1"), capture_output=True, text=True,
                             timeout=600, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # --jobs 1 keeps one run in flight: the killed one is the only one redone
    assert (f"{len(before)} already recorded, {len(planned) - len(before)} to run"
            in resumed.stdout)
    after = check_registry(registry, planned)
    assert all(after[run_id] == times for run_id, times in before.items())


def test_two_sweeps_on_one_registry_share_the_work(tmp_path, planned):
    registry = tmp_path / "r.db"  # new: both processes also create and migrate it at once
    processes = [subprocess.Popen(sweep(registry), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=ONE_THREAD)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stdout + stderr
        assert "locked" not in stdout + stderr
    check_registry(registry, planned)
    # both analysed the same runs and stored one verdict
    assert query(registry, "select innovation, n_runs from verdicts") == [("tiny-sweep", 8)]
