"""Loads plugins and turns their declarations into a validated ``Catalog``.

Built-ins are listed in ``DEFAULT_PLUGINS`` and registered exactly like
third-party plugins, which come from the entry-point group ``cegbench`` (or a
local file passed with ``--plugins path.py``).

Environment variables:

* ``CEGBENCH_DISABLE_PLUGIN_AUTOLOAD=1`` — load no entry-point plugins;
* ``CEGBENCH_LOAD_PLUGINS=a,b`` — load only these entry points;
* ``CEGBENCH_STRICT_PLUGINS=1`` — a broken third-party plugin is fatal instead
  of being reported and skipped;
* ``CEGBENCH_PLUGIN_SLOW_S=5`` — seconds a third-party plugin may take to import (or
  to answer its hooks) before a line on standard error names it, so that a plugin
  that hangs is found.

A plugin's prints go to standard error while it loads: standard output is the
commands' own (``list --json``, ``plugins``).

Just over 400 lines: loading, hook-name checks and the validated rebuild belong
together (each check must name the plugin it skips); the component contracts are in
``contracts.py``.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import pluggy

from cegbench import __version__, hookspecs
from cegbench.catalog.contracts import COMPONENT_NAME, contract_error, family_formula_error
from cegbench.components import KINDS, Components, Lookup
from cegbench.data.names import VOCAB_SIZE
from cegbench.innovations import (
    ARMS,
    Component,
    DeclarationError,
    Innovation,
    validate_innovation,
)
from cegbench.literature import unencodable
from cegbench.tiers import TIERS

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
    warnings: list[str] = field(default_factory=list)  # loaded, but probably not as meant

    def plugin_info(self, name: str) -> PluginInfo:
        return next(p for p in self.plugins if p.name == name)


def strict_plugins() -> bool:
    return os.environ.get("CEGBENCH_STRICT_PLUGINS", "") not in ("", "0")


def load_catalog(plugin_paths=(), *, autoload: bool | None = None) -> Catalog:
    """Load built-in, entry-point and file plugins; validate what they declare.

    A plugin's prints go to standard error meanwhile (``sys.stdout`` is redirected), so
    that they never mix into a command's output.

    Every check happens here, at load time: the plugin's hook names, what each
    hook returns, every declaration's fields and every component's contract
    (``cegbench.catalog.contracts``). A third-party plugin that fails any of them is
    reported in ``Catalog.problems`` and skipped whole (fatal under
    ``CEGBENCH_STRICT_PLUGINS=1``), so built-ins and other plugins keep working;
    a broken built-in or ``--plugins`` file is always fatal, because the user
    asked for it by name.
    """
    with contextlib.redirect_stdout(sys.stderr):
        return _load_catalog(plugin_paths, autoload)


def _load_catalog(plugin_paths, autoload: bool | None) -> Catalog:
    pm = pluggy.PluginManager("cegbench")
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    problems: list[str] = []
    warnings: list[str] = []

    def register(plugin, info: PluginInfo) -> None:
        if info.name in infos:
            raise PluginError(
                f"plugin {info.name!r} ({info.source}) is loaded twice: plugin {info.name!r} "
                f"({infos[info.name].source}) already has that name; kept the first")
        warnings.extend(_hook_problems(plugin, info))
        try:
            pm.register(plugin, name=info.name)
        except (ValueError, pluggy.PluginValidationError) as error:
            reason = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
            raise PluginError(f"plugin {info.name!r} ({info.source}): {reason}") from error
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
                _report(problems, error, "skipped")
                continue
            try:
                register(plugin, info)
            except PluginError as error:
                _skip_or_raise(info, error, problems)
    seen_files: set[Path] = set()
    for path in plugin_paths:
        if Path(path).resolve() in seen_files:
            continue  # the same file passed twice is loaded once
        seen_files.add(Path(path).resolve())
        plugin, info = _file_plugin(Path(path))
        register(plugin, info)

    declared = {}  # plugin name -> (components, innovations)
    for name, info in list(infos.items()):
        try:
            with _said_if_slow(f"plugin {name!r} ({info.source}): its hooks", info.builtin):
                declared[name] = _declarations(pm, name)
        except (PluginError, DeclarationError) as error:
            _skip_or_raise(info, error, problems)
            pm.unregister(name=name)
            del infos[name]

    # A plugin skipped for a clash or an unknown name may have provided components
    # others use, so build again without it until every remaining plugin passes.
    while True:
        try:
            components, innovations = _build(declared)
            break
        except _PluginFault as fault:
            _skip_or_raise(infos[fault.plugin], fault.error, problems)
            pm.unregister(name=fault.plugin)
            del infos[fault.plugin], declared[fault.plugin]

    for name, info in infos.items():
        components_of, innovations_of = declared[name]
        info.components = [f"{c.kind}:{c.name}" for c in components_of]
        info.innovations = [i.name for i in innovations_of]
        info.hooks = sorted(h.name for h in pm.get_hookcallers(pm.get_plugin(name)) or [])
    components.freeze()
    innovations.freeze()
    return Catalog(
        innovations=innovations,
        components=components,
        plugins=sorted(infos.values(), key=lambda p: (not p.builtin, p.name)),
        problems=problems,
        plugin_paths=tuple(dict.fromkeys(str(Path(p).resolve()) for p in plugin_paths)),
        warnings=warnings,
    )


class _PluginFault(Exception):
    def __init__(self, plugin: str, error: Exception):
        super().__init__(str(error))
        self.plugin, self.error = plugin, error


HOOK_NAMES = ("cegbench_register_components", "cegbench_register_innovations")


def _hook_problems(plugin, info: PluginInfo) -> list[str]:
    """Raise for a function marked ``@hookimpl`` whose name is no hook (with "did you
    mean"); return warnings for hook-named functions that lack ``@hookimpl``."""
    warnings = []
    for attr in sorted(dir(plugin)):
        try:
            value = getattr(plugin, attr)
        except Exception:  # a module attribute that raises on access is not a hook
            continue
        marked = hasattr(value, "cegbench_impl") and callable(value)
        if marked and attr not in HOOK_NAMES:
            close = difflib.get_close_matches(attr, HOOK_NAMES, n=1, cutoff=0.6)
            hint = (f"; did you mean {close[0]!r}?" if close
                    else f"; hooks are: {', '.join(HOOK_NAMES)}")
            raise PluginError(
                f"plugin {info.name!r} ({info.source}): function {attr!r} is marked @hookimpl "
                f"but is not a cegbench hook{hint}")
        if (not marked and callable(value) and attr.startswith("cegbench_") and not info.builtin
                and not hasattr(value, "cegbench_spec")):  # an imported hookspec is no hook
            close = attr if attr in HOOK_NAMES else (
                difflib.get_close_matches(attr, HOOK_NAMES, n=1, cutoff=0.6) or [None])[0]
            if close:
                warnings.append(
                    f"plugin {info.name!r} ({info.source}): function {attr!r} looks like the "
                    f"hook {close!r} but is not marked @hookimpl, so cegbench never calls it; "
                    "add `from cegbench import hookimpl` and decorate it with @hookimpl")
    return warnings


def _declarations(pm: pluggy.PluginManager, plugin_name: str):
    """Call one plugin's hooks; return its (components, innovations), each checked alone.

    A hook that raises, returns something other than a list of declarations or
    declares something invalid (a field, a name, a component's contract) is a
    ``PluginError`` or ``DeclarationError`` naming the plugin and the field.
    """
    plugin = pm.get_plugin(plugin_name)
    results = {}
    for hook_name in HOOK_NAMES:
        impls = [impl for impl in getattr(pm.hook, hook_name).get_hookimpls()
                 if impl.plugin is plugin]
        results[hook_name] = []
        for impl in impls:
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
            results[hook_name].extend(declared)
    components = [_check_component(plugin_name, c) for c in results["cegbench_register_components"]]
    innovations = []
    for innovation in results["cegbench_register_innovations"]:
        validate_innovation(plugin_name, innovation)
        innovations.append(replace(innovation, plugin=plugin_name))
    return components, innovations


def _check_component(plugin_name: str, component) -> Component:
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
    if not isinstance(component.name, str) or not COMPONENT_NAME.match(component.name):
        raise DeclarationError(
            f"{where}: field 'name' must be 1-63 lowercase letters, digits, '-', '_' or '.', "
            f"starting with a letter or digit; got {component.name!r}")
    if component.implementation is None:
        raise DeclarationError(f"{where}: field 'implementation' is None")
    if isinstance(component.description, str) and (problem := unencodable(component.description)):
        raise DeclarationError(f"{where}: field 'description' {problem}")
    problem = contract_error(component.kind, component.implementation)
    if problem:
        raise DeclarationError(f"{where} ({component.kind}): {problem}")
    return replace(component, plugin=plugin_name)


def _build(declared: dict) -> tuple[Components, Lookup[Innovation]]:
    """Register every plugin's declarations, in load order; a clash or an unknown name
    is a ``_PluginFault`` of the plugin that declared it second or named it."""
    components = Components()
    for plugin_name, (components_of, _) in declared.items():
        for component in components_of:
            registry = components[component.kind]
            if component.name in registry:
                raise _PluginFault(plugin_name, DeclarationError(
                    f"plugin {plugin_name!r}, component {component.name!r}: {component.kind} "
                    f"{component.name!r} is registered twice: by plugin "
                    f"{registry.origin(component.name)!r} and by plugin {plugin_name!r}; kept "
                    f"the one from plugin {registry.origin(component.name)!r}"))
        for component in components_of:
            components[component.kind].register(component.name, component.implementation,
                                                plugin_name)
    innovations: Lookup[Innovation] = Lookup("innovation")
    for plugin_name, (_, innovations_of) in declared.items():
        for innovation in innovations_of:
            try:
                _check_innovation(components, plugin_name, innovation)
            except DeclarationError as error:
                raise _PluginFault(plugin_name, error) from error
            if innovation.name in innovations:
                raise _PluginFault(plugin_name, DeclarationError(
                    f"innovation {innovation.name!r} is registered twice: by plugin "
                    f"{innovations.origin(innovation.name)!r} and by plugin {plugin_name!r}; "
                    f"kept the one from plugin {innovations.origin(innovation.name)!r}"))
        for innovation in innovations_of:
            innovations.register(innovation.name, innovation, origin=plugin_name)
    _check_family_formulas(components, innovations)
    for name in innovations:
        innovation = innovations.get(name)
        for part in innovation.parts:
            if part not in innovations or part == name:
                raise _PluginFault(innovation.plugin, DeclarationError(
                    f"plugin {innovation.plugin!r}, innovation {name!r}: field 'parts': "
                    + ("a bundle cannot contain itself" if part == name
                       else innovations.unknown_message(part))))
    return components, innovations


def _check_family_formulas(components: Components, innovations: Lookup[Innovation]) -> None:
    """Every plugin family's analytic formulas, on every arm that uses it, at every width
    of every tier: FLOPs per token > 0 and a parameter count >= 1 (a budget is divided by
    them); a fault is the family's plugin's. Built-in families are tested instead."""
    families = components["family"]
    for name in innovations:
        innovation = innovations.get(name)
        for arm in ARMS:
            recipe = innovation.recipe(arm)
            owner = families.origin(recipe.family)
            if owner in DEFAULT_PLUGINS:
                continue
            family = families.get(recipe.family)
            for tier in (TIERS.get(t) for t in TIERS):
                for width in tier.widths:
                    problem = family_formula_error(family, recipe, width, VOCAB_SIZE, tier.context,
                                                   components)
                    if problem:
                        raise _PluginFault(owner, DeclarationError(
                            f"plugin {owner!r}, component {recipe.family!r} (family): field "
                            f"'implementation': {problem} (innovation {name!r}, arm {arm!r}, "
                            f"tier {tier.name})"))


def _check_innovation(components: Components, plugin_name: str, innovation) -> None:
    """Every component an arm names is registered."""
    for arm in ARMS:
        for kind, name in innovation.recipe(arm).component_fields().items():
            if name not in components[kind]:
                raise DeclarationError(
                    f"plugin {plugin_name!r}, innovation {innovation.name!r}, arm {arm!r}: "
                    f"field {kind!r}: {components[kind].unknown_message(name)}"
                )


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
            with _said_if_slow(f"plugin {entry_point.name!r} ({source}, distribution "
                               f"{info.distribution!r})", False):
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
    if path.suffix != ".py":
        raise PluginError(f"plugin file {str(path)!r} is not a Python file: --plugins takes a "
                          "path ending in .py (an installed package is loaded by its entry point)")
    module_name = f"cegbench_local_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        with _said_if_slow(f"plugin file {str(path)!r}", False):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        raise PluginError(
            f"Error importing plugin file {str(path)!r}: {type(error).__name__}: {error}"
        ) from error
    return module, PluginInfo(path.stem, None, None, False, str(path.resolve()))


SLOW_PLUGIN_S = 5.0  # default of CEGBENCH_PLUGIN_SLOW_S


@contextlib.contextmanager
def _said_if_slow(what: str, builtin: bool):
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


def _skip_or_raise(info: PluginInfo, error: Exception, problems: list[str]) -> None:
    if info.builtin or info.distribution is None:  # built-ins and --plugins files
        raise PluginError(str(error)) from error
    _report(problems, error,
            f"plugin {info.name!r} from distribution {info.distribution!r} {info.version} skipped")


def _report(problems: list[str], error: Exception, consequence: str) -> None:
    if strict_plugins():
        raise PluginError(f"{error} (fatal: CEGBENCH_STRICT_PLUGINS=1 makes a broken plugin an "
                          "error; unset it to skip the plugin with a warning)") from error
    problems.append(f"{error}; {consequence}")
