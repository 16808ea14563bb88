"""The whole built-in catalogue through the smoke tier, as CI runs it: `cegbench run --tier smoke`.

This is the catalogue's end-to-end check and its speed target (under 3 minutes on
2 CPU cores, learning-rate tuning included); it grows with every plugin.
"""

import json

from click.testing import CliRunner
from sqlite_utils import Database

from cegbench.cli.main import cli
from cegbench.innovations import ARMS
from cegbench.plan.cells import plan_runs
from cegbench.plan.tuning import plan_sweeps
from cegbench.registry.learning_rates import tuned_rates
from cegbench.tiers import TIERS


def test_whole_catalogue_runs_on_the_smoke_tier(tmp_path, catalog):
    path = tmp_path / "registry.db"
    result = CliRunner().invoke(cli, ["run", "--tier", "smoke", "--registry", str(path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    tier = TIERS.get("smoke")
    innovations = [catalog.innovations.get(name) for name in catalog.innovations]
    db = Database(path)

    # one tuning per distinct recipe, shared across innovations
    sweeps = plan_sweeps([i.recipe(arm) for i in innovations for arm in ARMS],
                         tier, catalog.components)
    assert len(sweeps) < 2 * len(innovations)
    assert db["tuning_runs"].count == len(sweeps) * len(tier.lr_multipliers)
    assert db["learning_rates"].count == len(sweeps)

    planned = plan_runs(innovations, tier, catalog.components,
                        tuned_rates(db, tier))
    assert {r["run_id"] for r in db["runs"].rows} == {s.run_id for s in planned}
    failed = [(r["innovation"], r["arm"], r["error"]) for r in db["runs"].rows_where("status != 'ok'")]
    assert not failed
    verdicts = {v["innovation"]: v for v in db["verdicts"].rows}
    assert set(verdicts) == set(catalog.innovations)
    for name, verdict in verdicts.items():
        assert verdict["label"] in ("scale-invariant", "scale-dependent", "inconclusive"), name
        assert f"{name} [smoke]:" in result.output
        assert json.loads(verdict["ceg"]) or "cannot analyse yet" in verdict["warnings"], name
