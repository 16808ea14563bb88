"""Executors: Ray and Slurm (submitit's local executor) give the local executor's registry,
a killed Ray worker loses nothing, a requeued Slurm job skips what it finished, and the
settings file chooses and configures them."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import ray
from click.testing import CliRunner
from sqlite_utils import Database

import cegbench.data.names
from cegbench.catalog.plugin_manager import load_catalog
from cegbench.cli.main import cli
from cegbench.data.names import store_path
from cegbench.execute import make_executor, results
from cegbench.execute.config import ConfigError, executor_settings
from cegbench.execute.ray import RayExecutor
from cegbench.execute.slurm import RunBatch, read_result, result_path, write_result
from cegbench.execute.worker import failed_result
from cegbench.tiers import TIERS
from cegbench.train.trainer import RunResult
from plan_fixtures import plan_untuned

INNOVATION = "layernorm-to-rmsnorm"

pytestmark = pytest.mark.usefixtures("one_thread")


def sweep(registry, *args):
    result = CliRunner().invoke(cli, ["run", "--tier", "smoke", "--innovation", INNOVATION,
                                      "--registry", str(registry), "--no-analyze", *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def recorded(registry) -> dict:
    return {row["run_id"]: row for row in Database(registry)["runs"].rows}


def assert_same_runs(registry, reference):
    runs, expected = recorded(registry), recorded(reference)
    assert runs.keys() == expected.keys()
    assert {row["status"] for row in runs.values()} == {"ok"}
    for run_id, row in runs.items():
        assert row["final_loss"] == pytest.approx(expected[run_id]["final_loss"], rel=1e-4)
        assert row["steps"] == expected[run_id]["steps"]


@pytest.fixture(scope="module")
def local_registry(tmp_path_factory):
    path = tmp_path_factory.mktemp("local") / "registry.db"
    sweep(path)
    return path


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local Ray instance with 2 CPUs, shared by the Ray tests. The variables the killer
    plugin reads are set for the whole module, so every executor's tasks get the same
    environment and reuse the same (costly to start) worker processes."""
    variables = {"CEGBENCH_TEST_MARKER": str(tmp_path_factory.mktemp("ray") / "a worker died"),
                 "CEGBENCH_TEST_DRIVER_PID": str(os.getpid())}
    os.environ.update(variables)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    for name in variables:
        del os.environ[name]


@pytest.mark.parametrize("pack", ["--no-pack", "--pack"])
def test_ray_sweep_interrupted_then_resumed_equals_local(ray_cluster, local_registry, tmp_path, pack):
    """Ctrl-C stops a Ray sweep (tasks cancelled, exit 130); a new driver finishes it from the
    registry without redoing a run; the registry equals the local executor's (unpacked),
    packs of seeds included: a pack cancelled midway loses only its unfinished members."""
    path = tmp_path / "ray.db"
    args = [sys.executable, "-m", "cegbench.cli.main", "run", "--tier", "smoke", "--innovation",
            INNOVATION, "--registry", str(path), "--no-analyze", "--executor", "ray",
            "--ray-address", ray_cluster, pack]  # a driver joining the running cluster
    driver = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and driver.poll() is None and len(recorded_safely(path)) < 3:
        time.sleep(0.5)
    driver.send_signal(signal.SIGINT)
    output, _ = driver.communicate(timeout=120)
    assert driver.returncode == 130, output
    assert "with the ray executor" in output and "run the same command again" in output
    before = {run_id: row["started_at"] for run_id, row in recorded(path).items()}
    n_runs = len(recorded(local_registry))
    assert 3 <= len(before) < n_runs

    output = sweep(path, "--executor", "ray", pack)
    assert f"{len(before)} already recorded, {n_runs - len(before)} to run" in output
    assert_same_runs(path, local_registry)
    assert all(recorded(path)[run_id]["started_at"] == started for run_id, started in before.items())
    packed = [row["pack"] is not None for row in recorded(path).values()]
    assert all(packed) if pack == "--pack" else not any(packed)


def recorded_safely(path) -> dict:
    """The runs a driver still at work has recorded so far."""
    if not path.exists():
        return {}
    try:
        return recorded(path)
    except sqlite3.OperationalError:  # its tables are not made yet
        return {}


