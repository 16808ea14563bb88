"""The ``cegbench`` command line. Commands stay thin: parse, call the library, print,
turn domain errors into messages. The sweep itself (tuning, the execute loop,
analysing and storing verdicts) is ``cegbench.sweep.run``; this module shows its
progress (``ClickProgress``). The CLI and ``sweep`` are the only modules that wire
the stages (plugins → plan → execute → registry → analysis → site) together.

The commands' shared options and registry opening are in ``cli_common``, what they
print at length in ``terminal``, what they do in the library.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path

import click

from cegbench import __version__
from cegbench.cli.common import (
    Group,
    RegistryProblem,
    analysis_options,
    catalog_or_exit,
    from_option,
    innovation_option,
    is_external,
    lookup_any_tier,
    lookup_tier,
    open_db,
    options_dict,
    plugins_option,
    refuse_writing_over,
    registry_option,
    select_innovations,
    tier_option,
)
from cegbench.cli.terminal import ClickProgress, echo_lines
from cegbench.execute import EXECUTORS
from cegbench.tiers import TIERS

# how `import --external` may read curves: cegbench.analysis.curves.CURVE_READS, spelled out
# so that the CLI starts without importing the analysis (tests/test_external.py checks they agree)
EXTERNAL_CURVE_READS = ("isoflop", "envelope")


@click.group(cls=Group)
@click.version_option(__version__, prog_name="cegbench")
def cli():
    """cegbench: what an algorithmic innovation is worth in compute, and whether
    that worth grows with scale.

    Example: cegbench run --tier smoke && cegbench site
    """


@cli.command()
@tier_option(required=True)
@innovation_option
@registry_option
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Runs in parallel (processes) with the local executor.  [default: the "
                   "settings file's, else the CPUs this process may use]")
@click.option("--executor", "executor_name", type=click.Choice(list(EXECUTORS)),
              default=None, help="Where runs train.  [default: the settings file's, else local]")
@click.option("--ray-address", default=None,
              help="Ray cluster to join (e.g. auto); default: start a local one.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Settings file with an [executor] table (default ./cegbench.toml, or "
                   "env CEGBENCH_CONFIG).")
@click.option("--device", default=None, help="torch device; default cuda when available, else cpu.")
@click.option("--retry-failed", is_flag=True, help="Run again the runs recorded as failed.")
@click.option("--pack/--no-pack", default=None,
              help="Train runs of one shape together as one batched model.  [default: on "
                   "for cuda, off for cpu (cegbench.execute.PACK_BY_DEFAULT)]")
@click.option("--analyze/--no-analyze", default=True, show_default=True,
              help="Fit and label each innovation after the sweep.")
@plugins_option
def run(tier_name, innovation_names, registry_path, jobs, executor_name, ray_address, config_path,
        device, retry_failed, pack, analyze, plugin_paths):
    """Tune each recipe's learning rate, train every planned run of a tier, record
    them, then analyse.

    Tuning and runs already in the registry are not redone, so an interrupted
    sweep resumes where it stopped.

    Example: cegbench run --tier smoke --innovation gelu-to-swiglu --jobs 2
    """
    import torch

    from cegbench.data.datasets import DatasetError
    from cegbench.execute import ExecutorUnavailable, executor_choice, make_executor
    from cegbench.execute.config import ConfigError
    from cegbench.plan.specs import RepetitionError
    from cegbench.sweep.run import check_data, run_command, run_sweep

    tier = lookup_tier(tier_name)
    catalog = catalog_or_exit(plugin_paths)
    chosen = select_innovations(catalog, innovation_names)
    try:
        check_data(chosen, tier, catalog.components)
    except (DatasetError, RepetitionError) as error:
        raise click.ClickException(str(error)) from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:  # before the registry is opened: a refused choice writes nothing
        executor_name, jobs, settings = executor_choice(
            name=executor_name, jobs=jobs, ray_address=ray_address, config=config_path)
    except (ConfigError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    db = open_db(registry_path, must_exist=False)
    command = run_command(tier, innovation_names, plugin_paths)

    def executor():
        """A new executor for each phase (tuning, then runs): ``results()`` shuts it down."""
        try:
            return make_executor(executor_name, catalog.components, jobs=jobs, settings=settings,
                                 plugin_paths=catalog.plugin_paths, device=device, pack=pack)
        except (ExecutorUnavailable, ValueError, ConnectionError) as error:
            raise click.ClickException(str(error)) from error

    where = f"on {device} with the {executor_name} executor; registry {registry_path}"
    try:
        executed = run_sweep(db, catalog, chosen, tier, executor=executor, command=command,
                             retry_failed=retry_failed, analyze=analyze,
                             progress=ClickProgress(where))
    except KeyboardInterrupt:
        click.echo("\ninterrupted: finished runs are recorded; run the same command again "
                   "to resume.", err=True)
        sys.exit(130)
    not_run = [name for name in executed.not_tuned if name in innovation_names]
    if not_run:
        click.secho(f"error: {', '.join(not_run)} asked for by --innovation but not run: "
                    "learning-rate tuning failed (see the warnings above)", fg="red", err=True)
        sys.exit(1)


@cli.command()
@tier_option(required=False, external=True)
@innovation_option
@registry_option
@analysis_options
def analyze(tier_name, innovation_names, registry_path, fixed_E, target_loss, fit_window):
    """Fit scaling laws and label every innovation from the recorded runs, on every
    built-in tier with runs and every external tier (or only on --tier).

    --fixed-E, --target-loss and --fit-window apply to this analysis and are recorded in
    each verdict's method; a later `cegbench analyze` without them refits without them.

    Example: cegbench analyze --tier smoke

    Example: cegbench analyze --tier porian2024 --fit-window 5e16 2.56e19
    """
    from cegbench.analysis.options import OptionError
    from cegbench.registry.db import innovations
    from cegbench.registry.external import external_tiers, tier_innovations
    from cegbench.sweep.run import UnknownInnovation, analyze_external, analyze_innovations

    options = options_dict(fixed_E, target_loss, fit_window)
    db = open_db(registry_path, write=True)
    names = list(innovation_names) or [row["name"] for row in innovations(db)]
    tiers = ([lookup_any_tier(db, tier_name)] if tier_name
             else [*(TIERS.get(name) for name in TIERS), *external_tiers(db)])
    for tier in tiers:
        try:
            if not is_external(tier):
                analyze_innovations(db, names, tier, quiet_when_empty=True, progress=ClickProgress(),
                                    options=options)
                continue
            mine = tier_innovations(db, tier.name, tier.version)
            chosen = [name for name in mine if name in names]
            if chosen:
                analyze_external(db, tier, chosen, options=options, progress=ClickProgress())
        except UnknownInnovation as error:
            raise click.BadParameter(str(error), param_hint="'--innovation'") from None
        except OptionError as error:
            raise click.ClickException(str(error)) from None


@cli.command()
@click.argument("name")
@tier_option(required=False, external=True)
@registry_option
def show(name, tier_name, registry_path):
    """Print an innovation's verdict: label, Δα, fits, frontier, CEG(C) with intervals,
    CEG at target losses, wall-clock CEG, sensitivity, composition, what would decide
    it, warnings, and what published work found beside whether ours agrees.

    Example: cegbench show gelu-to-swiglu --tier smoke
    """
    from cegbench import literature
    from cegbench.present.report import innovation_lines
    from cegbench.registry.db import fits, get_innovation, verdicts

    db = open_db(registry_path)
    if tier_name:
        lookup_any_tier(db, tier_name)
    innovation = get_innovation(db, name)
    if innovation is None:
        raise click.BadParameter(
            f"innovation {name!r} is not in registry {registry_path}; "
            "run `cegbench run --tier smoke` first, or see `cegbench list`", param_hint="NAME")
    rows = verdicts(db, tier_name, name)
    fits_of = {(v["tier"], v["tier_version"]): fits(db, name, v["tier"], v["tier_version"])
               for v in rows}
    lines = innovation_lines(innovation, rows, fits_of)
    findings = literature.from_json(innovation.get("literature"),
                                    f"innovations.literature of {name!r}")
    for verdict in rows or [None]:
        lines += literature.comparison_lines(findings, verdict)
    echo_lines(lines)


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print full declarations as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True,
              help="Print the catalogue page (docs/catalogue.md) as Markdown.")
@plugins_option
def list_(as_json, as_markdown, plugin_paths):
    """List the innovations the loaded plugins declare: slug, category, year, the
    class the literature expects, title, the recipe change, paper and plugin.

    Example: cegbench list --markdown > docs/catalogue.md
    """
    from cegbench.catalog import listing

    catalog = catalog_or_exit(plugin_paths)
    items = [catalog.innovations.get(name) for name in catalog.innovations]
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(i) for i in items], indent=2))
    elif as_markdown:
        echo_lines(listing.markdown(items).splitlines())
    else:
        echo_lines(listing.list_lines(items))


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@plugins_option
def plugins(show_all, plugin_paths):
    """List loaded plugins as JSON: name, distribution, version, hooks, declarations.

    Example: cegbench plugins --all
    """
    catalog = catalog_or_exit(plugin_paths)
    shown = [dataclasses.asdict(p) for p in catalog.plugins if show_all or not p.builtin]
    click.echo(json.dumps(shown, indent=2))


@contextlib.contextmanager
def registry_or_exports(registry_path, export_files, plugin_paths):
    """The registry at ``registry_path``, or, given ``export_files``, a temporary one
    with their runs imported and analysed (``sweep.registry_from_exports``)."""
    from cegbench.registry.exchange import ImportRejected
    from cegbench.sweep.run import registry_from_exports

    if not export_files:
        yield open_db(registry_path)
        return
    catalog = catalog_or_exit(plugin_paths)
    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "registry.db", must_exist=False)
        try:
            imported = registry_from_exports(db, catalog, [Path(f) for f in export_files],
                                             progress=ClickProgress(err=True))
        except ImportRejected as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"imported {imported} runs from {len(export_files)} file(s)", err=True)
        try:
            yield db
        finally:
            db.close()


@cli.command()
@registry_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="_site",
              show_default=True, help="Folder to write the static site into.")
@click.option("--force", is_flag=True,
              help="Write into a non-empty folder that no `cegbench site` made (its own files "
                   "are left alone).")
@click.option("--serve", is_flag=True, help="Serve the built site on localhost to preview it.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--repository", metavar="URL",
              help="The code's URL, linked from every page and cited on the About page "
                   "[default: $GITHUB_SERVER_URL/$GITHUB_REPOSITORY when both are set, as in "
                   "GitHub Actions; else none].")
@from_option
@plugins_option
def site(registry_path, out_dir, force, serve, port, repository, export_files, plugin_paths):
    """Render the static leaderboard site from the registry, or from exported runs.

    The site is built aside and swapped in: a rebuild removes only the files the
    previous build wrote (listed in the folder's .cegbench-site.json).

    Example: cegbench site --out _site --serve

    Example: cegbench site --from leaderboard/runs.jsonl.gz --out _site
    """
    from cegbench.site.formatting import fmt_bytes
    from cegbench.site.publish import SiteFolderError, check_folder
    from cegbench.site.render import build_site
    from cegbench.site.serve import serve as serve_site

    if repository is None and os.environ.get("GITHUB_SERVER_URL") and os.environ.get("GITHUB_REPOSITORY"):
        repository = f"{os.environ['GITHUB_SERVER_URL']}/{os.environ['GITHUB_REPOSITORY']}"
    if repository and not repository.startswith(("https://", "http://")):
        raise click.BadParameter(f"must be an http(s) URL, got {repository!r}", param_hint="--repository")
    inputs = [Path(f) for f in export_files] or [Path(registry_path)]
    try:  # refused before any registry is read or made
        check_folder(Path(out_dir), force=force, inputs=inputs)
        with registry_or_exports(registry_path, export_files, plugin_paths) as db:
            written = build_site(db, Path(out_dir), repository=repository or "", force=force, inputs=inputs)
    except SiteFolderError as error:
        raise click.ClickException(str(error)) from None
    size = fmt_bytes(sum(p.stat().st_size for p in written))
    click.echo(f"wrote {len(written)} files, {size}, to {out_dir}/ (open {out_dir}/index.html)")
    if serve:
        serve_site(Path(out_dir), port, say=click.echo)


@cli.command()
@tier_option(required=True, external=True)
@registry_option
@from_option
@plugins_option
def table(tier_name, registry_path, export_files, plugin_paths):
    """Print a tier's leaderboard as a Markdown table: per measured innovation its label,
    CEG drift and Δα with intervals, CEG at the largest measured budget and at target
    losses, and what published work found beside whether ours agrees; then how many
    innovations the tier decided.

    Example: cegbench table --tier cpu --from leaderboard/runs.jsonl.gz

    Example: cegbench table --tier porian2024 --from leaderboard/external/porian2024/porian2024.csv.gz
    """
    from cegbench.present.leaderboard_table import markdown_table, summary_line
    from cegbench.registry.db import current_verdict, get_innovation, innovations
    from cegbench.registry.external import tier_innovations

    if tier_name in TIERS or not (export_files or Path(registry_path).exists()):
        lookup_tier(tier_name)  # a mistyped built-in name fails before any import
    with registry_or_exports(registry_path, export_files, plugin_paths) as db:
        tier = lookup_any_tier(db, tier_name)
        rows = ([get_innovation(db, name) for name in tier_innovations(db, tier.name, tier.version)]
                if is_external(tier) else innovations(db))
        found = [current_verdict(db, row["name"], tier.name, tier.version) for row in rows]
    found = [v for v in found if v is not None]
    if not found:
        raise click.ClickException(
            f"no verdict on tier {tier.name} v{tier.version} in the registry: run "
            f"`cegbench run --tier {tier.name}` (or `cegbench analyze`) first")
    external = " (external)" if is_external(tier) else ""
    echo_lines([*markdown_table(rows, found).splitlines(), "",
                summary_line(f"{tier.name} v{tier.version}{external}", found, len(rows))])


@cli.command()
@tier_option(required=False, external=True)
@innovation_option
@registry_option
@plugins_option
def status(tier_name, innovation_names, registry_path, plugin_paths):
    """Per innovation and arm: runs planned, done and failed; FLOPs spent and still needed;
    the learning rate tuned for the arm's recipe.

    Planned runs come from the loaded plugins' current declarations; runs of an
    older declaration or tier version are counted apart (they are never fitted).
    Without --tier, every tier the registry holds runs of. An external tier
    (`cegbench import --external`) plans nothing: per innovation and arm, its rows, runs,
    budgets, sizes and seeds.

    Example: cegbench status --tier smoke --innovation gelu-to-swiglu
    """
    from cegbench.cli.terminal import status_report
    from cegbench.data.datasets import DatasetError
    from cegbench.registry.external import external_tiers, status_lines
    from cegbench.registry.status import recorded_tiers

    db = open_db(registry_path)
    tiers = [lookup_any_tier(db, tier_name)] if tier_name else None
    if tiers and is_external(tiers[0]):
        click.echo("\n".join(status_lines(db, tiers[0])))
        return
    catalog = catalog_or_exit(plugin_paths)
    chosen = select_innovations(catalog, innovation_names)
    recorded = recorded_tiers(db)
    tiers = tiers or [TIERS.get(n) for n in TIERS if n in recorded]
    for tier in tiers:
        try:
            lines = status_report(db, catalog, chosen, tier, not_loaded=not innovation_names)
        except DatasetError as error:
            raise click.ClickException(str(error)) from error
        echo_lines(lines)
    if not tier_name:
        for tier in external_tiers(db):
            echo_lines(status_lines(db, tier))


@cli.command()
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
    from cegbench.registry.db import innovations
    from cegbench.registry.exchange import is_csv, write_export
    from cegbench.registry.external import external_tiers, write_external_file

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
    count = write_export(db, out_path, fmt, tier=tier_name, innovations=innovation_names)
    click.echo(f"exported {count} runs", err=True)
    if not tier_name and (left := sorted({t.name for t in external_tiers(db)})):
        click.echo(f"not in it: external tier(s) {', '.join(left)}; `cegbench export --tier NAME` "
                   "writes one in the external format", err=True)


@cli.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@registry_option
@click.option("--dry-run", is_flag=True,
              help="Validate the files and report what would be imported; write nothing.")
@click.option("--external", is_flag=True,
              help="The files hold runs trained elsewhere, in the external format "
                   "(docs/external-runs.md); their tier becomes an external tier.")
@click.option("--read", type=click.Choice(EXTERNAL_CURVE_READS), default=None,
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
    from cegbench.cli.terminal import show_import
    from cegbench.registry.db import (
        RegistryError,
        innovation_row,
        open_registry,
        registry_exists,
        remove_registry,
    )
    from cegbench.registry.exchange import ImportRejected, import_runs

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
    from cegbench.analysis.options import OptionError
    from cegbench.cli.terminal import show_external_import
    from cegbench.registry.db import open_registry, remove_registry
    from cegbench.registry.exchange import ImportRejected
    from cegbench.sweep.run import import_external_runs

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


@cli.command()
@tier_option(required=True, external=True)
@registry_option
@from_option
@plugins_option
def validity(tier_name, registry_path, export_files, plugin_paths):
    """Print an external tier's predictive-validity table as Markdown: for every pair whose
    budgets span at least 1.5 decades, the verdict from its lowest decade alone (label,
    CEG drift, CEG extrapolated to the headline compute) against the verdict from the whole
    range; then how often the small-scale verdict predicted the large-scale one.

    Example: cegbench validity --tier porian2024 --from leaderboard/external/porian2024/porian2024.csv.gz
    """
    from cegbench.present.validity_table import markdown_table, summary_line
    from cegbench.registry.external import tier_innovations, validity_rows

    with registry_or_exports(registry_path, export_files, plugin_paths) as db:
        tier = lookup_any_tier(db, tier_name)
        if not is_external(tier):
            raise click.BadParameter(f"{tier.name} is a built-in tier; predictive validity is "
                                     "measured on external tiers", param_hint="'--tier'")
        rows = validity_rows(db, tier.name, tier.version)
        n_pairs = len(tier_innovations(db, tier.name, tier.version))
    if not rows:
        raise click.ClickException(
            f"no predictive-validity check on tier {tier.name} v{tier.version}: none of its {n_pairs} "
            "pairs spans 1.5 decades of budgets with verdicts, or it was not analysed yet "
            f"(`cegbench analyze --tier {tier.name}`)")
    click.echo(markdown_table(rows))
    click.echo(summary_line(f"{tier.name} v{tier.version}", rows, n_pairs))


@cli.command()
@tier_option(required=True)
@innovation_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@plugins_option
def plan(tier_name, innovation_names, as_json, plugin_paths):
    """Print what a tier plans for each innovation: its declaration hash, and per arm
    every (budget, width, seed) cell with the parameter count the family gives.

    These are the facts an imported row must agree with (docs/import-format.md).

    Example: cegbench plan --tier smoke --innovation gelu-to-swiglu
    """
    from cegbench.cli.terminal import plan_lines

    tier = lookup_tier(tier_name)
    catalog = catalog_or_exit(plugin_paths)
    with contextlib.redirect_stdout(sys.stderr):  # a family's prints stay out of --json
        lines = [line for innovation in select_innovations(catalog, innovation_names)
                 for line in plan_lines(innovation, tier, catalog.components, as_json)]
    echo_lines(lines)


from cegbench.cli.data import data_group

cli.add_command(data_group)

if __name__ == "__main__":
    cli()
