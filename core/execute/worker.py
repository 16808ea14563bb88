"""What a remote worker (a Ray task, a Slurm job) needs to run specs like the driver would.

The driver ships its ``--plugins`` files as (path, source) pairs, so a worker on
another machine loads the same plugins even where the path does not exist
there; installed plugins (entry points) must be installed on every node.
Datasets need no shipping: ``synthetic`` is generated, ``enwiki-sample`` is
embedded in the package, and ``text:PATH`` is read from PATH, which must be on
a filesystem every node sees. Each is prepared into a token store (seconds), so
engines point ``CEGBENCH_DATA_CACHE`` at a folder named by ``data_cache_name()``
where the first worker writes it for the others, unless the driver sets the
variable itself: a downloaded corpus (``fineweb-edu:10B``) is prepared once with
``cegbench data prepare`` into a folder every node sees, named by that variable.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.data import names as data
from cegbench.plan.specs import TrainSpec
from cegbench.provenance import utc_now
from cegbench.train.environment import environment
from cegbench.train.trainer import RunResult

ShippedPlugins = tuple[tuple[str, str], ...]  # (absolute path, source text) per --plugins file

_catalogs: dict[ShippedPlugins, object] = {}


def ship_plugins(plugin_paths) -> ShippedPlugins:
    """The driver's ``--plugins`` files with their source, ready to send to workers."""
    return tuple((str(path), Path(path).read_text()) for path in plugin_paths)


def worker_components(shipped: ShippedPlugins):
    """The components of the driver's plugins, loaded once per worker process."""
    if shipped not in _catalogs:
        _catalogs[shipped] = load_catalog(local_copies(shipped)).components
    return _catalogs[shipped]


def local_copies(shipped: ShippedPlugins) -> list[str]:
    """Paths of the plugin files on this machine: the driver's own where identical, else a copy
    (same file name, so the plugin's module name is the same)."""
    paths = []
    for path, source in shipped:
        here = Path(path)
        if not (here.is_file() and here.read_text() == source):
            here = Path(tempfile.mkdtemp(prefix="cegbench-plugins-")) / here.name
            here.write_text(source)
        paths.append(str(here))
    return paths


def data_cache_name() -> str:
    """A dataset cache folder's name, after the data code: a changed generator never reads an old cache."""
    return "cegbench-data-" + data.code_version()


def failed_result(spec: TrainSpec, reason: str, device: str = "cpu") -> RunResult:
    """A run that never produced a result of its own (its worker or job died), with the reason."""
    now = utc_now()
    return RunResult(spec.run_id, spec, status="failed", error=reason, started_at=now,
                     finished_at=now, environment=environment(device))