KILLER_PLUGIN = '''
import os
from pathlib import Path

from torch import nn

from cegbench import Component, Innovation, Recipe, hookimpl


class DiesOnce(nn.GELU):
    """GeLU, but the first one built in a worker process kills that process."""

    gated = False

    def __init__(self):
        super().__init__()
        marker = Path(os.environ["CEGBENCH_TEST_MARKER"])
        if os.getpid() != int(os.environ["CEGBENCH_TEST_DRIVER_PID"]) and not marker.exists():
            marker.touch()
            os._exit(1)


class DiesAlways(nn.GELU):
    gated = False

    def __init__(self):
        super().__init__()
        if os.getpid() != int(os.environ["CEGBENCH_TEST_DRIVER_PID"]):
            os._exit(1)


@hookimpl
def cegbench_register_components():
    return [Component("activation", "gelu-dies-once", DiesOnce, "kills its worker once"),
            Component("activation", "gelu-dies-always", DiesAlways, "kills every worker")]


@hookimpl
def cegbench_register_innovations():
    return [Innovation(name=f"gelu-to-{name}", title=name, category="architecture", year=2024,
                       paper="https://example.org", description="Kills Ray workers, for a test.",
                       baseline=Recipe(activation="gelu"), modern=Recipe(activation=name))
            for name in ("gelu-dies-once", "gelu-dies-always")]
'''


def test_killed_ray_worker_is_retried_and_nothing_is_lost(ray_cluster, tmp_path):
    plugin = tmp_path / "killer.py"
    plugin.write_text(KILLER_PLUGIN)
    marker = Path(os.environ["CEGBENCH_TEST_MARKER"])
    catalog = load_catalog([plugin])
    smoke = TIERS.get("smoke")
    once, always = (plan_untuned([catalog.innovations.get(f"gelu-to-gelu-dies-{n}")], smoke,
                              catalog.components) for n in ("once", "always"))
    specs = [s for s in once if s.budget == smoke.budgets[0] and s.seed == 0][:4]
    doomed = next(s for s in always if s.arm == "modern")

    executor = RayExecutor(plugin_paths=catalog.plugin_paths, max_retries=1)
    finished = list(results([*specs, doomed], executor))

    assert marker.exists()  # a worker really died mid-sweep
    assert sorted(r.run_id for r in finished) == sorted(s.run_id for s in [*specs, doomed])
    by_id = {r.run_id: r for r in finished}
    assert all(by_id[s.run_id].status == "ok" for s in specs), [r.error for r in finished]
    lost = by_id[doomed.run_id]
    assert lost.status == "failed"
    assert lost.error.startswith("ray: ") and "after up to 1 retries" in lost.error


def killer_catalog(tmp_path, monkeypatch):
    """The catalogue with ``KILLER_PLUGIN`` loaded, its marker file set up."""
    plugin = tmp_path / "killer.py"
    plugin.write_text(KILLER_PLUGIN)
    monkeypatch.setenv("CEGBENCH_TEST_MARKER", str(tmp_path / "a-worker-died"))
    monkeypatch.setenv("CEGBENCH_TEST_DRIVER_PID", str(os.getpid()))
    return load_catalog([plugin])


def test_dead_local_worker_fails_only_the_runs_it_held(tmp_path, monkeypatch):
    catalog = killer_catalog(tmp_path, monkeypatch)
    marker = tmp_path / "a-worker-died"
    smoke = TIERS.get("smoke")
    specs = [s for s in plan_untuned([catalog.innovations.get("gelu-to-gelu-dies-once")], smoke,
                                     catalog.components)
             if s.budget == smoke.budgets[0] and s.seed == 0]
    executor = make_executor("local", catalog.components, jobs=2,
                             plugin_paths=catalog.plugin_paths)

    finished = list(results(specs, executor))

    assert marker.exists()  # a worker process really died mid-sweep
    assert sorted(r.run_id for r in finished) == sorted(s.run_id for s in specs)
    died = [r for r in finished if r.status == "failed"]
    # the runs in flight when the pool broke fail with the reason; the pool restarts for the rest
    assert 1 <= len(died) <= executor.capacity
    assert all(r.error.startswith("local worker process died") for r in died)
    assert len(finished) - len(died) >= len(specs) - executor.capacity


def local_slurm_config(tmp_path, runs_per_job: int):
    """A settings file sending runs to Slurm through submitit's local cluster."""
    config = tmp_path / "cegbench.toml"
    config.write_text(textwrap.dedent(f"""
        [executor]
        name = "slurm"

        [executor.slurm]
        cluster = "local"
        folder = "{tmp_path / 'slurm'}"
        runs_per_job = {runs_per_job}
    """))
    return config


