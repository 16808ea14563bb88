"""The ``cegbench`` command line. Commands stay thin: parse, call the library,
turn domain errors into messages. This is the one module that wires the stages
(plugins → plan → execute → registry → analysis → site) together.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sys
from pathlib import Path

import click

from cegbench import __version__
from cegbench.components import UnknownName
from cegbench.innovations import DeclarationError
from cegbench.plugin_manager import PluginError, load_catalog
from cegbench.tiers import TIERS

DEFAULT_REGISTRY = os.environ.get("CEGBENCH_REGISTRY", "cegbench.db")


def registry_option(command):
    return click.option(
        "--registry", "registry_path", type=click.Path(dir_okay=False), default=DEFAULT_REGISTRY,
        show_default=True, help="SQLite registry file (env CEGBENCH_REGISTRY).",
    )(command)


def plugins_option(command):
    return click.option(
        "--plugins", "plugin_paths", multiple=True, type=click.Path(dir_okay=False),
        help="Load a plugin from a local Python file (repeatable).",
    )(command)


def tier_option(required: bool):
    return click.option(
        "--tier", "tier_name", required=required,
        help=f"Tier: {', '.join(TIERS)}.",
    )


def catalog_or_exit(plugin_paths):
    try:
        catalog = load_catalog(plugin_paths)
    except (PluginError, DeclarationError) as error:
        raise click.ClickException(str(error)) from error
    for problem in catalog.problems:
        click.secho(f"warning: {problem}", fg="yellow", err=True)
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


def open_db(path, *, must_exist: bool = True):
    """Open the registry; reading commands refuse to create an empty one."""
    from cegbench.registry.db import open_registry

    path = Path(path)
    if must_exist and not path.is_file():
        raise click.BadParameter(f"registry {str(path)!r} does not exist; run "
                                 "`cegbench run --tier smoke` first", param_hint="'--registry'")
    if not path.parent.is_dir():
        raise click.BadParameter(f"folder {str(path.parent)!r} does not exist",
                                 param_hint="'--registry'")
    return open_registry(path)


@click.group()
@click.version_option(__version__, prog_name="cegbench")
def cli():
    """cegbench: what an algorithmic innovation is worth in compute, and whether
    that worth grows with scale.

    Example: cegbench run --tier smoke && cegbench site
    """


@cli.command()
@tier_option(required=True)
@click.option("--innovation", "innovation_names", multiple=True,
              help="Only this innovation (repeatable). Default: all loaded.")
@registry_option
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Runs in parallel (processes) with the local executor.  [default: the "
                   "settings file's, else the CPUs this process may use]")
@click.option("--executor", "executor_name", type=click.Choice(["local", "ray", "slurm"]),
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

    from cegbench.config import ConfigError
    from cegbench.execute import ExecutorUnavailable, executor_choice, make_executor
    from cegbench.plan import plan_runs
    from cegbench.registry.db import (
        innovation_row,
        recorded_run_ids,
        save_innovations,
        unrecorded,
    )
    from cegbench.registry.ingest import ingest

    tier = lookup_tier(tier_name)
    catalog = catalog_or_exit(plugin_paths)
    chosen = select_innovations(catalog, innovation_names)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    db = open_db(registry_path, must_exist=False)
    save_innovations(db, [innovation_row(i, catalog.plugin_info(i.plugin)) for i in chosen])
    command = shlex.join([
        "cegbench", "run", "--tier", tier.name,
        *[arg for name in innovation_names for arg in ("--innovation", name)],
        *[arg for path in plugin_paths for arg in ("--plugins", path)],
    ])

    try:
        executor_name, jobs, settings = executor_choice(
            name=executor_name, jobs=jobs, ray_address=ray_address, config=config_path)
    except (ConfigError, ValueError) as error:
        raise click.ClickException(str(error)) from error

    def executor():
        """A new executor for each phase (tuning, then runs): ``results()`` shuts it down."""
        try:
            return make_executor(executor_name, catalog.components, jobs=jobs, settings=settings,
                                 plugin_paths=catalog.plugin_paths, device=device, pack=pack)
        except (ExecutorUnavailable, ValueError, ConnectionError) as error:
            raise click.ClickException(str(error)) from error

    rates = tune_learning_rates(db, chosen, tier, catalog.components, executor, command,
                                retry_failed=retry_failed)
    tuned = [i for i in chosen if i.baseline in rates and i.modern in rates]
    for innovation in chosen:
        if innovation not in tuned:
            click.secho(f"warning: {innovation.name} skipped: a recipe's learning-rate tuning "
                        "failed", fg="yellow", err=True)
    specs = plan_runs(tuned, tier, catalog.components, rates)
    done = recorded_run_ids(db, [s.run_id for s in specs], include_failed=not retry_failed)
    todo = [s for s in specs if s.run_id not in done]
    click.echo(
        f"tier {tier.name} v{tier.version}: {len(tuned)} innovations, {len(specs)} runs planned, "
        f"{len(specs) - len(todo)} already recorded, {len(todo)} to run on {device} "
        f"with the {executor_name} executor; registry {registry_path}"
    )
    # checked again just before each run starts: another process may share the registry
    pending = unrecorded(db, todo, include_failed=not retry_failed)
    ok, failed = execute(pending, len(todo), executor(),
                         lambda result: ingest(db, result, command), "runs")
    skipped = len(todo) - ok - failed
    click.echo(f"{ok} runs ok, {failed} failed"
               + (f", {skipped} recorded meanwhile by another process" if skipped else ""))
    if analyze:
        analyze_innovations(db, [i.name for i in tuned], tier)


def tune_learning_rates(db, innovations, tier, components, executor, command, retry_failed=False):
    """The tuning phase (``cegbench.tuning``): run each distinct recipe's sweep that the
    registry does not hold yet, store every choice, return {recipe: TunedRate}."""
    from cegbench.registry.learning_rates import save_learning_rate, save_tuning_run, tuning_losses
    from cegbench.tuning import TuningError, choose, plan_sweeps, recipe_label

    recipes = [i.recipe(arm) for i in innovations for arm in ("baseline", "modern")]
    sweeps = plan_sweeps(recipes, tier, components)
    specs = [spec for sweep in sweeps for spec in sweep.specs]
    done = tuning_losses(db, [s.run_id for s in specs], include_failed=not retry_failed)
    todo = [s for s in specs if s.run_id not in done]
    click.echo(f"learning-rate tuning on tier {tier.name} v{tier.version}: {len(sweeps)} recipes, "
               f"{len(specs)} tuning runs, {len(specs) - len(todo)} already recorded")
    execute(todo, len(todo), executor(), lambda result: save_tuning_run(db, result, command),
            "tuning")
    losses = tuning_losses(db, [s.run_id for s in specs])
    rates, at_edge = {}, []
    for sweep in sweeps:
        try:
            choice = choose(sweep, losses)
        except TuningError as error:
            click.secho(f"warning: {error}", fg="yellow", err=True)
            continue
        save_learning_rate(db, tier.name, tier.version, choice)
        rates[sweep.recipe] = choice.rate
        if choice.at_edge:
            at_edge.append(f"[{recipe_label(choice.recipe)}] ×{choice.multiplier:g}")
    if at_edge:
        click.secho(f"warning: for {len(at_edge)} of {len(sweeps)} recipes the best learning rate "
                    f"is at the edge of the tuning grid, so a better one may lie outside it: "
                    f"{', '.join(at_edge)}", fg="yellow", err=True)
    return rates


def execute(specs, total, executor, record, desc) -> tuple[int, int]:
    """Run ``specs`` (``total`` of them at most), recording each result as it arrives.

    ``record(result)`` returns False when the run was already recorded (by another
    process sharing the registry). Returns how many recorded runs were ok and failed.
    """
    from tqdm import tqdm

    from cegbench.execute import results
    from cegbench.plan import RunSpec

    ok = failed = 0
    try:
        with tqdm(total=total, desc=desc, unit="run", mininterval=2) as bar:
            for result in results(specs, executor):
                recorded = record(result)
                bar.update()
                if recorded and result.status == "ok":
                    ok += 1
                elif recorded:
                    failed += 1
                    spec = result.spec
                    where = (f"{spec.innovation} {spec.arm}" if isinstance(spec, RunSpec)
                             else "learning-rate tuning")
                    bar.write(f"failed: {where} C={spec.budget:.0e} width={spec.width} "
                              f"seed={spec.seed} lr={spec.learning_rate:.3g}: {result.error}")
    except KeyboardInterrupt:
        click.echo("\ninterrupted: finished runs are recorded; run the same command again "
                   "to resume.", err=True)
        sys.exit(130)
    return ok, failed


@cli.command()
@tier_option(required=False)
@click.option("--innovation", "innovation_names", multiple=True, help="Only this innovation.")
@registry_option
def analyze(tier_name, innovation_names, registry_path):
    """Fit scaling laws and label every innovation from the recorded runs.

    Example: cegbench analyze --tier smoke
    """
    from cegbench.registry.db import innovations

    db = open_db(registry_path)
    names = list(innovation_names) or [row["name"] for row in innovations(db)]
    tiers = [lookup_tier(tier_name)] if tier_name else [TIERS.get(name) for name in TIERS]
    for tier in tiers:
        analyze_innovations(db, names, tier, quiet_when_empty=True)


def analyze_innovations(db, names, tier, quiet_when_empty=False):
    """Analyse the current declaration of each innovation on one tier version, parts
    of a bundle before the bundle (its composition reads their verdicts)."""
    from cegbench import analysis
    from cegbench.analysis.report import describe_verdict, format_interval
    from cegbench.provenance import git_commit
    from cegbench.registry.db import get_innovation, runs, save_verdict

    declared = {}
    for name in names:
        declared[name] = get_innovation(db, name)
        if declared[name] is None:
            raise click.BadParameter(f"innovation {name!r} is not in the registry",
                                     param_hint="'--innovation'")
    parts_of = {name: json.loads(row["parts"] or "[]") for name, row in declared.items()}
    for name in analysis.parts_first(list(names), parts_of):
        innovation = declared[name]
        recorded = runs(db, name, tier.name, tier.version,
                        declaration_hash=innovation["declaration_hash"])
        if recorded.empty and quiet_when_empty:
            continue
        n_failed = int((recorded["status"] != "ok").sum())
        key = {"innovation": name, "tier": tier.name, "tier_version": tier.version}
        common = {"declaration_hash": innovation["declaration_hash"], "cegbench_version": __version__}
        try:
            result = analysis.analyze_innovation(recorded, margin=tier.margin)
        except analysis.AnalysisError as error:
            save_verdict(db, **key, fits=[], verdict=dict(
                label="inconclusive", margin=tier.margin, n_runs=len(recorded) - n_failed,
                n_failed=n_failed, warnings=[f"cannot analyse yet: {error}"], **common))
            click.echo(f"{name} [{tier.name}]: inconclusive (cannot analyse yet: {error})")
            continue
        verdict = {field: value for field, value in dataclasses.asdict(result).items()
                   if field not in ("fits", "n_boot", "n_boot_failed", "shared_E")}
        verdict["method"].update(cegbench_version=__version__, git_commit=git_commit())
        if parts_of[name]:
            verdict["composition"] = dataclasses.asdict(
                bundle_composition(db, result, parts_of[name], tier))
        fits = [{**dataclasses.asdict(fit), "shared_E": int(result.shared_E)} for fit in result.fits]
        save_verdict(db, **key, verdict={**verdict, **common}, fits=fits)
        fragile = ", fragile" if result.fragile else ""
        click.echo(f"{name} [{tier.name}]: {describe_verdict(result.label, result.direction)}{fragile}, "
                   f"Δα = {format_interval(result.delta_alpha, result.delta_alpha_low, result.delta_alpha_high, '+.3f')}")


def bundle_composition(db, result, parts, tier):
    """A bundle's CEG at the reference budget against its parts' current verdicts."""
    from cegbench import analysis
    from cegbench.registry.db import get_innovation, verdicts

    reference = max((p for p in result.ceg if not p.extrapolated), key=lambda p: p.compute)
    part_cegs = {}
    for part in parts:
        declared = get_innovation(db, part)
        rows = [v for v in verdicts(db, tier.name, part) if v["tier_version"] == tier.version]
        current = rows and declared and rows[0]["declaration_hash"] == declared["declaration_hash"]
        part_cegs[part] = json.loads(rows[0]["ceg"]) if current else None
    return analysis.compose(dataclasses.asdict(reference), part_cegs)


@cli.command()
@click.argument("name")
@tier_option(required=False)
@registry_option
def show(name, tier_name, registry_path):
    """Print an innovation's verdict: label, Δα, fits, frontier, CEG(C) with intervals,
    CEG at target losses, wall-clock CEG, sensitivity, composition, what would decide
    it, and warnings.

    Example: cegbench show gelu-to-swiglu --tier smoke
    """
    from cegbench.analysis.report import verdict_lines
    from cegbench.registry.db import fits, get_innovation, verdicts

    db = open_db(registry_path)
    innovation = get_innovation(db, name)
    if innovation is None:
        raise click.BadParameter(
            f"innovation {name!r} is not in registry {registry_path}; "
            "run `cegbench run --tier smoke` first, or see `cegbench list`", param_hint="NAME")
    click.echo(f"{innovation['title']}  ({innovation['name']}, {innovation['category']}, "
               f"{innovation['year']})\n{innovation['paper']}\n")
    rows = verdicts(db, tier_name, name)
    if not rows:
        click.echo("no verdict yet: run `cegbench run --tier smoke --innovation " + name + "`")
    for verdict in rows:
        click.echo("\n".join(verdict_lines(verdict, fits(db, name, verdict["tier"], verdict["tier_version"]))))
        click.echo()


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
    from cegbench import catalogue

    catalog = catalog_or_exit(plugin_paths)
    items = [catalog.innovations.get(name) for name in catalog.innovations]
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(i) for i in items], indent=2))
    elif as_markdown:
        click.echo(catalogue.markdown(items), nl=False)
    else:
        width = max((len(i.name) for i in items), default=4)
        for i in items:
            click.echo(catalogue.list_line(i, width))


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


@cli.command()
@registry_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="_site",
              show_default=True, help="Folder to write the static site into.")
@click.option("--serve", is_flag=True, help="Serve the built site on localhost to preview it.")
@click.option("--port", type=int, default=8000, show_default=True)
def site(registry_path, out_dir, serve, port):
    """Render the static leaderboard site from the registry.

    Example: cegbench site --out _site --serve
    """
    from cegbench.site.render import build_site, fmt_bytes

    written = build_site(open_db(registry_path), Path(out_dir))
    size = fmt_bytes(sum(p.stat().st_size for p in written))
    click.echo(f"wrote {len(written)} files, {size}, to {out_dir}/ (open {out_dir}/index.html)")
    if serve:
        serve_folder(Path(out_dir), port)


def serve_folder(folder: Path, port: int) -> None:
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        click.echo(f"serving {folder}/ at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


@cli.command()
@tier_option(required=False)
@click.option("--innovation", "innovation_names", multiple=True,
              help="Only this innovation (repeatable). Default: all loaded.")
@registry_option
@plugins_option
def status(tier_name, innovation_names, registry_path, plugin_paths):
    """Per innovation and arm: runs planned, done and failed; FLOPs spent and still needed.

    Planned runs come from the loaded plugins' current declarations; runs of an
    older declaration or tier version are counted apart (they are never fitted).
    Without --tier, every tier the registry holds runs of.

    Example: cegbench status --tier smoke --innovation gelu-to-swiglu
    """
    from cegbench.plan import plan_cells
    from cegbench.registry.status import older_runs, recorded_tiers, sweep_status, totals

    catalog = catalog_or_exit(plugin_paths)
    chosen = select_innovations(catalog, innovation_names)
    db = open_db(registry_path)
    recorded = recorded_tiers(db)
    tiers = [lookup_tier(tier_name)] if tier_name else [TIERS.get(n) for n in TIERS if n in recorded]
    width = max((len(i.name) for i in chosen), default=10)
    for tier in tiers:
        statuses = sweep_status(db, plan_cells(chosen, tier, catalog.components))
        click.echo(f"tier {tier.name} v{tier.version}\n{'innovation':<{width}}  {'arm':<8} "
                   f"{'planned':>7} {'done':>6} {'failed':>6} {'to run':>6} "
                   f"{'FLOPs spent':>11} {'still needed':>12}")
        for row in [*statuses, totals(statuses)]:
            click.echo(f"{row.innovation:<{width}}  {row.arm:<8} {row.planned:>7} {row.done:>6} "
                       f"{row.failed:>6} {row.todo:>6} {row.flops_spent:>11.3g} "
                       f"{row.flops_needed:>12.3g}")
        for innovation in chosen:
            older = older_runs(db, innovation.name, tier.name, tier.version,
                               innovation.declaration_hash())
            if older:
                click.echo(f"note: {innovation.name} has {older} run(s) of an older declaration "
                           "or tier version, kept but never fitted")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None,
              help="Default: from the --out suffix, else jsonl.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True, help="File to write; - for standard output.")
@tier_option(required=False)
@click.option("--innovation", "innovation_names", multiple=True, help="Only this innovation.")
@registry_option
def export(fmt, out_path, tier_name, innovation_names, registry_path):
    """Export recorded runs, with their provenance, as JSON lines or CSV.

    Example: cegbench export --tier smoke --out my-runs.jsonl
    """
    from cegbench.registry.exchange import export_runs

    fmt = fmt or ("csv" if out_path.lower().endswith(".csv") else "jsonl")
    db = open_db(registry_path)
    if tier_name:
        lookup_tier(tier_name)
    with click.open_file(out_path, "w", encoding="utf-8", atomic=out_path != "-") as out:
        count = export_runs(db, out, fmt, tier=tier_name, innovations=innovation_names)
    click.echo(f"exported {count} runs", err=True)


@cli.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@registry_option
@plugins_option
def import_(files, registry_path, plugin_paths):
    """Merge runs exported by `cegbench export` (.jsonl or .csv) into the registry.

    Every row is validated first and one bad row imports nothing. Runs already
    recorded with the same results are skipped; a run recorded with different
    results is a conflict: listed, never overwritten, and the exit status is 1.
    A run's innovation must be in the registry or declared by a loaded plugin.

    Example: cegbench import alice.jsonl bob.csv
    """
    from cegbench.registry.db import innovation_row
    from cegbench.registry.exchange import ImportRejected, import_runs

    catalog = catalog_or_exit(plugin_paths)
    declared = {i.name: innovation_row(i, catalog.plugin_info(i.plugin))
                for i in select_innovations(catalog, ())}
    created = not Path(registry_path).exists()
    db = open_db(registry_path, must_exist=False)
    try:
        report = import_runs(db, [Path(f) for f in files], declared)
    except ImportRejected as error:
        db.close()
        if created:  # leave no empty registry behind
            for suffix in ("", "-wal", "-shm"):
                Path(f"{registry_path}{suffix}").unlink(missing_ok=True)
        raise click.ClickException(str(error)) from None
    if report.registered:
        click.echo(f"registered innovations: {', '.join(report.registered)}")
    click.echo(f"imported {report.imported} runs, {report.unchanged} already recorded, "
               f"{len(report.conflicts)} conflict(s)")
    for conflict in report.conflicts:
        click.secho(f"conflict: {conflict}", fg="red", err=True)
    if report.conflicts:
        sys.exit(1)


if __name__ == "__main__":
    cli()
