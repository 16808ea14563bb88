"""``cegbench data``: prepare, list and verify token stores; a tier's token needs.

Thin commands over ``cegbench.data.sources`` (preparing), ``cegbench.data.store`` (reading,
verifying) and ``cegbench.plan.specs`` (tokens a tier's runs need).
"""

from __future__ import annotations

from pathlib import Path

import click

from cegbench.cli.common import catalog_or_exit, lookup_tier
from cegbench.data.names import DatasetError, parse_tokens, store_path
from cegbench.data.sources import PrepareError
from cegbench.data.sources import prepare as prepare_store
from cegbench.data.store import StoreError, data_dir, open_store, verify_store
from cegbench.plan.cells import plan_cells, tokens_by_budget
from cegbench.present.numbers import fmt_compute


@click.group(name="data")
def data_group():
    """Token stores: the corpora runs train on, memory-mapped.

    Example: cegbench data prepare fineweb-edu --tokens 10B
    """


@data_group.command()
@click.argument("source")
@click.option("--tokens", "tokens_text", default=None,
              help="How many tokens (e.g. 10B, 1.5M); required for a downloaded corpus.")
@click.option("--from", "from_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="A folder holding the corpus files already (no download).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Store folder. Default: in the data folder, under the name tiers use.")
@click.option("--revision", default="main", show_default=True,
              help="Hugging Face revision (branch or commit) to download.")
@click.option("--field", default="text", show_default=True,
              help="JSON field / Parquet column holding each document's text.")
@click.option("--licence", default=None, help="Licence recorded for local files.")
def prepare(source, tokens_text, from_dir, out, revision, field, licence):
    """Make a token store from SOURCE, once.

    SOURCE: fineweb-edu or c4-en (downloaded from Hugging Face, resumable and
    checksummed, into the data folder: $CEGBENCH_DATA_CACHE, else
    ~/.cache/cegbench/data), text:PATH, jsonl:PATH (.jsonl, .jsonl.gz, .json.gz),
    parquet:PATH (a file or a folder), synthetic[:SEED] or enwiki-sample.

    Example: cegbench data prepare fineweb-edu --tokens 10B
    """
    try:
        tokens = parse_tokens(tokens_text) if tokens_text else None
        store = prepare_store(source, tokens=tokens, out=out, from_dir=from_dir,
                              revision=revision, field=field, licence=licence)
    except (PrepareError, DatasetError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(summary(store))


@data_group.command(name="list")
def list_():
    """The stores in the data folder: name, tokens, content hash, path."""
    folder = data_dir()
    paths = sorted(p for p in folder.iterdir() if (p / "manifest.json").is_file()) \
        if folder.is_dir() else []
    if not paths:
        click.echo(f"no token stores in {folder}")
    for path in paths:
        try:
            click.echo(summary(open_store(path)))
        except StoreError as error:
            click.echo(f"damaged: {error}")


@data_group.command()
@click.argument("store")
def verify(store):
    """Re-hash every shard of STORE (a folder, or a dataset name) against its manifest."""
    try:
        path = Path(store) if Path(store).is_dir() else store_path(store)
        click.echo("ok: " + summary(verify_store(path)))
    except (StoreError, DatasetError) as error:
        raise click.ClickException(str(error)) from None


@data_group.command()
@click.option("--tier", "tier_name", required=True, help="Tier.")
@click.option("--markdown", is_flag=True, help="As a Markdown table.")
def needs(tier_name, markdown):
    """Per budget of a tier: the largest run's training tokens against the dataset's."""
    tier = lookup_tier(tier_name)
    catalog = catalog_or_exit(())
    innovations = [catalog.innovations.get(name) for name in catalog.innovations]
    cells = plan_cells(innovations, tier, catalog.components, check_repetition=False)
    try:
        rows = tokens_by_budget(cells, tier, catalog.components)
    except DatasetError as error:
        raise click.ClickException(str(error)) from None
    if markdown:
        click.echo("| budget (FLOPs) | largest run | tokens needed | tokens available | epochs |")
        click.echo("|---|---|---:|---:|---:|")
    else:
        click.echo(f"tier {tier.name} v{tier.version}: dataset {tier.dataset}, "
                   f"at most {tier.max_epochs:g} epochs a run")
    for row in rows:
        run = f"{row.cell.innovation} {row.cell.arm}, width {row.cell.width}"
        if markdown:
            click.echo(f"| {fmt_compute(row.cell.budget)} | {run} | {row.tokens:,} | {row.available:,} "
                       f"| {row.epochs:.2f} |")
        else:
            click.echo(f"{fmt_compute(row.cell.budget):>8}  {row.tokens:>15,} of {row.available:,} "
                       f"({row.epochs:.2f} epochs)  {run}")


def summary(store) -> str:
    m = store.manifest
    origin = m.get("origin", {})
    revision = origin.get("revision", {}).get("revision") if isinstance(origin.get("revision"),
                                                                        dict) else None
    return (f"{m.get('name')}: {m['tokens']:,} tokens ({m['shards']['train']['tokens']:,} "
            f"training, {m['shards']['validation']['tokens']:,} validation), {m['tokenizer']}, "
            f"content hash {store.content_hash[:16]}"
            + (f", revision {revision}" if revision else "") + f", licence {m.get('licence')}; "
            f"{store.path}")
