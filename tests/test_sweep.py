"""The sweep (``cegbench.sweep``) without the CLI: it reports through ``Progress`` only."""

from pathlib import Path

from cegbench.execute.local import LocalExecutor
from cegbench.plugin_manager import load_catalog
from cegbench.registry.db import open_registry
from cegbench.sweep import Progress, run_sweep
from cegbench.tiers import TIERS

PLUGIN = str(Path(__file__).parent / "plugin_files" / "tiny_sweep.py")  # 8 short runs


class Recorder(Progress):
    def __init__(self):
        self.events = []

    def planned(self, planned):
        self.events.append(("planned", planned.phase, planned.todo))

    def phase(self, name, total):
        self.events.append(("phase", name, total))

    def finished(self, result, recorded):
        self.events.append(("finished", result.status, recorded))

    def ended(self, executed):
        self.events.append(("ended", executed.ok, executed.failed, executed.skipped))

    def analysed(self, name, tier, analysis=None, error=None):
        self.events.append(("analysed", name, analysis is not None or error is not None))


def test_sweep_reports_phases_runs_and_verdicts_and_prints_nothing(tmp_path, capsys, one_thread):
    catalog = load_catalog([PLUGIN])
    db = open_registry(tmp_path / "r.db")
    sweep = dict(executor=lambda: LocalExecutor(catalog.components), command="test")
    progress = Recorder()
    executed = run_sweep(db, catalog, [catalog.innovations.get("tiny-sweep")], TIERS.get("smoke"),
                         **sweep, progress=progress)
    assert capsys.readouterr().out == ""
    assert (executed.ok, executed.failed, executed.skipped) == (8, 0, 0)
    kinds = [e[0] for e in progress.events]
    assert kinds[0] == "planned" and progress.events[0][1] == "tuning"
    runs_planned = progress.events.index(("planned", "runs", 8))
    assert progress.events[runs_planned + 1] == ("phase", "runs", 8)
    assert kinds.count("finished") == progress.events[0][2] + 8
    assert progress.events[-2] == ("ended", 8, 0, 0)
    assert progress.events[-1] == ("analysed", "tiny-sweep", True)
    assert db["runs"].count == 8 and db["verdicts"].count == 1
    # run again: everything is recorded, nothing is trained; the default Progress is silent
    again = run_sweep(db, catalog, [catalog.innovations.get("tiny-sweep")], TIERS.get("smoke"),
                      **sweep, analyze=False)
    assert (again.ok, again.failed, again.skipped) == (0, 0, 0)
    assert capsys.readouterr().out == ""
