"""The Ray executor: each run is one Ray task with its own resources.

Connects to a running cluster (``address``, e.g. ``"auto"`` or
``"ray://head:10001"``) or starts a local one. A task asks for ``num_cpus`` CPUs
and ``num_gpus`` GPUs (a fraction such as 0.25 packs tiny models four to a
GPU). A worker process that dies (killed, out of memory, node lost) makes Ray
run the task again, at most ``max_retries`` times; after that, or on any other
engine error, the run becomes a failed ``RunResult`` with the reason, so a
sweep never loses a run. Results come back to the driver, which alone writes
the registry. ``shutdown(cancel=True)`` (Ctrl-C) cancels the outstanding tasks.

A pack (``submit_pack``) is one task returning its runs' results; with packing on a
GPU, ``num_gpus`` below 1 lets several packs share one GPU (see docs/ARCHITECTURE.md).

Needs ``pip install 'cegbench[ray]'`` on the driver and every node.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import Future

import ray
import torch

from cegbench.execute.worker import data_cache_name, failed_result, ship_plugins, worker_components
from cegbench.plan.specs import TrainSpec
from cegbench.train.pack import run_pack
from cegbench.train.trainer import RunResult, run


def _run_task(spec: TrainSpec, shipped, device: str, threads: int) -> RunResult:
    torch.set_num_threads(threads)
    return run(spec, worker_components(shipped), device)


def _run_pack_task(specs: list[TrainSpec], shipped, device: str, threads: int) -> list[RunResult]:
    torch.set_num_threads(threads)
    return run_pack(specs, worker_components(shipped), device)


class RayExecutor:
    """Runs on a Ray cluster, ``capacity`` tasks queued or running at a time."""

    def __init__(self, components=None, *, plugin_paths=(), device: str = "cpu",
                 address: str | None = None, num_cpus: float = 1, num_gpus: float | None = None,
                 max_retries: int = 3):
        if num_gpus is None:
            num_gpus = 1 if device.startswith("cuda") else 0
        if num_cpus <= 0 and num_gpus <= 0:
            raise ValueError("a Ray task needs num_cpus or num_gpus above 0")
        self.device = device
        self.max_retries = max_retries
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        # the CEGBENCH_* variables decide which plugins load: workers see the driver's;
        # each node makes a dataset once, in its own temporary folder, for all its workers
        env_vars = {"CEGBENCH_DATA_CACHE": os.path.join(tempfile.gettempdir(), data_cache_name())}
        env_vars.update({k: v for k, v in os.environ.items() if k.startswith("CEGBENCH_")})
        options = {"num_cpus": num_cpus, "num_gpus": num_gpus, "max_retries": max_retries,
                   "retry_exceptions": False,  # train.run never raises: an exception is the engine's
                   "runtime_env": {"env_vars": env_vars}}
        self.task = ray.remote(_run_task).options(**options)
        self.pack_task = ray.remote(_run_pack_task).options(**options)
        self.args = (ship_plugins(plugin_paths), device, max(1, int(num_cpus)))
        self.capacity = 2 * runs_at_once(ray.cluster_resources(), num_cpus, num_gpus)
        self.in_flight: dict[ray.ObjectRef, Future | list[Future]] = {}

    def submit(self, spec: TrainSpec) -> Future:
        ref = self.task.remote(spec, *self.args)
        future: Future = Future()
        self.in_flight[ref] = future
        ref.future().add_done_callback(lambda done: self._finish(ref, spec, done))
        return future

    def submit_pack(self, specs: list[TrainSpec]) -> list[Future]:
        """Train ``specs`` (one shape) as one task; a future per run, in order."""
        ref = self.pack_task.remote(specs, *self.args)
        futures = [Future() for _ in specs]
        self.in_flight[ref] = futures
        ref.future().add_done_callback(lambda done: self._finish_pack(ref, specs, done))
        return futures

    def _finish_pack(self, ref, specs: list[TrainSpec], done: Future) -> None:
        futures = self.in_flight.pop(ref, None)
        if futures is None:
            return
        try:
            results = done.result()
        except Exception as error:  # the task's worker or node died for good, or Ray failed
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            results = [failed_result(
                spec, f"ray: {type(error).__name__} after up to {self.max_retries} retries: "
                      f"{reason}", self.device) for spec in specs]
        for future, result in zip(futures, results):
            if not future.done():
                future.set_result(result)

    def flush(self) -> None:
        """Nothing is buffered: ``submit`` queues the task."""

    def _finish(self, ref, spec: TrainSpec, done: Future) -> None:
        future = self.in_flight.pop(ref, None)
        if future is None or future.done():
            return
        try:
            result = done.result()
        except Exception as error:  # the task's worker or node died for good, or Ray failed
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            result = failed_result(
                spec, f"ray: {type(error).__name__} after up to {self.max_retries} retries: "
                      f"{reason}", self.device)
        future.set_result(result)

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            for ref in list(self.in_flight):
                ray.cancel(ref, force=True)
        if self.started_ray:
            ray.shutdown()


def runs_at_once(resources: dict, num_cpus: float, num_gpus: float) -> int:
    """How many tasks of this shape the cluster holds at once (at least 1)."""
    fits = [resources.get("CPU", 0) / num_cpus] if num_cpus > 0 else []
    if num_gpus > 0:
        fits.append(resources.get("GPU", 0) / num_gpus)
    return max(1, int(min(fits)))
