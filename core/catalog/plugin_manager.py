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

Where plugins come from (entry points, files) is ``catalog.sources``; the component
contracts are ``catalog.contracts``.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import pluggy

from cegbench import __version__, hookspecs
from cegbench.catalog.contracts import COMPONENT_NAME, contract_error, family_formula_error
from cegbench.catalog.sources import (
    PluginError,
    PluginInfo,
    entry_point_plugins,
    file_plugin,
    said_if_slow,
)
from cegbench.components import KINDS, Components, Lookup
from cegbench.data.names import VOCAB_SIZE
from cegbench.innovations import ARMS, Component, DeclarationError, Innovation, validate_innovation
from cegbench.literature import unencodable
from cegbench.tiers import TIERS

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
    loading = _Loading()
    loading.register_all(plugin_paths, autoload)
    declared = loading.declarations()
    # A plugin skipped for a clash or an unknown name may have provided components
    # others use, so build again without it until every remaining plugin passes.
    while True:
        try:
            components, innovations = _build(declared)
            break
        except _PluginFault as fault:
            loading.skip(fault.plugin, fault.error)
            del declared[fault.plugin]
    for name, info in loading.infos.items():
        components_of, innovations_of = declared[name]
        info.components = [f"{c.kind}:{c.name}" for c in components_of]
        info.innovations = [i.name for i in innovations_of]
        info.hooks = sorted(h.name for h in loading.pm.get_hookcallers(loading.pm.get_plugin(name)) or [])
    components.freeze()
    innovations.freeze()
    return Catalog(
        innovations=innovations,
        components=components,
        plugins=sorted(loading.infos.values(), key=lambda p: (not p.builtin, p.name)),
        problems=loading.problems,
        plugin_paths=tuple(dict.fromkeys(str(Path(p).resolve()) for p in plugin_paths)),
        warnings=loading.warnings,
    )


class _Loading:
    """One load: the plugin manager, the plugins registered so far, the problems of the
    plugins skipped and the warnings about the ones kept."""

    def __init__(self):
        self.pm = pluggy.PluginManager("cegbench")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def register(self, plugin, info: PluginInfo) -> None:
        if info.name in self.infos:
            raise PluginError(
                f"plugin {info.name!r} ({info.source}) is loaded twice: plugin {info.name!r} "
                f"({self.infos[info.name].source}) already has that name; kept the first")
        self.warnings.extend(_hook_problems(plugin, info))
        try:
            self.pm.register(plugin, name=info.name)
        except (ValueError, pluggy.PluginValidationError) as error:
            reason = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
            raise PluginError(f"plugin {info.name!r} ({info.source}): {reason}") from error
        self.infos[info.name] = info

    def register_all(self, plugin_paths, autoload: bool | None) -> None:
        """The built-ins, the entry points (unless ``autoload`` is False, or None and
        ``CEGBENCH_DISABLE_PLUGIN_AUTOLOAD`` is set) and the files, each once."""
        for dotted in DEFAULT_PLUGINS:
            self.register(importlib.import_module(dotted),
                          PluginInfo(dotted, "cegbench", __version__, True, dotted))
        if autoload is None:
            autoload = os.environ.get("CEGBENCH_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0")
        if autoload:
            for plugin, info, error in entry_point_plugins():
                if error is not None:
                    _report(self.problems, error, "skipped")
                    continue
                try:
                    self.register(plugin, info)
                except PluginError as error:
                    _skip_or_raise(info, error, self.problems)
        seen_files: set[Path] = set()
        for path in plugin_paths:
            if Path(path).resolve() in seen_files:
                continue  # the same file passed twice is loaded once
            seen_files.add(Path(path).resolve())
            self.register(*file_plugin(Path(path)))

    def declarations(self) -> dict:
        """plugin name → (components, innovations) it declares; a plugin whose hooks fail
        or declare something invalid is skipped (or the load fails: ``_skip_or_raise``)."""
        declared = {}
        for name, info in list(self.infos.items()):
            try:
                with said_if_slow(f"plugin {name!r} ({info.source}): its hooks", info.builtin):
                    declared[name] = _declarations(self.pm, name)
            except (PluginError, DeclarationError) as error:
                self.skip(name, error)
        return declared

    def skip(self, name: str, error: Exception) -> None:
        """Leave plugin ``name`` out, reporting ``error`` (or raise it: ``_skip_or_raise``)."""
        _skip_or_raise(self.infos[name], error, self.problems)
        self.pm.unregister(name=name)
        del self.infos[name]


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
