"""Executors run ``RunSpec``s and hand back ``RunResult``s; they never write the registry.

An executor has the ``concurrent.futures`` shape: ``submit(spec) -> Future`` of a
``RunResult``, plus ``capacity`` (how many runs it keeps in flight) and
``shutdown(cancel)``. ``results(specs, executor)`` drives any of them, keeping
at most ``capacity`` runs in flight and yielding results as they complete, so
the driver records each one as soon as it exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Protocol

from cegbench.plan import RunSpec
from cegbench.train import RunResult


class Executor(Protocol):
    capacity: int

    def submit(self, spec: RunSpec) -> Future: ...

    def shutdown(self, cancel: bool = False) -> None: ...


def results(specs: Iterable[RunSpec], executor: Executor) -> Iterator[RunResult]:
    """Run every spec on ``executor``; yield results in completion order."""
    pending = iter(specs)
    in_flight: set[Future] = set()
    try:
        while True:
            while len(in_flight) < executor.capacity:
                spec = next(pending, None)
                if spec is None:
                    break
                in_flight.add(executor.submit(spec))
            if not in_flight:
                return
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        executor.shutdown(cancel=True)
