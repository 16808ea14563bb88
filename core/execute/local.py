"""The local executor: runs in this process (``jobs=1``) or in a process pool.

Worker processes are started fresh (``spawn``) and load the same plugins as the
driver, so components a ``--plugins`` file registers work in them too. Each
worker gets an equal share of the CPU threads.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor

import torch

from cegbench.plan import RunSpec
from cegbench.train import RunResult, run

_worker_components = None
_worker_device = "cpu"


def _start_worker(plugin_paths: tuple[str, ...], threads: int, device: str) -> None:
    global _worker_components, _worker_device
    from cegbench.plugin_manager import load_catalog

    torch.set_num_threads(threads)
    _worker_components = load_catalog(plugin_paths).components
    _worker_device = device


def _run_in_worker(spec: RunSpec) -> RunResult:
    return run(spec, _worker_components, _worker_device)


class LocalExecutor:
    """``jobs`` runs at a time on this machine."""

    def __init__(self, components, *, jobs: int = 1, plugin_paths=(), device: str = "cpu"):
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.capacity = jobs
        self.components = components
        self.device = device
        self.pool = None
        if jobs > 1:
            threads = max(1, (os.cpu_count() or 1) // jobs)
            self.pool = ProcessPoolExecutor(
                max_workers=jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(tuple(plugin_paths), threads, device),
            )

    def submit(self, spec: RunSpec) -> Future:
        if self.pool is not None:
            return self.pool.submit(_run_in_worker, spec)
        future: Future = Future()
        future.set_result(run(spec, self.components, self.device))
        return future

    def flush(self) -> None:
        """Nothing is buffered: ``submit`` starts the run."""

    def shutdown(self, cancel: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=cancel)
