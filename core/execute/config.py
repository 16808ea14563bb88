"""Settings read from a ``cegbench.toml`` file (``tomllib``); command-line flags override them.

Only the ``[executor]`` table exists so far::

    [executor]
    name = "ray"                  # local | ray | slurm
    jobs = 2                      # local: runs in parallel

    [executor.ray]
    address = "auto"              # an existing cluster; leave out to start a local one
    num_cpus = 1                  # per run
    num_gpus = 0.25               # per run: a fraction of a GPU for tiny models
    max_retries = 3               # a run whose worker dies is retried this many times

    [executor.slurm]
    folder = "cegbench-slurm"     # logs and per-run result files (on the shared filesystem)
    partition = "gpu"
    time_min = 120                # per job
    gpus_per_job = 1
    cpus_per_job = 4
    runs_per_job = 8              # tiny runs batched in one job
    array_parallelism = 64        # array tasks running at once
    max_requeues = 3              # preemptions / timeouts a job may survive

The file is ``cegbench.toml`` in the working directory, or the one named by
``--config`` or the ``CEGBENCH_CONFIG`` environment variable. Every error names
the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

# name -> (module, executor class, the module its extra installs; None: always installed)
EXECUTORS = {
    "local": ("cegbench.execute.local", "LocalExecutor", None),
    "ray": ("cegbench.execute.ray", "RayExecutor", "ray"),
    "slurm": ("cegbench.execute.slurm", "SlurmExecutor", "submitit"),
}

DEFAULT_CONFIG = "cegbench.toml"

# key -> accepted types, per table; anything else is an error naming file and key
EXECUTOR_KEYS = {"name": (str,), "jobs": (int,)}
ENGINE_KEYS = {
    "ray": {"address": (str,), "num_cpus": (int, float), "num_gpus": (int, float),
            "max_retries": (int,)},
    "slurm": {"folder": (str,), "partition": (str,), "time_min": (int,), "gpus_per_job": (int,),
              "cpus_per_job": (int,), "runs_per_job": (int,), "array_parallelism": (int,),
              "max_requeues": (int,), "cluster": (str,)},
}
AT_LEAST_ONE = {"jobs", "time_min", "runs_per_job", "array_parallelism"}


class ConfigError(ValueError):
    """A settings file is unreadable or holds a key or value cegbench does not accept."""


def config_path(path: str | os.PathLike | None = None) -> Path | None:
    """The settings file to read: the given one, ``$CEGBENCH_CONFIG``, or ./cegbench.toml if present."""
    if path is not None:
        return Path(path)
    if os.environ.get("CEGBENCH_CONFIG"):
        return Path(os.environ["CEGBENCH_CONFIG"])
    default = Path(DEFAULT_CONFIG)
    return default if default.is_file() else None


def executor_settings(path: str | os.PathLike | None = None) -> dict:
    """The validated ``[executor]`` table: {"name", "jobs", "ray": {...}, "slurm": {...}} (keys optional)."""
    path = config_path(path)
    if path is None:
        return {}
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such settings file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    table = document.get("executor", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: key 'executor' must be a table ([executor])")
    settings = {}
    for key, value in table.items():
        if key in ENGINE_KEYS:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: key 'executor.{key}' must be a table ([executor.{key}])")
            settings[key] = {k: checked(path, f"executor.{key}.{k}", v, ENGINE_KEYS[key])
                             for k, v in value.items()}
        else:
            settings[key] = checked(path, f"executor.{key}", value, EXECUTOR_KEYS)
    if settings.get("name", "local") not in EXECUTORS:
        raise ConfigError(f"{path}: key 'executor.name' is {settings['name']!r}; "
                          f"expected one of {', '.join(EXECUTORS)}")
    return settings


def checked(path: Path, dotted: str, value, accepted: dict):
    key = dotted.rsplit(".", 1)[-1]
    if key not in accepted:
        raise ConfigError(f"{path}: unknown key {dotted!r}; expected one of "
                          f"{', '.join(dotted.rsplit('.', 1)[0] + '.' + k for k in accepted)}")
    types = accepted[key]
    if isinstance(value, bool) or not isinstance(value, types):
        names = " or ".join("a number" if t is float else f"an {t.__name__}" if t is int
                            else "a string" for t in types if not (float in types and t is int))
        raise ConfigError(f"{path}: key {dotted!r} must be {names}, got {value!r}")
    if key in AT_LEAST_ONE and value < 1:
        raise ConfigError(f"{path}: key {dotted!r} must be at least 1, got {value!r}")
    if types != (str,) and value < 0:
        raise ConfigError(f"{path}: key {dotted!r} must not be negative, got {value!r}")
    return value
