"""The Slurm executor, through submitit: runs batched into the tasks of job arrays.

Specs are grouped ``runs_per_job`` to a job (tiny runs would spend more time
queueing and importing torch than training), and all jobs of a sweep are
submitted as one job array whose ``array_parallelism`` caps how many run at
once. Each job writes one result file per finished run into
``FOLDER/results/RUN_ID.pkl``; the driver watches that folder and hands each
result back as soon as it appears, so it alone writes the registry.

A preempted or timed-out job is requeued by submitit (``max_requeues`` times
for timeouts) and skips the runs whose result files exist, so it resumes where
it stopped. A job that fails for good turns its unfinished runs into failed
results with the job's state and error. A driver that dies loses nothing
either: rerun the same command and every finished result file is taken as is.

With packing, a pack's runs always go to one job and train together
(``cegbench.train.pack.run_pack``); a job holds whole packs up to ``runs_per_job`` runs
(a larger pack gets a job of its own). A requeued job trains as one pack the
members without a result file.

``cluster="local"`` (submitit's local executor) runs the same jobs as local
processes, for tests; the default, ``None``, lets submitit detect Slurm.
Needs ``pip install 'cegbench[slurm]'``.
"""

from __future__ import annotations

import os
import pickle
import threading
from concurrent.futures import Future
from pathlib import Path

import submitit
import torch

from cegbench.execute.worker import data_cache_name, failed_result, ship_plugins, worker_components
from cegbench.plan.specs import TrainSpec
from cegbench.train.pack import run_pack
from cegbench.train.trainer import run


class RunBatch(submitit.helpers.Checkpointable):
    """One job: train each spec whose result file does not exist yet, writing it when done.

    As a ``Checkpointable``, a preempted or timed-out job is resubmitted with the same
    arguments, and the result files make it skip what it already finished.
    """

    def __call__(self, specs: list, shipped, device: str, results_dir: str,
                 threads: int, data_cache: str) -> int:
        """``specs``: each a ``TrainSpec`` (a lone run) or a list of them (a pack)."""
        torch.set_num_threads(threads)
        os.environ.setdefault("CEGBENCH_DATA_CACHE", data_cache)
        components = worker_components(shipped)
        trained = 0
        for unit in specs:
            todo = [spec for spec in (unit if isinstance(unit, list) else [unit])
                    if not result_path(results_dir, spec).exists()]
            if not todo:
                continue
            done = run_pack(todo, components, device) if len(todo) > 1 else [run(todo[0], components, device)]
            for spec, result in zip(todo, done):
                write_result(result_path(results_dir, spec), result)
            trained += len(todo)
        return trained


def result_path(results_dir, spec: TrainSpec) -> Path:
    return Path(results_dir) / f"{spec.run_id}.pkl"


def write_result(path: Path, result) -> None:
    """Write whole or not at all, so the driver never reads half a file."""
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_bytes(pickle.dumps(result))
    os.replace(partial, path)


def read_result(path: Path):
    return pickle.loads(path.read_bytes())


