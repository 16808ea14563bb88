"""Loads plugins and turns their declarations into a validated ``Catalog``.

Built-ins are listed in ``DEFAULT_PLUGINS`` and registered exactly like
third-party plugins, which come from the entry-point group ``cegbench`` (or a
local file passed with ``--plugins path.py``).

Environment variables:

* ``CEGBENCH_DISABLE_PLUGIN_AUTOLOAD=1`` — load no entry-point plugins;
* ``CEGBENCH_LOAD_PLUGINS=a,b`` — load only these entry points;
* ``CEGBENCH_STRICT_PLUGINS=1`` — a broken third-party plugin is fatal instead
  of being reported and skipped.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import pluggy

from cegbench import __version__, hookspecs
from cegbench.components import KINDS, Components, Lookup
from cegbench.innovations import (
    ARMS,
    Component,
    DeclarationError,
    Innovation,
    validate_innovation,
)

ENTRY_POINT_GROUP = "cegbench"

DEFAULT_PLUGINS = (
    "cegbench.models.layers",
    "cegbench.models.gpt",
    "cegbench.models.lstm",
    "cegbench.optim",
    "cegbench.allocation",
    "cegbench.plugins.swiglu",
    "cegbench.plugins.rmsnorm",
    "cegbench.plugins.adam",
    "cegbench.plugins.adamw",
    "cegbench.plugins.cosine",
    "cegbench.plugins.warmup",
    "cegbench.plugins.chinchilla",
    "cegbench.plugins.lstm_to_transformer",
    "cegbench.plugins.gelu",
    "cegbench.plugins.pre_norm",
    "cegbench.plugins.rope",
    "cegbench.plugins.grouped_query_attention",
    "cegbench.plugins.mixture_of_experts",
    "cegbench.plugins.qk_norm",
    "cegbench.plugins.relu_squared",
    "cegbench.plugins.untied_head",
    "cegbench.plugins.flash_attention",
    "cegbench.plugins.transformer_2017_to_modern",
)


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


@dataclass
class Catalog:
    """Everything the loaded plugins declared, validated and frozen."""

    innovations: Lookup[Innovation]
    components: Components
    plugins: list[PluginInfo]
    problems: list[str]  # plugins reported and skipped, one line each
    plugin_paths: tuple[str, ...] = ()

    def plugin_info(self, name: str) -> PluginInfo:
        return next(p for p in self.plugins if p.name == name)


def strict_plugins() -> bool:
    return os.environ.get("CEGBENCH_STRICT_PLUGINS", "") not in ("", "0")


def load_catalog(plugin_paths=(), *, autoload: bool | None = None) -> Catalog:
    """Load built-in, entry-point and file plugins; validate what they declare.

    A third-party plugin that fails to import or declares something invalid is
    reported in ``Catalog.problems`` and skipped (fatal under
    ``CEGBENCH_STRICT_PLUGINS=1``); a broken built-in or ``--plugins`` file is
    always fatal, because the user asked for it by name.
    """
    pm = pluggy.PluginManager("cegbench")
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    problems: list[str] = []

    def register(plugin, info: PluginInfo) -> None:
        try:
            pm.register(plugin, name=info.name)
        except (ValueError, pluggy.PluginValidationError) as error:
            raise PluginError(f"plugin {info.name!r} ({info.source}): {error}") from error
        infos[info.name] = info

    for dotted in DEFAULT_PLUGINS:
        register(
            importlib.import_module(dotted),
            PluginInfo(dotted, "cegbench", __version__, True, dotted),
        )
    if autoload is None:
        autoload = os.environ.get("CEGBENCH_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0")
    if autoload:
        for plugin, info, error in _entry_point_plugins():
            if error is not None:
                _report(problems, error)
            else:
                register(plugin, info)
    for path in plugin_paths:
        plugin, info = _file_plugin(Path(path))
        register(plugin, info)
    pm.check_pending()

    components = Components()
    for plugin_name, component in _declarations(pm, "cegbench_register_components"):
        try:
            _add_component(components, plugin_name, component)
        except (DeclarationError, ValueError) as error:
            _skip_or_raise(infos[plugin_name], error, problems)
            continue
        infos[plugin_name].components.append(f"{component.kind}:{component.name}")

    innovations: Lookup[Innovation] = Lookup("innovation")
    for plugin_name, innovation in _declarations(pm, "cegbench_register_innovations"):
        try:
            innovation = _check_innovation(components, plugin_name, innovation)
            innovations.register(innovation.name, innovation, origin=plugin_name)
        except (DeclarationError, ValueError) as error:
            _skip_or_raise(infos[plugin_name], error, problems)
            continue
        infos[plugin_name].innovations.append(innovation.name)

    for name, info in infos.items():
        plugin = pm.get_plugin(name)
        info.hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
    components.freeze()
    innovations.freeze()
    return Catalog(
        innovations=innovations,
        components=components,
        plugins=sorted(infos.values(), key=lambda p: (not p.builtin, p.name)),
        problems=problems,
        plugin_paths=tuple(str(Path(p).resolve()) for p in plugin_paths),
    )


def _declarations(pm: pluggy.PluginManager, hook_name: str):
    """Call each implementation of a hook alone, so every result has its plugin."""
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():  # in registration order
        plugin_name = pm.get_name(impl.plugin)
        try:
            declared = impl.function()
        except Exception as error:  # a crashing hook is the plugin's fault: name it
            raise PluginError(
                f"plugin {plugin_name!r}: {hook_name}() raised {type(error).__name__}: {error}"
            ) from error
        if declared is None:
            continue
        if not isinstance(declared, (list, tuple)):
            raise DeclarationError(
                f"plugin {plugin_name!r}: {hook_name}() must return a list, "
                f"got {type(declared).__name__}"
            )
        for item in declared:
            yield plugin_name, item


def _add_component(components: Components, plugin_name: str, component) -> None:
    if not isinstance(component, Component):
        raise DeclarationError(
            f"plugin {plugin_name!r}: cegbench_register_components must return "
            f"cegbench.Component objects, got {type(component).__name__}"
        )
    where = f"plugin {plugin_name!r}, component {component.name!r}"
    if component.kind not in KINDS:
        raise DeclarationError(
            f"{where}: field 'kind' must be one of {', '.join(KINDS)}; got {component.kind!r}"
        )
    if not isinstance(component.name, str) or not component.name:
        raise DeclarationError(f"{where}: field 'name' must be a non-empty string")
    if component.implementation is None:
        raise DeclarationError(f"{where}: field 'implementation' is None")
    components[component.kind].register(component.name, component.implementation, plugin_name)


def _check_innovation(components: Components, plugin_name: str, innovation) -> Innovation:
    validate_innovation(plugin_name, innovation)
    for arm in ARMS:
        for kind, name in innovation.recipe(arm).component_fields().items():
            if name not in components[kind]:
                raise DeclarationError(
                    f"plugin {plugin_name!r}, innovation {innovation.name!r}, arm {arm!r}: "
                    f"field {kind!r}: {components[kind].unknown_message(name)}"
                )
    return replace(innovation, plugin=plugin_name)


def _entry_point_plugins():
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
            plugin = entry_point.load()
        except Exception as error:
            yield None, None, PluginError(
                f"Error importing plugin {entry_point.name!r} from distribution "
                f"{info.distribution!r} ({source}): {type(error).__name__}: {error}"
            )
            continue
        yield plugin, info, None


def _file_plugin(path: Path):
    if not path.is_file():
        raise PluginError(f"plugin file {str(path)!r} does not exist")
    module_name = f"cegbench_local_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise PluginError(
            f"Error importing plugin file {str(path)!r}: {type(error).__name__}: {error}"
        ) from error
    return module, PluginInfo(path.stem, None, None, False, str(path.resolve()))


def _skip_or_raise(info: PluginInfo, error: Exception, problems: list[str]) -> None:
    if info.builtin or info.distribution is None:  # built-ins and --plugins files
        raise PluginError(str(error)) from error
    _report(problems, PluginError(f"{error} (declaration skipped)"))


def _report(problems: list[str], error: Exception) -> None:
    if strict_plugins():
        raise error
    problems.append(str(error))
