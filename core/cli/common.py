"""What the ``cegbench`` commands share: their repeated options (sqlite-utils style
decorators), loading the plugins and looking names up with click errors, and opening
the registry (a file that is not one is one line, exit status 2).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import click

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.catalog.sources import PluginError
from cegbench.cli.terminal import printable
from cegbench.components import UnknownName
from cegbench.innovations import DeclarationError
from cegbench.registry import DEFAULT_REGISTRY
from cegbench.registry.external_tiers import external_tiers, get_external_tier
from cegbench.registry.faults import registry_fault
from cegbench.registry.opening import RegistryError, open_registry
from cegbench.stored import StoredValueError
from cegbench.tiers import TIERS


def registry_option(command):
    return click.option(
        "--registry", "registry_path", type=click.Path(),
        default=os.environ.get("CEGBENCH_REGISTRY", DEFAULT_REGISTRY),
        show_default=True, help="SQLite registry file (env CEGBENCH_REGISTRY).",
    )(command)


def plugins_option(command):
    return click.option(
        "--plugins", "plugin_paths", multiple=True, type=click.Path(dir_okay=False),
        help="Load a plugin from a local Python file (repeatable).",
    )(command)


def from_option(command):
    return click.option(
        "--from", "export_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
        help="Read these exports (`cegbench export`: .jsonl/.csv, possibly .gz) instead of "
             "--registry: import into a temporary registry and analyse. Repeatable.",
    )(command)


def innovation_option(command):
    return click.option(
        "--innovation", "innovation_names", multiple=True,
        help="Only this innovation (repeatable). Default: all.",
    )(command)


def tier_option(required: bool, external: bool = False):
    more = ", or an external tier in the registry (`cegbench import --external`)" if external else ""
    return click.option(
        "--tier", "tier_name", required=required,
        help=f"Tier: {', '.join(TIERS)}{more}.",
    )


def catalog_or_exit(plugin_paths):
    try:
        catalog = load_catalog(plugin_paths)
    except (PluginError, DeclarationError) as error:
        raise click.ClickException(str(error)) from error
    for problem in [*catalog.problems, *catalog.warnings]:
        click.secho(printable(f"warning: {problem}"), fg="yellow", err=True)
    return catalog


def lookup_tier(name: str):
    try:
        return TIERS.get(name)
    except UnknownName as error:
        raise click.BadParameter(str(error), param_hint="'--tier'") from None


def select_innovations(catalog, names):
    if not names:
        return [catalog.innovations.get(name) for name in catalog.innovations]
    try:
        return [catalog.innovations.get(name) for name in names]
    except UnknownName as error:
        raise click.BadParameter(str(error), param_hint="'--innovation'") from None


class RegistryProblem(click.ClickException):
    """A registry file that cannot be used: one line, exit status 2."""

    exit_code = 2


def open_db(path, *, must_exist: bool = True, write: bool | None = None):
    """Open the registry; reading commands refuse to create one and write nothing."""
    write = not must_exist if write is None else write
    click.get_current_context().meta["cegbench.registry"] = str(path)
    try:
        return open_registry(Path(path), readonly=not write, create=not must_exist)
    except RegistryError as error:
        raise RegistryProblem(str(error)) from None


def refuse_writing_over(out: Path, registry: Path) -> None:
    """A one-line error when writing ``out`` (or ``out``.partial, written first) would
    overwrite the registry or its ``-wal``/``-shm`` files: the same file by any path,
    symbolic links resolved, hard links compared."""
    companions = [registry, Path(f"{registry}-wal"), Path(f"{registry}-shm")]
    for target in (out, Path(f"{out}.partial")):
        for source in companions:
            if os.path.realpath(target) == os.path.realpath(source) or _same_file(target, source):
                raise click.ClickException(
                    f"--out {str(out)!r} is the registry {str(registry)!r} itself"
                    + ("" if source == registry else f" (its file {source.name!r})")
                    + " (links resolved): writing there would destroy the registry; pass "
                    "another --out")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (or cannot be reached): not one file
        return False


class Group(click.Group):
    """Turns what a command meets mid-way into one line, not a traceback: an SQLite error
    (told apart by ``registry.db.registry_fault``: disk full, read-only, busy, locked,
    damaged by ``PRAGMA integrity_check``) and a value of the registry that does not parse
    (exit 2), and an error of the operating system, e.g. a full disk under ``--out``
    (exit 1)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except sqlite3.DatabaseError as error:
            registry = ctx.meta.get("cegbench.registry")
            if registry is None:
                raise click.ClickException(f"SQLite error: {error}") from None
            raise RegistryProblem(registry_fault(registry, error, writing=True)) from None
        except StoredValueError as error:
            registry = ctx.meta.get("cegbench.registry")
            where = f"registry {registry!r}" if registry else "the registry"
            raise RegistryProblem(f"{where}: {error}; fix or delete that row (any SQLite tool "
                                  "edits it), or restore the registry from a backup") from None
        except OSError as error:
            if error.errno == errno.EPIPE:  # `cegbench export | head`: click ends quietly
                raise
            raise click.ClickException(os_error_line(error)) from None


