"""The ``cegbench`` command line. Commands stay thin: parse, call the library,
turn domain errors into messages. This is the one module that wires the stages
(plugins → plan → execute → registry → analysis → site) together.
"""

from __future__ import annotations

import dataclasses
import json
import math
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
              help="Runs in parallel (processes) with the local executor.  [default: 1]")
@click.option("--executor", "executor_name", type=click.Choice(["local", "ray", "slurm"]),
              default=None, help="Where runs train.  [default: the settings file's, else local]")
@click.option("--ray-address", default=None,
              help="Ray cluster to join (e.g. auto); default: start a local one.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Settings file with an [executor] table (default ./cegbench.toml, or "
                   "env CEGBENCH_CONFIG).")
@click.option("--device", default=None, help="torch device; default cuda when available, else cpu.")
@click.option("--retry-failed", is_flag=True, help="Run again the runs recorded as failed.")
@click.option("--analyze/--no-analyze", default=True, show_default=True,
              help="Fit and label each innovation after the sweep.")
@plugins_option
def run(tier_name, innovation_names, registry_path, jobs, executor_name, ray_address, config_path,
        device, retry_failed, analyze, plugin_paths):
    """Train every planned run of a tier, record it, then analyse.

    Runs already in the registry are skipped, so an interrupted sweep resumes
    where it stopped.

    Example: cegbench run --tier smoke --innovation gelu-to-swiglu --jobs 2
    """
    import torch
    from tqdm import tqdm

    from cegbench.config import ConfigError
    from cegbench.execute import ExecutorUnavailable, configured_executor, results
    from cegbench.plan import plan_runs
    from cegbench.registry.db import innovation_row, recorded_run_ids, save_innovations
    from cegbench.registry.ingest import ingest

    tier = lookup_tier(tier_name)
    catalog = catalog_or_exit(plugin_paths)
    chosen = select_innovations(catalog, innovation_names)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    db = open_db(registry_path, must_exist=False)
    save_innovations(db, [innovation_row(i, catalog.plugin_info(i.plugin)) for i in chosen])

    specs = plan_runs(chosen, tier, catalog.components)
    done = recorded_run_ids(db, [s.run_id for s in specs], include_failed=not retry_failed)
    todo = [s for s in specs if s.run_id not in done]
    try:
        executor_name, executor = configured_executor(
            catalog.components, name=executor_name, jobs=jobs, ray_address=ray_address,
            config=config_path, plugin_paths=catalog.plugin_paths, device=device)
    except (ConfigError, ExecutorUnavailable, ValueError, ConnectionError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"tier {tier.name} v{tier.version}: {len(chosen)} innovations, {len(specs)} runs planned, "
        f"{len(specs) - len(todo)} already recorded, {len(todo)} to run on {device} "
        f"with the {executor_name} executor; registry {registry_path}"
    )
    command = shlex.join([
        "cegbench", "run", "--tier", tier.name,
        *[arg for name in innovation_names for arg in ("--innovation", name)],
        *[arg for path in plugin_paths for arg in ("--plugins", path)],
    ])
    failed = 0
    try:
        with tqdm(total=len(todo), unit="run", mininterval=2) as bar:
            for result in results(todo, executor):
                ingest(db, result, command)
                bar.update()
                if result.status != "ok":
                    failed += 1
                    bar.write(f"failed: {result.spec.innovation} {result.spec.arm} "
                              f"C={result.spec.budget:.0e} width={result.spec.width} "
                              f"seed={result.spec.seed}: {result.error}")
    except KeyboardInterrupt:
        click.echo("\ninterrupted: finished runs are recorded; run the same command again "
                   "to resume.", err=True)
        sys.exit(130)
    click.echo(f"{len(todo) - failed} runs ok, {failed} failed")
    if analyze:
        analyze_innovations(db, [i.name for i in chosen], tier)


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
    """Analyse the current declaration of each innovation on one tier version."""
    from cegbench import analysis
    from cegbench.registry.db import get_innovation, runs, save_verdict

    for name in names:
        innovation = get_innovation(db, name)
        if innovation is None:
            raise click.BadParameter(f"innovation {name!r} is not in the registry",
                                     param_hint="'--innovation'")
        recorded = runs(db, name, tier.name, tier.version,
                        declaration_hash=innovation["declaration_hash"])
        if recorded.empty and quiet_when_empty:
            continue
        ok = recorded[recorded["status"] == "ok"]
        n_failed = len(recorded) - len(ok)
        key = dict(innovation=name, tier=tier.name, tier_version=tier.version)
        common = dict(n_failed=n_failed, declaration_hash=innovation["declaration_hash"],
                      cegbench_version=__version__)
        try:
            result = analysis.analyze_innovation(
                ok[["arm", "budget", "n_params", "seed", "final_loss"]], margin=tier.margin
            )
        except analysis.AnalysisError as error:
            save_verdict(db, **key, fits=[], verdict=dict(
                label="inconclusive", margin=tier.margin, n_runs=len(ok),
                warnings=[f"cannot analyse yet: {error}"], **common))
            click.echo(f"{name} [{tier.name}]: inconclusive (cannot analyse yet: {error})")
            continue
        warnings = list(result.warnings)
        if n_failed:
            warnings.append(f"{n_failed} failed run(s) left out of the analysis")
        verdict = {
            field.name: getattr(result, field.name)
            for field in dataclasses.fields(result)
            if field.name not in ("fits", "n_boot", "n_boot_failed", "shared_E")
        }
        verdict.update(
            ceg=[dataclasses.asdict(p) for p in result.ceg],
            frontier=[dataclasses.asdict(p) for p in result.frontier],
            warnings=warnings, **common,
        )
        fits = [{**dataclasses.asdict(fit), "shared_E": int(result.shared_E)} for fit in result.fits]
        save_verdict(db, **key, verdict=verdict, fits=fits)
        click.echo(f"{name} [{tier.name}]: {describe_verdict(result.label, result.direction)}, "
                   f"Δα = {format_interval(result.delta_alpha, result.delta_alpha_low, result.delta_alpha_high, '+.3f')}")


