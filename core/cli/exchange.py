"""``cegbench export`` and ``import``: runs between registries, and runs trained elsewhere
(``import --external``).

The sweep (which analyses an external import) is imported when the command runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cegbench.analysis.options import OptionError
from cegbench.cli.common import (
    RegistryProblem,
    analysis_options,
    catalog_or_exit,
    innovation_option,
    is_external,
    lookup_any_tier,
    open_db,
    options_dict,
    plugins_option,
    refuse_writing_over,
    registry_option,
    select_innovations,
    tier_option,
)
from cegbench.cli.terminal import ClickProgress, show_external_import, show_import
from cegbench.registry.db import innovation_row, innovations
from cegbench.registry.exchange import ImportRejected, import_runs, is_csv, write_export
from cegbench.registry.external import write_external_file
from cegbench.registry.external_tiers import external_tiers
from cegbench.registry.opening import RegistryError, open_registry, registry_exists, remove_registry
from cegbench.tiers import CURVE_READS


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None,
              help="Default: from the --out suffix, else jsonl.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True, help="File to write; - for standard output.")
@tier_option(required=False, external=True)
@innovation_option
@registry_option
def export(fmt, out_path, tier_name, innovation_names, registry_path):
    """Export recorded runs, with their provenance, as JSON lines or CSV; a name
    ending in .gz is gzip-compressed (as leaderboard/runs.jsonl.gz).

    An external tier (--tier NAME) is written in the external format, which
    `cegbench import --external` reads back; exports of built-in tiers leave them out.

    Example: cegbench export --tier smoke --out my-runs.jsonl
    """
    fmt = fmt or ("csv" if is_csv(out_path) else "jsonl")
    if out_path != "-":
        refuse_writing_over(Path(out_path), Path(registry_path))
    db = open_db(registry_path)
    if tier_name and is_external(tier := lookup_any_tier(db, tier_name)):
        if innovation_names:
            raise click.BadParameter("an external tier is exported whole", param_hint="'--innovation'")
        count = write_external_file(db, out_path, fmt, tier)
        click.echo(f"exported {count} external rows of tier {tier.name} v{tier.version}", err=True)
        return
    recorded = {row["name"] for row in innovations(db)}
    for name in innovation_names:
        if name not in recorded:
            raise click.BadParameter(f"innovation {name!r} is not in registry {registry_path}",
                                     param_hint="'--innovation'")
    count = write_export(db, out_path, fmt, tier_name=tier_name, innovations=innovation_names)
    click.echo(f"exported {count} runs", err=True)
    if not tier_name and (left := sorted({t.name for t in external_tiers(db)})):
        click.echo(f"not in it: external tier(s) {', '.join(left)}; `cegbench export --tier NAME` "
                   "writes one in the external format", err=True)


@click.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@registry_option
@click.option("--dry-run", is_flag=True,
              help="Validate the files and report what would be imported; write nothing.")
@click.option("--external", is_flag=True,
              help="The files hold runs trained elsewhere, in the external format "
                   "(docs/external-runs.md); their tier becomes an external tier.")
@click.option("--read", type=click.Choice(CURVE_READS), default=None,
              help="With --external: how the frontier is read off checkpoint curves.  "
                   "[default: isoflop]")
@click.option("--margin", type=click.FloatRange(min=1), default=None,
              help="With --external: the CEG drift per 100× compute 'scale-invariant' allows.  "
                   "[default: 1.25]")
@click.option("--analyze/--no-analyze", default=True, show_default=True,
              help="With --external: analyse the innovations the files fill.")
@analysis_options
@plugins_option
def import_(files, registry_path, dry_run, external, read, margin, analyze, fixed_E, target_loss,
            fit_window, plugin_paths):
    """Merge runs exported by `cegbench export` (.jsonl or .csv, either possibly .gz)
    into the registry; with --external, runs trained elsewhere (docs/external-runs.md).

    Every row is validated first (the format and its checks: docs/import-format.md)
    and one bad row imports nothing. Runs already recorded with the same results
    are skipped; a run recorded with different results is a conflict: listed,
    never overwritten, and the exit status is 1. A run's innovation must be in
    the registry or declared by a loaded plugin.

    With --external, the tier the file names becomes an external tier (its budgets and
    sizes are the file's own; a built-in tier's name is refused), innovations no plugin
    declares are registered from the file, and each one is analysed on it.

    Example: cegbench import alice.jsonl bob.csv --dry-run

    Example: cegbench import --external my-runs.csv && cegbench table --tier my-tier
    """
    options = options_dict(fixed_E, target_loss, fit_window)
    if external:
        return import_external(files, registry_path, dry_run, read, margin, analyze, options,
                               plugin_paths)
    given = [name for name, value in (("--read", read), ("--margin", margin), *(
        (f"--{k.replace('_', '-')}", v) for k, v in options.items())) if value is not None]
    if given or not analyze:
        raise click.UsageError(f"{', '.join(given) or '--no-analyze'}: only with --external")
    catalog = catalog_or_exit(plugin_paths)
    declared = {i.name: innovation_row(i, catalog.plugin_info(i.plugin))
                for i in select_innovations(catalog, ())}
    try:
        created = not registry_exists(registry_path)  # a dangling link: made at its target
    except RegistryError as error:
        raise RegistryProblem(str(error)) from None
    if dry_run:
        db = open_registry(":memory:") if created else open_db(registry_path)
    else:
        db = open_db(registry_path, must_exist=False)
    try:
        report = import_runs(db, [Path(f) for f in files], declared, catalog.components,
                             dry_run=dry_run)
    except ImportRejected as error:
        db.close()
        if created and not dry_run:  # leave no empty registry behind
            remove_registry(registry_path)
        raise click.ClickException(str(error)) from None
    show_import(report)
    if report.conflicts:
        sys.exit(1)


def import_external(files, registry_path, dry_run, read, margin, analyze, options, plugin_paths):
    """``cegbench import --external``: validate, merge, analyse (``sweep.import_external_runs``)."""
    from cegbench.sweep.imports import import_external_runs

    catalog = catalog_or_exit(plugin_paths)
    created = not Path(registry_path).exists()
    if dry_run:
        db = open_registry(":memory:") if created else open_db(registry_path)
    else:
        db = open_db(registry_path, must_exist=False)
    try:
        report = import_external_runs(db, catalog, [Path(f) for f in files], read=read, margin=margin,
                                      analyze=analyze, options=options, dry_run=dry_run,
                                      progress=ClickProgress())
    except ImportRejected as error:
        db.close()
        if created and not dry_run:  # leave no empty registry behind
            remove_registry(registry_path)
        raise click.ClickException(str(error)) from None
    except OptionError as error:
        raise click.ClickException(str(error)) from None
    show_external_import(report)
    if report.conflicts:
        sys.exit(1)
