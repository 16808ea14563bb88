"""The local executor: runs in this process (``jobs=1``) or in a process pool.

Worker processes are started fresh (``spawn``) and load the same plugins as the
driver, so components a ``--plugins`` file registers work in them too. Each
worker gets an equal share of the CPU threads. A worker that dies (killed, out of
memory, a crash in native code) fails the runs it held with that reason, and the
pool is started again for the rest of the sweep.

A pack (``submit_pack``) is one task: its runs train together in one worker and
come back together; a worker that dies fails the pack's runs, each with the reason.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import torch

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.execute import available_cpus
from cegbench.execute.worker import failed_result
from cegbench.plan.specs import TrainSpec
from cegbench.train.pack import run_pack
from cegbench.train.trainer import RunResult, run

_worker_components = None
_worker_device = "cpu"


def _start_worker(plugin_paths: tuple[str, ...], threads: int, device: str) -> None:
    global _worker_components, _worker_device
    torch.set_num_threads(threads)
    _worker_components = load_catalog(plugin_paths).components
    _worker_device = device


def _run_in_worker(spec: TrainSpec) -> RunResult:
    return run(spec, _worker_components, _worker_device)


def _run_pack_in_worker(specs: list[TrainSpec]) -> list[RunResult]:
    return run_pack(specs, _worker_components, _worker_device)


class LocalExecutor:
    """``jobs`` runs at a time on this machine."""

    def __init__(self, components, *, jobs: int = 1, plugin_paths=(), device: str = "cpu"):
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.capacity = jobs
        self.components = components
        self.device = device
        self.plugin_paths = tuple(plugin_paths)
        self.pool = self._new_pool() if jobs > 1 else None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.capacity,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.plugin_paths, max(1, available_cpus() // self.capacity), self.device),
        )

    def submit(self, spec: TrainSpec) -> Future:
        if self.pool is None:
            future: Future = Future()
            future.set_result(run(spec, self.components, self.device))
            return future
        try:
            in_worker = self.pool.submit(_run_in_worker, spec)
        except BrokenProcessPool:  # a worker died since the last submit
            self.pool.shutdown(wait=False)
            self.pool = self._new_pool()
            in_worker = self.pool.submit(_run_in_worker, spec)
        result: Future = Future()
        in_worker.add_done_callback(lambda done: self._resolve(result, done, spec))
        return result

    def submit_pack(self, specs: list[TrainSpec]) -> list[Future]:
        """Train ``specs`` (one shape) as one pack; a future per run, in order."""
        futures = [Future() for _ in specs]
        if self.pool is None:
            for future, result in zip(futures, run_pack(specs, self.components, self.device)):
                future.set_result(result)
            return futures
        try:
            in_worker = self.pool.submit(_run_pack_in_worker, specs)
        except BrokenProcessPool:
            self.pool.shutdown(wait=False)
            self.pool = self._new_pool()
            in_worker = self.pool.submit(_run_pack_in_worker, specs)
        in_worker.add_done_callback(lambda done: self._resolve_pack(futures, done, specs))
        return futures

    def _resolve_pack(self, futures: list[Future], done: Future, specs: list[TrainSpec]) -> None:
        if done.cancelled():
            for future in futures:
                future.cancel()
        elif done.exception() is not None:
            for future, spec in zip(futures, specs):
                future.set_result(failed_result(
                    spec, f"local worker process died: {done.exception()!r}", self.device))
        else:
            for future, result in zip(futures, done.result()):
                future.set_result(result)

    def _resolve(self, result: Future, done: Future, spec: TrainSpec) -> None:
        if done.cancelled():
            result.cancel()
        elif done.exception() is not None:
            result.set_result(failed_result(
                spec, f"local worker process died: {done.exception()!r}", self.device))
        else:
            result.set_result(done.result())

    def flush(self) -> None:
        """Nothing is buffered: ``submit`` starts the run."""

    def shutdown(self, cancel: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=cancel)