def describe_verdict(label, direction):
    return f"{label} ({direction})" if direction else label


def format_interval(value, low, high, spec=".3g", suffix=""):
    def fmt(x):
        return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:{spec}}{suffix}"

    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


@cli.command()
@click.argument("name")
@tier_option(required=False)
@registry_option
def show(name, tier_name, registry_path):
    """Print an innovation's verdict, Δα, fits and CEG(C) with intervals.

    Example: cegbench show gelu-to-swiglu --tier smoke
    """
    from cegbench.registry.db import fits, get_innovation, verdicts

    db = open_db(registry_path)
    innovation = get_innovation(db, name)
    if innovation is None:
        raise click.BadParameter(
            f"innovation {name!r} is not in registry {registry_path}; "
            "run `cegbench run --tier smoke` first, or see `cegbench list`", param_hint="NAME")
    click.echo(f"{innovation['title']}  ({innovation['name']}, {innovation['category']}, "
               f"{innovation['year']})\n{innovation['paper']}\n")
    rows = [v for v in verdicts(db, tier_name) if v["innovation"] == name]
    if not rows:
        click.echo("no verdict yet: run `cegbench run --tier smoke --innovation " + name + "`")
    for verdict in rows:
        click.echo(f"tier {verdict['tier']} v{verdict['tier_version']}: "
                   f"{describe_verdict(verdict['label'], verdict['direction'])}")
        click.echo(f"  Δα = α_modern − α_baseline = "
                   f"{format_interval(verdict['delta_alpha'], verdict['delta_alpha_low'], verdict['delta_alpha_high'], '+.4f')}"
                   f"  (equivalence margin ±{verdict['margin']})")
        click.echo(f"  runs: {verdict['n_runs']} ok, {verdict['n_failed']} failed")
        for fit in fits(db, name, verdict["tier"], verdict["tier_version"]):
            click.echo(f"  fit {fit['arm']:>8}: L = {fit['E']:.3f} + {fit['A']:.3g}·C^−"
                       f"{fit['alpha']:.4f}  (α 95% CI [{fit['alpha_low']:.4f}, {fit['alpha_high']:.4f}])")
        click.echo("  CEG(C), 95% CI:")
        for point in json.loads(verdict["ceg"]):
            note = "  (extrapolated)" if point["extrapolated"] else ""
            click.echo(f"    C = {point['compute']:.0e}: "
                       f"{format_interval(point['ceg'], point['low'], point['high'], '.3g', '×')}{note}")
        for warning in json.loads(verdict["warnings"]):
            click.echo(f"  warning: {warning}")
        click.echo()


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print full declarations as JSON.")
@plugins_option
def list_(as_json, plugin_paths):
    """List the innovations the loaded plugins declare.

    Example: cegbench list --json
    """
    catalog = catalog_or_exit(plugin_paths)
    items = [catalog.innovations.get(name) for name in catalog.innovations]
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(i) for i in items], indent=2))
        return
    width = max((len(i.name) for i in items), default=4)
    for i in items:
        changes = ", ".join(f"{k}: {a} → {b}" for k, (a, b) in i.baseline.differences(i.modern).items())
        click.echo(f"{i.name:<{width}}  {i.category:<12} {i.year}  {i.title}  [{changes}]  ({i.plugin})")


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
    from cegbench.site.render import build_site

    written = build_site(open_db(registry_path), Path(out_dir))
    click.echo(f"wrote {len(written)} files to {out_dir}/ (open {out_dir}/index.html)")
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


if __name__ == "__main__":
    cli()