def test_slurm_sweep_with_submitit_local_equals_local(local_registry, tmp_path):
    config = local_slurm_config(tmp_path, runs_per_job=24)
    path = tmp_path / "slurm.db"
    output = sweep(path, "--config", str(config))
    assert "with the slurm executor" in output
    assert_same_runs(path, local_registry)
    n_runs = len(recorded(local_registry))
    n_tuning = Database(local_registry)["tuning_runs"].count
    assert len(list((tmp_path / "slurm" / "results").glob("*.pkl"))) == n_tuning + n_runs
    # one job array per phase: learning-rate tuning, then the measurement runs
    assert len(job_folders(tmp_path / "slurm")) == -(-n_tuning // 24) + n_runs // 24


def job_folders(folder):
    """submitit's per-job log folders (it also makes a literal ``%j`` one)."""
    logs = folder / "logs"
    return [p for p in logs.iterdir() if p.name != "%j"] if logs.exists() else []


def test_requeued_slurm_job_skips_the_runs_it_finished(catalog, tmp_path):
    specs = plan_untuned([catalog.innovations.get(INNOVATION)], TIERS.get("smoke"),
                      catalog.components)[:2]
    finished = failed_result(specs[0], "finished before the preemption")
    write_result(result_path(tmp_path, specs[0]), finished)
    batch = RunBatch()
    args = (specs, (), "cpu", str(tmp_path), 1, str(tmp_path / "data"))
    resubmission = batch.checkpoint(*args)  # what submitit requeues on preemption or timeout
    assert resubmission.function is batch and resubmission.args == args
    assert batch(*args) == 1
    assert read_result(result_path(tmp_path, specs[0])).error == finished.error
    assert read_result(result_path(tmp_path, specs[1])).status == "ok"


def test_slurm_driver_restart_takes_finished_result_files(catalog, tmp_path):
    [spec] = plan_untuned([catalog.innovations.get(INNOVATION)], TIERS.get("smoke"),
                       catalog.components)[:1]
    folder = tmp_path / "slurm"
    executor = make_executor("slurm", catalog.components,
                             settings={"cluster": "local", "folder": str(folder)})
    done = RunResult(spec.run_id, spec, status="ok", final_loss=4.2, started_at="earlier")
    write_result(result_path(folder / "results", spec), done)
    [result] = results([spec], executor)
    assert result.status == "ok" and result.started_at == done.started_at
    assert job_folders(folder) == []  # nothing submitted


@pytest.mark.parametrize(("text", "message"), [
    ("[executor]\nname = 'k8s'", "key 'executor.name' is 'k8s'; expected one of local, ray, slurm"),
    ("[executor.ray]\nnum_gpu = 1", "unknown key 'executor.ray.num_gpu'"),
    ("[executor.slurm]\ntime_min = '2h'", "key 'executor.slurm.time_min' must be an int"),
    ("[executor]\njobs = 0", "key 'executor.jobs' must be at least 1"),
    ("[executor.ray]\nnum_gpus = -0.5", "key 'executor.ray.num_gpus' must not be negative"),
    ("executor = 3", "key 'executor' must be a table"),
    ("[executor", "not valid TOML"),
])
def test_settings_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "cegbench.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        executor_settings(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    result = CliRunner().invoke(cli, ["run", "--tier", "smoke", "--config", str(path),
                                      "--registry", str(tmp_path / "r.db")])
    assert result.exit_code == 1 and message in result.output


def test_settings_file_and_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert executor_settings() == {}  # no cegbench.toml: the defaults
    (tmp_path / "cegbench.toml").write_text("[executor]\nname = 'ray'\njobs = 3\n"
                                            "[executor.ray]\nnum_gpus = 0.25\n")
    assert executor_settings() == {"name": "ray", "jobs": 3, "ray": {"num_gpus": 0.25}}
    result = CliRunner().invoke(cli, ["run", "--tier", "smoke", "--executor", "local",
                                      "--ray-address", "auto", "--registry", "r.db"])
    assert result.exit_code == 1
    assert "--ray-address is for the ray executor, not 'local'" in result.output
    result = CliRunner().invoke(cli, ["run", "--tier", "smoke", "--jobs", "2",
                                      "--registry", "r.db"])
    assert result.exit_code == 1 and "--jobs is for the local executor, not 'ray'" in result.output


def test_dataset_cache_is_made_once_and_read_by_later_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("CEGBENCH_DATA_CACHE", str(tmp_path / "cache"))
    path = store_path("synthetic:7", make=True)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [path.name]
    made = (path / "train.bin").stat().st_mtime_ns

    def make_again(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(cegbench.data.names, "synthetic_tokens", make_again)
    assert store_path("synthetic:7", make=True) == path
    assert (path / "train.bin").stat().st_mtime_ns == made
