"""Executors run ``TrainSpec``s (measurement runs and tuning runs) and hand back ``RunResult``s;
they never write the registry.

An executor has the ``concurrent.futures`` shape: ``submit(spec) -> Future`` of a
``RunResult``, plus ``capacity`` (how many runs it keeps in flight),
``flush()`` (send what ``submit`` may have buffered, e.g. into one Slurm job
array) and ``shutdown(cancel)``. A future always resolves to a ``RunResult``:
a worker or job that dies becomes a failed result with its reason, never an
exception. ``results(specs, executor)`` drives any of them, keeping at most
``capacity`` runs in flight and yielding results as they complete, so the
driver records each one as soon as it exists.

Packing (``cegbench.train.pack``): an executor whose ``pack`` is true gets the specs
grouped into packs of one shape (``cegbench.plan.specs.pack_groups``) and trains each
pack as one task, ``submit_pack(specs) -> [Future]``, one future per run; its
``capacity`` then counts tasks (packs or lone runs). Every run still has its own
result, so the driver's resume, ``--retry-failed`` and "first ok run wins" work
per run. ``pack=None`` takes the device's default, ``PACK_BY_DEFAULT``.

``make_executor(name, ...)`` builds one by name from ``EXECUTORS``: ``local``
(this machine), ``ray`` (``execute/ray.py``) or ``slurm`` (``execute/slurm.py``);
the engines are imported only when chosen, so the default install needs neither,
and this module imports no engine and no torch (the CLI reads ``EXECUTORS``).
"""

from __future__ import annotations

import importlib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Protocol

from cegbench.execute.config import EXECUTORS, executor_settings
from cegbench.plan.specs import pack_groups

if TYPE_CHECKING:
    from cegbench.plan.specs import TrainSpec
    from cegbench.train.trainer import RunResult

# Packing on by default where it pays, per device type. CPU: vmap packing measured
# 0.71–0.83x the speed of running the runs one after another (bench_trainer.py
# measures it again), so off. CUDA: small models leave the GPU idle between kernels and
# packing batches N runs into each kernel (HFTA reports up to 15x): on, pending
# bench_gpu.py on a GPU.
PACK_BY_DEFAULT = {"cpu": False, "cuda": True}


def pack_default(device: str) -> bool:
    """Whether runs on this device train packed unless ``--pack/--no-pack`` says otherwise
    (``device`` as torch names it: "cpu", "cuda", "cuda:1")."""
    return PACK_BY_DEFAULT.get(device.partition(":")[0], False)


class Executor(Protocol):
    capacity: int

    def submit(self, spec: TrainSpec) -> Future: ...

    # executors that pack also have: pack: bool, submit_pack(specs) -> list[Future]

    def flush(self) -> None: ...

    def shutdown(self, cancel: bool = False) -> None: ...


def results(specs: Iterable[TrainSpec], executor: Executor,
            keep: Callable[[list[TrainSpec]], list[TrainSpec]] | None = None) -> Iterator[RunResult]:
    """Run every spec on ``executor``; yield results in completion order.

    With ``executor.pack``, specs of one shape go as one pack (``submit_pack``); at most
    ``capacity`` tasks (packs or lone runs) are in flight. ``keep(task's specs)``, called
    just before each task is submitted, returns the ones still to run (the sweep drops
    those another process sharing the registry recorded meanwhile).
    """
    packing = getattr(executor, "pack", False) and hasattr(executor, "submit_pack")
    units = iter(pack_groups(list(specs)) if packing else ([spec] for spec in specs))
    in_flight: set[Future] = set()
    task_of: dict[Future, int] = {}  # future -> its task
    unfinished: dict[int, int] = {}  # task -> runs not yet finished
    tasks = itertools.count()
    finished = False
    try:
        while True:
            while len(unfinished) < executor.capacity:
                unit = next(units, None)
                if unit is None:
                    break
                if keep is not None:
                    unit = keep(unit)
                    if not unit:
                        continue
                futures = executor.submit_pack(unit) if len(unit) > 1 else [executor.submit(unit[0])]
                task = next(tasks)
                unfinished[task] = len(futures)
                for future in futures:
                    task_of[future] = task
                in_flight.update(futures)
            executor.flush()
            if not in_flight:
                finished = True
                return
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                task = task_of.pop(future)
                unfinished[task] -= 1
                if not unfinished[task]:
                    del unfinished[task]
                yield future.result()
    finally:  # stopped early (Ctrl-C, an error): cancel what is still queued or running
        executor.shutdown(cancel=not finished)


class ExecutorUnavailable(RuntimeError):
    """The chosen executor's engine is not installed."""


def make_executor(name: str, components, *, plugin_paths=(), device: str = "cpu", jobs: int = 1,
                  settings: dict | None = None, pack: bool | None = None) -> Executor:
    """The executor called ``name`` (one of ``EXECUTORS``), with that engine's ``settings``;
    ``jobs`` is the local executor's only setting; ``pack`` None: the device's default
    (``PACK_BY_DEFAULT``)."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; expected {', '.join(EXECUTORS)}")
    module, class_name, extra = EXECUTORS[name]
    try:
        engine = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if extra is None or error.name != extra:
            raise
        raise ExecutorUnavailable(f"the {name} executor needs {extra}: "
                                  f"pip install 'cegbench[{name}]'") from None
    settings = {"jobs": jobs} if name == "local" else settings or {}
    executor = getattr(engine, class_name)(components, plugin_paths=plugin_paths, device=device,
                                           **settings)
    executor.pack = pack_default(device) if pack is None else pack
    return executor


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    return len(os.sched_getaffinity(0))


JOBS_PER_CPU = 4  # local jobs allowed per CPU: each is a process with its own torch (~0.3 GB)


def max_jobs() -> int:
    """The most local jobs a sweep may start: ``JOBS_PER_CPU`` per CPU this process may use."""
    return JOBS_PER_CPU * available_cpus()


def executor_choice(*, name: str | None = None, jobs: int | None = None,
                    ray_address: str | None = None, config: str | None = None):
    """(name, jobs, engine settings) that the settings file (``cegbench.execute.config``) asks for,
    with command-line values (those not None) taking precedence. Local ``jobs`` defaults
    to the CPUs this process may use."""
    settings = executor_settings(config)
    name = name or settings.get("name", "local")
    if jobs is not None and name != "local":
        raise ValueError(f"--jobs is for the local executor, not {name!r}: set the {name} "
                         f"executor's resources in the settings file's [executor.{name}] table")
    given = "--jobs" if jobs is not None else "the settings file's executor.jobs"
    jobs = jobs or settings.get("jobs") or available_cpus()
    if name == "local" and jobs > max_jobs():
        raise ValueError(f"{given} is {jobs}, more than the {max_jobs()} local jobs this machine "
                         f"takes ({JOBS_PER_CPU} per CPU this process may use, "
                         f"{available_cpus()}): each job is a process with its own copy of "
                         "the model code and data; pass at most that")
    engine_settings = dict(settings.get(name, {}))
    if ray_address is not None:
        if name != "ray":
            raise ValueError(f"--ray-address is for the ray executor, not {name!r}")
        engine_settings["address"] = ray_address
    return name, jobs, engine_settings
