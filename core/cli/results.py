"""``cegbench show``, ``table``, ``validity`` and ``site``: stored verdicts as text, tables
and the leaderboard site, from the registry or from exports (``--from``).

The site's renderer (matplotlib) and the sweep (for ``--from``) are imported when a
command runs."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import click

from cegbench import literature
from cegbench.cli.common import (
    catalog_or_exit,
    from_option,
    is_external,
    lookup_any_tier,
    lookup_tier,
    open_db,
    plugins_option,
    registry_option,
    tier_option,
)
from cegbench.cli.terminal import ClickProgress, echo_lines
from cegbench.present import leaderboard_table, validity_table
from cegbench.present.numbers import fmt_bytes
from cegbench.present.report import innovation_lines
from cegbench.registry.db import current_verdict, fits, get_innovation, innovations, verdicts
from cegbench.registry.exchange import ImportRejected
from cegbench.registry.external_tiers import tier_innovations, validity_rows
from cegbench.tiers import TIERS


@click.command()
@click.argument("name")
@tier_option(required=False, external=True)
@registry_option
def show(name, tier_name, registry_path):
    """Print an innovation's verdict: label, Δα, fits, frontier, CEG(C) with intervals,
    CEG at target losses, wall-clock CEG, sensitivity, composition, what would decide
    it, warnings, and what published work found beside whether ours agrees.

    Example: cegbench show gelu-to-swiglu --tier smoke
    """
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


@click.command()
@tier_option(required=True, external=True)
@registry_option
@from_option
@plugins_option
def table(tier_name, registry_path, export_files, plugin_paths):
    """Print a tier's leaderboard as a Markdown table: per measured innovation its label,
    CEG drift and Δα with intervals, the headline CEG (at the tier's one stated compute) and
    the CEG at target losses, and what published work found beside whether ours agrees;
    then how many innovations the tier decided.

    Example: cegbench table --tier cpu --from leaderboard/runs.jsonl.gz

    Example: cegbench table --tier porian2024 --from leaderboard/external/porian2024/porian2024.csv.gz
    """
    if tier_name in TIERS or not (export_files or Path(registry_path).exists()):
        lookup_tier(tier_name)  # a mistyped built-in name fails before any import
    with registry_or_exports(registry_path, export_files, plugin_paths) as db:
        tier = lookup_any_tier(db, tier_name)
        rows = ([get_innovation(db, name) for name in tier_innovations(db, tier)]
                if is_external(tier) else innovations(db))
        found = [current_verdict(db, row["name"], tier) for row in rows]
    found = [v for v in found if v is not None]
    if not found:
        raise click.ClickException(
            f"no verdict on tier {tier.name} v{tier.version} in the registry: run "
            f"`cegbench run --tier {tier.name}` (or `cegbench analyze`) first")
    external = " (external)" if is_external(tier) else ""
    echo_lines([*leaderboard_table.markdown_table(rows, found).splitlines(), "",
                leaderboard_table.summary_line(f"{tier.name} v{tier.version}{external}", found, len(rows))])


@click.command()
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
    with registry_or_exports(registry_path, export_files, plugin_paths) as db:
        tier = lookup_any_tier(db, tier_name)
        if not is_external(tier):
            raise click.BadParameter(f"{tier.name} is a built-in tier; predictive validity is "
                                     "measured on external tiers", param_hint="'--tier'")
        rows = validity_rows(db, tier)
        n_pairs = len(tier_innovations(db, tier))
    if not rows:
        raise click.ClickException(
            f"no predictive-validity check on tier {tier.name} v{tier.version}: none of its {n_pairs} "
            "pairs spans 1.5 decades of budgets with verdicts, or it was not analysed yet "
            f"(`cegbench analyze --tier {tier.name}`)")
    click.echo(validity_table.markdown_table(rows))
    click.echo(validity_table.summary_line(f"{tier.name} v{tier.version}", rows, n_pairs))


@contextlib.contextmanager
def registry_or_exports(registry_path, export_files, plugin_paths):
    """The registry at ``registry_path``, or, given ``export_files``, a temporary one
    with their runs imported and analysed (``sweep.registry_from_exports``)."""
    from cegbench.sweep.imports import registry_from_exports

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


@click.command()
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
