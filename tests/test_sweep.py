"""The sweep (``cegbench.sweep.run``) without the CLI: it reports through ``Progress`` only."""

from pathlib import Path

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.execute.local import LocalExecutor
from cegbench.registry.opening import open_registry
from cegbench.sweep.progress import Progress
from cegbench.sweep.run import run_sweep
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

    def warning(self, text):
        self.events.append(("warning", text))


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


TWIN = str(Path(__file__).parent / "plugin_files" / "tiny_twin.py")  # shares tiny-sweep's baseline


def measured(db, innovation):
    return {(r["arm"], r["budget"], r["width"], r["seed"]): r
            for r in db["runs"].rows_where("innovation = ?", [innovation])}


def test_innovations_sharing_a_recipe_train_its_runs_once(tmp_path, one_thread):
    catalog = load_catalog([PLUGIN, TWIN])
    both = [catalog.innovations.get(name) for name in ("tiny-sweep", "tiny-twin")]
    sweep = dict(executor=lambda: LocalExecutor(catalog.components), command="test", analyze=False)
    db = open_registry(tmp_path / "shared.db")
    planned = []

    class Shared(Progress):
        def planned(self, p):
            planned.append((p.phase, p.planned, p.shared))

    executed = run_sweep(db, catalog, both, TIERS.get("smoke"), **sweep, progress=Shared())
    assert planned[-1] == ("runs", 16, 4)
    assert executed.ok == 12  # 4 baseline trainings for both, 4 modern runs each
    first, twin = measured(db, "tiny-sweep"), measured(db, "tiny-twin")
    assert len(first) == len(twin) == 8
    for cell, row in twin.items():
        if cell[0] == "baseline":
            source = first[cell]
            assert row["trained_as"] == source["run_id"] != row["run_id"]
            assert (row["final_loss"], row["curve"]) == (source["final_loss"], source["curve"])
            assert row["innovation"] == "tiny-twin" and row["command"] == "test"
        else:
            assert row["trained_as"] is None
    assert all(row["trained_as"] is None for row in first.values())

    # the copies are the runs themselves: trained alone, the twin's baseline gives the same
    alone = open_registry(tmp_path / "alone.db")
    run_sweep(alone, catalog, both[1:], TIERS.get("smoke"), **sweep)
    for cell, row in measured(alone, "tiny-twin").items():
        assert row["trained_as"] is None
        assert (row["run_id"], row["final_loss"]) == (twin[cell]["run_id"], twin[cell]["final_loss"])


def test_arms_that_build_the_same_model_train_it_once(tmp_path, one_thread):
    """On smoke's ladders (widths 16–48: at most 3 heads) GQA has one key/value head, so
    mha-to-mqa's modern runs are copies of mha-to-gqa's, each with its own recipe, and
    the same results as when it trains them itself."""
    import json

    catalog = load_catalog()
    pair = [catalog.innovations.get(name) for name in ("mha-to-gqa", "mha-to-mqa")]
    sweep = {"executor": lambda: LocalExecutor(catalog.components), "command": "test", "analyze": False}
    db = open_registry(tmp_path / "r.db")
    run_sweep(db, catalog, pair, TIERS.get("smoke"), **sweep)
    modern = {cell: row for cell, row in measured(db, "mha-to-mqa").items() if cell[0] == "modern"}
    assert modern and all(cell[2] <= 48 for cell in modern)
    for row in modern.values():
        source = db["runs"].get(row["trained_as"])
        assert json.loads(source["recipe"])["attention"] in ("gqa", "mha")
        assert json.loads(row["recipe"])["attention"] == "mqa"
        assert (row["final_loss"], row["curve"]) == (source["final_loss"], source["curve"])

    alone = open_registry(tmp_path / "alone.db")
    run_sweep(alone, catalog, pair[1:], TIERS.get("smoke"), **sweep)
    for cell, row in measured(alone, "mha-to-mqa").items():
        if cell[0] == "modern":
            assert (row["run_id"], row["final_loss"]) == (modern[cell]["run_id"], modern[cell]["final_loss"])