class SlurmExecutor:
    """Submits on ``flush()`` (the ``results`` driver calls it) and collects results as they land."""

    capacity = 1_000_000  # everything at once: Slurm's array parallelism is the real cap

    def __init__(self, components=None, *, plugin_paths=(), device: str = "cpu",
                 folder: str = "cegbench-slurm", cluster: str | None = None,
                 partition: str | None = None, time_min: int = 60, gpus_per_job: int | None = None,
                 cpus_per_job: int = 1, runs_per_job: int = 8, array_parallelism: int = 64,
                 max_requeues: int = 3, poll_s: float | None = None):
        if runs_per_job < 1 or array_parallelism < 1:
            raise ValueError("runs_per_job and array_parallelism must be at least 1")
        self.device = device
        self.runs_per_job = runs_per_job
        self.results_dir = Path(folder).resolve() / "results"
        self.results_dir.mkdir(parents=True, exist_ok=True)
        # what every job gets besides its specs; datasets are made once, into the shared folder
        self.job_args = (ship_plugins(plugin_paths), device, str(self.results_dir), cpus_per_job,
                         str(Path(folder, data_cache_name()).resolve()))
        self.engine = submitit.AutoExecutor(folder=Path(folder) / "logs" / "%j", cluster=cluster,
                                            slurm_max_num_timeout=max_requeues,
                                            local_max_num_timeout=max_requeues)
        if gpus_per_job is None:
            gpus_per_job = 1 if device.startswith("cuda") else 0
        parameters = {"name": "cegbench", "timeout_min": time_min, "cpus_per_task": cpus_per_job,
                      "gpus_per_node": gpus_per_job, "slurm_array_parallelism": array_parallelism}
        if partition:
            parameters["slurm_partition"] = partition
        self.engine.update_parameters(**parameters)
        self.poll_s = poll_s if poll_s is not None else (0.5 if cluster in ("local", "debug") else 15)
        self.waiting: dict[str, tuple[TrainSpec, Future]] = {}  # run id -> not yet collected
        self.buffer: list[list[TrainSpec]] = []  # lone runs and packs
        self.jobs: list[tuple[submitit.Job, list[TrainSpec]]] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.watcher = threading.Thread(target=self._watch, daemon=True)
        self.watcher.start()

    def submit(self, spec: TrainSpec) -> Future:
        future, pending = self._prepare(spec)
        if pending:
            self.buffer.append([spec])
        return future

    def submit_pack(self, specs: list[TrainSpec]) -> list[Future]:
        """Queue ``specs`` (one shape) to train as one pack in one job; a future per run."""
        prepared = [self._prepare(spec) for spec in specs]
        pending = [spec for spec, (_, waiting) in zip(specs, prepared) if waiting]
        if pending:
            self.buffer.append(pending)
        return [future for future, _ in prepared]

    def _prepare(self, spec: TrainSpec) -> tuple[Future, bool]:
        """The run's future, and whether it must still train (no ok result file yet)."""
        future: Future = Future()
        path = result_path(self.results_dir, spec)
        if path.exists():
            result = read_result(path)
            if result.status == "ok":  # finished under a driver that died before recording it
                future.set_result(result)
                return future, False
            path.unlink()  # an old failure: the driver asked to run it again
        with self.lock:
            self.waiting[spec.run_id] = (spec, future)
        return future, True

    def flush(self) -> None:
        """Submit the buffered runs and packs, whole packs of up to ``runs_per_job`` runs
        to a job, as one job array."""
        if not self.buffer:
            return
        batches, batch = [], []
        for unit in self.buffer:
            if batch and sum(map(len, batch)) + len(unit) > self.runs_per_job:
                batches.append(batch)
                batch = []
            batch.append(unit)
        batches.append(batch)
        self.buffer = []
        with self.engine.batch():
            jobs = [self.engine.submit(RunBatch(), [u if len(u) > 1 else u[0] for u in batch],
                                       *self.job_args) for batch in batches]
        with self.lock:
            self.jobs.extend((job, [s for unit in batch for s in unit])
                             for job, batch in zip(jobs, batches))

    def _watch(self) -> None:
        while not self.stopped.wait(self.poll_s):
            self.collect()

    def collect(self) -> None:
        """Hand back every result file that has appeared; fail the runs of jobs that ended without one."""
        with self.lock:
            ended = [(job, batch) for job, batch in self.jobs if job.done()]
            for run_id in list(self.waiting):
                path = self.results_dir / f"{run_id}.pkl"
                if path.exists():
                    self._resolve(run_id, read_result(path))
            for job, batch in ended:
                self.jobs.remove((job, batch))
                for spec in batch:
                    if spec.run_id in self.waiting:
                        self._resolve(spec.run_id, failed_result(
                            spec, f"slurm job {job.job_id} ended ({job.state}) without this run: "
                                  f"{job_error(job)}", self.device))

    def _resolve(self, run_id: str, result) -> None:
        _, future = self.waiting.pop(run_id)
        future.set_result(result)

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            with self.lock:
                for job, _ in self.jobs:
                    job.cancel(check=False)
        self.stopped.set()
        self.watcher.join()


def job_error(job) -> str:
    try:
        error = job.exception()
    except Exception as reading:  # e.g. the job's output file is missing
        error = reading
    if error is None:
        return "no error reported"
    lines = str(error).strip().splitlines()
    return lines[-1] if lines else type(error).__name__
