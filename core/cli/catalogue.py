"""``cegbench list``, ``plugins`` and ``plan``: what the loaded plugins declare, and what a
tier plans for each innovation."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys

import click

from cegbench.catalog import listing
from cegbench.cli.common import (
    catalog_or_exit,
    innovation_option,
    lookup_tier,
    plugins_option,
    select_innovations,
    tier_option,
)
from cegbench.cli.terminal import echo_lines, plan_lines


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print full declarations as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True,
              help="Print the catalogue page (docs/catalogue.md) as Markdown.")
@plugins_option
def list_(as_json, as_markdown, plugin_paths):
    """List the innovations the loaded plugins declare: slug, category, year, the
    class the literature expects, title, the recipe change, paper and plugin.

    Example: cegbench list --markdown > docs/catalogue.md
    """
    catalog = catalog_or_exit(plugin_paths)
    items = [catalog.innovations.get(name) for name in catalog.innovations]
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(i) for i in items], indent=2))
    elif as_markdown:
        echo_lines(listing.markdown(items).splitlines())
    else:
        echo_lines(listing.list_lines(items))


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@plugins_option
def plugins(show_all, plugin_paths):
    """List loaded plugins as JSON: name, distribution, version, hooks, declarations.

    Example: cegbench plugins --all
    """
    catalog = catalog_or_exit(plugin_paths)
    shown = [dataclasses.asdict(p) for p in catalog.plugins if show_all or not p.builtin]
    click.echo(json.dumps(shown, indent=2))


@click.command()
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
    tier = lookup_tier(tier_name)
    catalog = catalog_or_exit(plugin_paths)
    with contextlib.redirect_stdout(sys.stderr):  # a family's prints stay out of --json
        lines = [line for innovation in select_innovations(catalog, innovation_names)
                 for line in plan_lines(innovation, tier, catalog.components, as_json)]
    echo_lines(lines)