def test_a_later_innovation_reuses_the_registrys_trainings(tmp_path, one_thread):
    """Found by the training id stored with each run (``runs.training_id``), also for runs
    recorded before it was stored: the sweep fills theirs in first (``fill_training_ids``)."""
    import json

    from cegbench.plan.specs import training_id

    catalog = load_catalog([PLUGIN, TWIN])
    sweep = dict(executor=lambda: LocalExecutor(catalog.components), command="test", analyze=False)
    db = open_registry(tmp_path / "r.db")
    run_sweep(db, catalog, [catalog.innovations.get("tiny-sweep")], TIERS.get("smoke"), **sweep)
    stored = {r["run_id"]: r["training_id"] for r in db["runs"].rows}
    assert all(stored[r["run_id"]] == training_id(json.loads(r["spec"]), catalog.components)
               for r in db["runs"].rows)
    db.execute("update runs set training_id = null")  # as recorded before m017_training_ids
    db.conn.commit()
    executed = run_sweep(db, catalog, [catalog.innovations.get("tiny-twin")], TIERS.get("smoke"),
                         **sweep)
    assert {r["run_id"]: r["training_id"] for r in db["runs"].rows_where("innovation = 'tiny-sweep'")} == stored
    assert executed.ok == 4  # only the modern arm trains
    first, twin = measured(db, "tiny-sweep"), measured(db, "tiny-twin")
    copies = [row for cell, row in twin.items() if cell[0] == "baseline"]
    assert len(copies) == 4
    assert all(row["trained_as"] == first[cell]["run_id"] for cell, row in twin.items()
               if cell[0] == "baseline")


def test_runs_at_a_rate_their_recipes_tuning_no_longer_chooses_are_superseded(tmp_path, one_thread):
    """Tuned again with another result (here: the chosen rate's tuning run made worse), a
    recipe's recorded runs are moved to ``superseded_runs`` with the reason and trained
    again at the new rate; the other arm's runs stay."""
    import json

    from cegbench.registry.learning_rates import learning_rates

    catalog = load_catalog([PLUGIN])
    db = open_registry(tmp_path / "r.db")
    sweep = {"executor": lambda: LocalExecutor(catalog.components), "command": "test", "analyze": False}
    innovation = catalog.innovations.get("tiny-sweep")
    run_sweep(db, catalog, [innovation], TIERS.get("smoke"), **sweep)
    before = {r["run_id"]: r for r in db["runs"].rows}
    baseline = next(r["recipe"] for r in before.values() if r["arm"] == "baseline")
    row = next(r for r in learning_rates(db, "smoke") if r["recipe"] == baseline)
    best = next(run_id for run_id in json.loads(row["run_ids"])
                if db["tuning_runs"].get(run_id)["learning_rate"] == row["learning_rate"])
    db["tuning_runs"].update(best, {"final_loss": 99.0})  # another rate wins the tuning now
    progress = Recorder()
    executed = run_sweep(db, catalog, [innovation], TIERS.get("smoke"), **sweep, progress=progress)
    stale = {run_id for run_id, r in before.items() if r["arm"] == "baseline"}
    assert executed.ok == len(stale) == 4
    assert {r["run_id"] for r in db["superseded_runs"].rows} == stale
    for r in db["superseded_runs"].rows:
        assert r["learning_rate"] == before[r["run_id"]]["learning_rate"] and r["superseded_at"]
        assert r["reason"].startswith(f"trained at learning rate {r['learning_rate']:.4g}; its recipe's tuning now gives")
    now = {r["run_id"]: r for r in db["runs"].rows}
    assert len(now) == 8 and not stale & set(now)
    assert {r["learning_rate"] for r in now.values() if r["arm"] == "baseline"} != \
        {r["learning_rate"] for r in before.values() if r["arm"] == "baseline"}
    assert any("moved to the registry's superseded_runs table" in e[1] for e in progress.events
               if e[0] == "warning")
