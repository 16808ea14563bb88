"""``cegbench run``, ``analyze`` and ``status``: a tier's sweep, its analysis, how far it got.

The sweep, the analysis and torch are imported when a command runs (``cegbench --help``
stays light)."""

from __future__ import annotations

import sys

import click

from cegbench.analysis.options import OptionError
from cegbench.cli.common import (
    analysis_options,
    catalog_or_exit,
    innovation_option,
    is_external,
    lookup_any_tier,
    lookup_tier,
    open_db,
    options_dict,
    plugins_option,
    registry_option,
    select_innovations,
    tier_option,
)
from cegbench.cli.terminal import ClickProgress, echo_lines, status_report
from cegbench.data.names import DatasetError, training_tokens
from cegbench.execute import EXECUTORS, ExecutorUnavailable, executor_choice, make_executor
from cegbench.execute.config import ConfigError
from cegbench.plan.cells import RepetitionError
from cegbench.registry.db import innovations
from cegbench.registry.external_tiers import external_tiers, status_lines, tier_innovations
from cegbench.registry.status import recorded_tier_names
from cegbench.tiers import TIERS


@click.command()
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


@click.command()
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
    from cegbench.sweep.verdicts import UnknownInnovation, analyze_external, analyze_innovations

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
            mine = tier_innovations(db, tier)
            chosen = [name for name in mine if name in names]
            if chosen:
                analyze_external(db, tier, chosen, options=options, progress=ClickProgress())
        except UnknownInnovation as error:
            raise click.BadParameter(str(error), param_hint="'--innovation'") from None
        except OptionError as error:
            raise click.ClickException(str(error)) from None


@click.command()
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
    from cegbench.sweep.run import plan_now  # what a sweep would run now, counted

    db = open_db(registry_path)
    tiers = [lookup_any_tier(db, tier_name)] if tier_name else None
    if tiers and is_external(tiers[0]):
        click.echo("\n".join(status_lines(db, tiers[0])))
        return
    catalog = catalog_or_exit(plugin_paths)
    chosen = select_innovations(catalog, innovation_names)
    recorded = recorded_tier_names(db)
    tiers = tiers or [TIERS.get(n) for n in TIERS if n in recorded]
    for tier in tiers:
        try:
            available = training_tokens(tier.dataset)
            cells = plan_now(db, chosen, tier, catalog.components, available=available,
                             check_repetition=False)
        except DatasetError as error:
            raise click.ClickException(str(error)) from error
        echo_lines(status_report(db, catalog, chosen, tier, cells, available,
                                 not_loaded=not innovation_names))
    if not tier_name:
        for tier in external_tiers(db):
            echo_lines(status_lines(db, tier))
