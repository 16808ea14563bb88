"""Packs on the three executors: a packed sweep records the same runs as an unpacked one,
with what each was packed with; a packed sweep killed with SIGKILL resumes; a dead worker
(local pool, Ray) fails or retries only its own pack; a requeued Slurm job trains only
the members of a pack that have no result file yet.

The sweeps run the test plugin's ``tiny-sweep`` (8 smoke-tier runs: 4 packs of 2 seeds;
its tuning, 2 packs of 3 learning-rate multipliers)."""

import json
import subprocess

import pytest
import ray
from click.testing import CliRunner
from sqlite_utils import Database
from test_crash import (  # noqa: F401 (planned: a fixture)
    ONE_THREAD,
    PLUGIN,
    check_registry,
    kill_after_two_runs,
    planned,
    query,
    sweep,
)
from test_execute import killer_catalog, local_slurm_config

from cegbench.cli.main import cli
from cegbench.execute import make_executor, pack_default, results
from cegbench.execute.ray import RayExecutor
from cegbench.execute.slurm import RunBatch, read_result, result_path, write_result
from cegbench.execute.worker import failed_result
from cegbench.tiers import TIERS
from plan_fixtures import plan_untuned

pytestmark = pytest.mark.usefixtures("one_thread")


def sweep_here(registry, *args):
    result = CliRunner().invoke(cli, ["run", "--tier", "smoke", "--innovation", "tiny-sweep",
                                      "--plugins", str(PLUGIN), "--registry", str(registry),
                                      "--no-analyze", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def rows(registry, table="runs") -> dict:
    return {row["run_id"]: row for row in Database(registry)[table].rows}


def assert_same(registry, reference, table="runs"):
    got, expected = rows(registry, table), rows(reference, table)
    assert got.keys() == expected.keys()
    for run_id, row in got.items():
        assert row["status"] == expected[run_id]["status"] == "ok"
        assert row["final_loss"] == pytest.approx(expected[run_id]["final_loss"], rel=1e-5)
        assert row["steps"] == expected[run_id]["steps"]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    path = tmp_path_factory.mktemp("unpacked") / "registry.db"
    sweep_here(path, "--no-pack", "--jobs", "1")
    return path


def test_pack_is_off_by_default_on_cpu_and_on_for_cuda():
    assert not pack_default("cpu") and pack_default("cuda")


def test_local_packed_sweep_records_the_unpacked_runs_and_their_packs(unpacked, tmp_path):
    path = tmp_path / "packed.db"
    sweep_here(path, "--pack", "--jobs", "1")
    assert_same(path, unpacked)
    assert_same(path, unpacked, "tuning_runs")
    assert all(row["pack"] is None for row in rows(unpacked).values())
    for table, size in (("runs", 2), ("tuning_runs", 3)):
        for run_id, row in rows(path, table).items():
            pack = json.loads(row["pack"])
            assert pack["engine"] == "vmap" and pack["size"] == size and run_id not in pack["packed_with"]


def test_packed_sweep_killed_with_sigkill_resumes(tmp_path, planned):  # noqa: F811
    registry = tmp_path / "r.db"
    kill_after_two_runs(registry, "--pack")
    before = dict(query(registry, "select run_id, started_at || finished_at from runs"))
    assert 2 <= len(before) < len(planned)

    resumed = subprocess.run(sweep(registry, "--no-analyze", "--jobs", "1", "--pack"),
                             capture_output=True, text=True, timeout=600, env=ONE_THREAD)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # only the pack in flight was lost: every recorded run is kept, the rest are run once
    assert f"{len(before)} already recorded, {len(planned) - len(before)} to run" in resumed.stdout
    check_registry(registry, planned)
    after = dict(query(registry, "select run_id, started_at || finished_at from runs"))
    assert all(after[run_id] == times for run_id, times in before.items())


def killer_specs(tmp_path, monkeypatch):
    catalog = killer_catalog(tmp_path, monkeypatch)
    marker = tmp_path / "a-worker-died"
    smoke = TIERS.get("smoke")
    once, always = (plan_untuned([catalog.innovations.get(f"gelu-to-gelu-dies-{n}")], smoke,
                                 catalog.components) for n in ("once", "always"))
    first = smoke.budgets[0]
    specs = [s for s in once if s.budget == first and s.width == smoke.widths[0]]  # 2 packs of 2 seeds
    doomed = [s for s in always if s.arm == "modern" and s.budget == first and s.width == smoke.widths[0]]
    assert len(specs) == 4 and len(doomed) == 2
    return catalog, marker, specs, doomed


def test_dead_local_worker_fails_whole_packs_with_the_reason(tmp_path, monkeypatch):
    catalog, marker, specs, _ = killer_specs(tmp_path, monkeypatch)
    executor = make_executor("local", catalog.components, jobs=2, plugin_paths=catalog.plugin_paths,
                             pack=True)
    finished = list(results(specs, executor))
    assert marker.exists()
    assert sorted(r.run_id for r in finished) == sorted(s.run_id for s in specs)
    died = [r for r in finished if r.status == "failed"]
    # a pack is one task: its members fail together, with the reason (a broken pool fails
    # every task in flight, here at most both packs)
    assert len(died) in (2, 4)
    for arm in ("baseline", "modern"):
        assert len({r.status for r in finished if r.spec.arm == arm}) == 1
    assert all(r.error.startswith("local worker process died") for r in died)
    assert all(json.loads(r.environment["pack"])["engine"] == "vmap"
               for r in finished if r.status == "ok")


def test_ray_packs_retry_a_killed_worker_and_fail_only_a_doomed_pack(tmp_path, monkeypatch):
    catalog, marker, specs, doomed = killer_specs(tmp_path, monkeypatch)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        executor = RayExecutor(plugin_paths=catalog.plugin_paths, max_retries=1)
        executor.pack = True
        finished = list(results([*specs, *doomed], executor))
    finally:
        ray.shutdown()
    assert marker.exists()  # a worker really died mid-sweep, and its pack was run again
    by_id = {r.run_id: r for r in finished}
    assert sorted(by_id) == sorted(s.run_id for s in [*specs, *doomed])
    assert all(by_id[s.run_id].status == "ok" for s in specs), [r.error for r in finished]
    for spec in doomed:
        lost = by_id[spec.run_id]
        assert lost.status == "failed" and lost.error.startswith("ray: ")


def test_slurm_packed_sweep_equals_unpacked(unpacked, tmp_path):
    config = local_slurm_config(tmp_path, runs_per_job=4)
    path = tmp_path / "slurm.db"
    sweep_here(path, "--config", str(config), "--pack")
    assert_same(path, unpacked)
    assert {json.loads(row["pack"])["size"] for row in rows(path).values()} == {2}
    logs = [p for p in (tmp_path / "slurm" / "logs").iterdir() if p.name != "%j"]
    assert len(logs) == 2 + 2  # tuning: 2 packs of 3, a job each; runs: 4 packs of 2, 2 to a job


def test_requeued_slurm_job_trains_the_unfinished_members_of_a_pack(catalog, tmp_path):
    smoke = TIERS.get("smoke")
    specs = [s for s in plan_untuned([catalog.innovations.get("layernorm-to-rmsnorm")], smoke,
                                     catalog.components)
             if s.arm == "baseline" and s.budget == smoke.budgets[0] and s.width == smoke.widths[0]]
    assert len(specs) == 2
    extra = specs[0].__class__(**{**specs[0].__dict__, "seed": 7})
    pack = [*specs, extra]
    finished = failed_result(pack[0], "finished before the preemption")
    write_result(result_path(tmp_path, pack[0]), finished)
    assert RunBatch()([pack], (), "cpu", str(tmp_path), 1, str(tmp_path / "data")) == 2
    assert read_result(result_path(tmp_path, pack[0])).error == finished.error
    rest = [read_result(result_path(tmp_path, s)) for s in pack[1:]]
    assert all(r.status == "ok" for r in rest)
    assert json.loads(rest[0].environment["pack"])["packed_with"] == [pack[2].run_id]


class InstantExecutor:
    """Runs nothing: each submitted spec comes back at once as an ok result."""

    capacity, pack = 1, True

    def __init__(self):
        self.submitted = []

    def submit(self, spec):
        return self.submit_pack([spec])[0]

    def submit_pack(self, specs):
        from concurrent.futures import Future

        from cegbench.train.trainer import RunResult

        self.submitted.append([spec.run_id for spec in specs])
        futures = []
        for spec in specs:
            futures.append(Future())
            futures[-1].set_result(RunResult(spec.run_id, spec, status="ok"))
        return futures

    def flush(self):
        pass

    def shutdown(self, cancel=False):
        pass


def test_each_pack_is_checked_again_just_before_it_starts(catalog):
    """A run another process recorded while earlier packs trained leaves its pack before
    the pack starts (the sweep's registry check, per task, packed or not)."""
    innovation = catalog.innovations.get("gelu-to-swiglu")
    specs = [s for s in plan_untuned([innovation], TIERS.get("smoke"), catalog.components)
             if s.arm == "baseline" and s.budget == TIERS.get("smoke").budgets[0]]
    widths = sorted({s.width for s in specs})
    recorded_meanwhile = {s.run_id for s in specs if s.width == widths[1] and s.seed == 0}
    done, asked = set(), []

    def keep(unit):
        asked.append(len(done))  # how many results had come back when this task was checked
        return [s for s in unit if s.run_id not in done | recorded_meanwhile]

    executor = InstantExecutor()
    for result in results(specs, executor, keep):
        done.add(result.run_id)
    assert asked == [0, 2, 3]  # one check per pack (a width each, 2 seeds), as each starts
    assert not recorded_meanwhile & {run_id for pack in executor.submitted for run_id in pack}
    assert len(done) == len(specs) - 1