def os_error_line(error: OSError) -> str:
    """An error of the operating system as one line naming the file and what to do."""
    name = f" {error.filename!r}" if error.filename else ""
    what = error.strerror or str(error)
    hint = {errno.ENOSPC: "the disk is full: free some space and run the command again",
            errno.EROFS: "the disk is mounted read-only: write somewhere else",
            errno.EACCES: "check the permissions of the file and its folder",
            errno.EPERM: "check the permissions of the file and its folder",
            errno.EDQUOT: "the disk quota is used up: free some space"}.get(error.errno)
    return f"cannot use{name}: {what}" + (f"; {hint}" if hint else "")


def analysis_options(command):
    """``--fixed-E``, ``--target-loss`` and ``--fit-window``: ``analyze_innovation``'s
    options, recorded in each verdict's method."""
    command = click.option(
        "--fit-window", "fit_window", type=(float, float), default=None, metavar="MIN MAX",
        help="Fit only the budgets from MIN to MAX FLOPs.")(command)
    command = click.option(
        "--target-loss", "target_loss", type=click.FloatRange(min=0, min_open=True), default=None,
        help="Read the CEG at this loss off the measured frontiers (instead of at the "
             "baseline's frontier losses).")(command)
    return click.option(
        "--fixed-E", "fixed_E", type=click.FloatRange(min=0, min_open=True), default=None,
        help="Hold the irreducible loss E of both arms at this value instead of fitting it.")(command)


def options_dict(fixed_E, target_loss, fit_window) -> dict:
    """The analysis options given (``analysis_options``), as keyword arguments."""
    if fit_window is not None and not 0 < fit_window[0] < fit_window[1]:
        raise click.BadParameter(f"MIN must be below MAX, both positive; got {fit_window[0]:g} "
                                 f"{fit_window[1]:g}", param_hint="'--fit-window'")
    return {"fixed_E": fixed_E, "target_loss": target_loss,
            "fit_window": tuple(fit_window) if fit_window else None}


def lookup_any_tier(db, name: str):
    """A built-in ``Tier`` of that name, else the registry's external tier
    (``registry.external.ExternalTier``); a click error naming both kinds otherwise."""
    if name in TIERS:
        return TIERS.get(name)
    external = get_external_tier(db, name)
    if external is None:
        known = [t.name for t in external_tiers(db)]
        more = f"; external tiers in this registry: {', '.join(known)}" if known else ""
        raise click.BadParameter(f"Unknown tier {name!r}: built-in tiers are {', '.join(TIERS)}{more} "
                                 "(`cegbench import --external FILE` adds one)", param_hint="'--tier'")
    return external


def is_external(tier) -> bool:
    """True for an external tier (``registry.external.ExternalTier``), False for a built-in one."""
    return hasattr(tier, "read")
