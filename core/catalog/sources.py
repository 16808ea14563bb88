"""Where plugins come from: the installed distributions' entry points (group
``cegbench``; ``CEGBENCH_LOAD_PLUGINS`` picks some), local files (``--plugins path.py``),
each one imported alone so that a crash names it; and a plugin's identity
(``PluginInfo``), its load error (``PluginError``), and a line on standard error when one
takes longer than ``CEGBENCH_PLUGIN_SLOW_S`` seconds."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ENTRY_POINT_GROUP = "cegbench"
SLOW_PLUGIN_S = 5.0  # default of CEGBENCH_PLUGIN_SLOW_S


class PluginError(Exception):
    """A plugin could not be loaded or declared something invalid."""


@dataclass
class PluginInfo:
    """What ``cegbench plugins`` prints about one loaded plugin."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool
    source: str  # dotted module path, entry point "name = module", or file path
    hooks: list[str] = field(default_factory=list)
    innovations: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)


def entry_point_plugins():
    """Yield (plugin, info, None) or (None, None, error) per entry point, one at a time."""
    allowed = os.environ.get("CEGBENCH_LOAD_PLUGINS")
    allow = {name.strip() for name in allowed.split(",")} if allowed else None
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allow is not None and entry_point.name not in allow:
            continue
        dist = entry_point.dist
        source = f"{entry_point.name} = {entry_point.value}"
        info = PluginInfo(
            entry_point.name,
            dist.name if dist else None,
            dist.version if dist else None,
            False,
            source,
        )
        try:
            with said_if_slow(f"plugin {entry_point.name!r} ({source}, distribution "
                               f"{info.distribution!r})", False):
                plugin = entry_point.load()
        except Exception as error:
            yield None, None, PluginError(
                f"Error importing plugin {entry_point.name!r} from distribution "
                f"{info.distribution!r} ({source}): {type(error).__name__}: {error}"
            )
            continue
        yield plugin, info, None


def file_plugin(path: Path):
    if not path.is_file():
        raise PluginError(f"plugin file {str(path)!r} does not exist")
    if path.suffix != ".py":
        raise PluginError(f"plugin file {str(path)!r} is not a Python file: --plugins takes a "
                          "path ending in .py (an installed package is loaded by its entry point)")
    module_name = f"cegbench_local_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        with said_if_slow(f"plugin file {str(path)!r}", False):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        raise PluginError(
            f"Error importing plugin file {str(path)!r}: {type(error).__name__}: {error}"
        ) from error
    return module, PluginInfo(path.stem, None, None, False, str(path.resolve()))


@contextlib.contextmanager
def said_if_slow(what: str, builtin: bool):
    """If loading ``what`` takes longer than ``CEGBENCH_PLUGIN_SLOW_S`` seconds, say on
    standard error which plugin it is (once), so that a plugin whose import hangs is
    found; built-ins are not watched."""
    try:
        delay = float(os.environ.get("CEGBENCH_PLUGIN_SLOW_S", SLOW_PLUGIN_S))
    except ValueError:
        delay = SLOW_PLUGIN_S
    if builtin or delay <= 0:
        yield
        return
    stderr = sys.stderr  # as it is now: a redirect may be gone when the timer fires

    def say():
        print(f"cegbench: still loading {what} after {delay:g} s; if it hangs, press Ctrl-C and "
              "leave it out (CEGBENCH_LOAD_PLUGINS=other,names or "
              "CEGBENCH_DISABLE_PLUGIN_AUTOLOAD=1 for an installed plugin; drop --plugins for a "
              "file)", file=stderr, flush=True)

    timer = threading.Timer(delay, say)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
