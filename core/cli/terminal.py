"""What the CLI shows on the terminal: a sweep's progress (``ClickProgress``, the
``cegbench.sweep.progress.Progress`` for people), the ``cegbench status`` report, an import's
report and the ``cegbench plan`` listing. Like the CLI, it may read any stage.

Text from plugins and registries reaches the terminal through ``printable``: a control
character (an escape sequence that clears the screen or retitles the window, a carriage
return that overwrites a line, a line break that forges one) or a bidirectional override
is shown as its escape, ``\x1b``, never sent raw."""

from __future__ import annotations

import json
import re

import click
from tqdm import tqdm

from cegbench.analysis.label import EQUAL_LOSS, NOT_ANALYSED
from cegbench.data.names import VOCAB_SIZE
from cegbench.plan.cells import plan_cells, run_tokens
from cegbench.plan.specs import RunSpec
from cegbench.present.numbers import fmt_compute, fmt_delta, fmt_drift, fmt_epochs
from cegbench.present.report import describe_verdict
from cegbench.registry.learning_rates import tuned_rates
from cegbench.registry.status import not_loaded_runs, older_runs, sweep_status, totals
from cegbench.sweep.progress import Progress

# C0 and C1 controls, DEL, and the bidirectional marks and overrides ("Trojan source")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character and bidirectional override as its escape."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def echo_lines(lines, err: bool = False) -> None:
    """Print ``lines``, one a line, each through ``printable``."""
    click.echo("\n".join(printable(line) for line in lines), err=err)


class ClickProgress(Progress):
    """Shows a sweep on the terminal: a line per phase, a progress bar, every failed run,
    warnings in yellow and a line per verdict. ``where``: the device, executor and registry;
    ``err``: write the lines to standard error, keeping standard output for a command's result."""

    def __init__(self, where: str = "", err: bool = False):
        self.where = where
        self.err = err
        self.bar = self.phase_name = None

    def planned(self, planned):
        tier = f"tier {planned.tier.name} v{planned.tier.version}"
        if planned.phase == "tuning":
            click.echo(f"learning-rate tuning on {tier}: {planned.units} recipes, "
                       f"{planned.planned} tuning runs, {planned.recorded} already recorded")
        elif planned.phase == "beyond the grid":
            click.echo(f"learning-rate tuning on {tier}: {planned.todo} runs at the next rate beyond "
                       "the edge of the grid, where the best rate sat")
        elif planned.phase == "ladder":
            click.echo(f"{tier}: {planned.todo} runs on rungs added where a ladder's lowest loss "
                       f"sat at its edge {self.where}")
        else:
            click.echo(f"{tier}: {planned.units} innovations, {planned.planned} runs planned, "
                       f"{planned.recorded} already recorded, {planned.todo} to run {self.where}")
        if planned.shared:
            click.echo(f"  {planned.shared} of them train as another run does (same model and cell): "
                       f"trained once, recorded for each")

    def phase(self, name, total):
        self.phase_name = name
        self.bar = tqdm(total=total, desc=name, unit="run", mininterval=2)

    def finished(self, result, recorded):
        self.bar.update()
        if recorded and result.status != "ok":
            spec = result.spec
            where = (f"{spec.innovation} {spec.arm}" if isinstance(spec, RunSpec)
                     else "learning-rate tuning")
            self.bar.write(f"failed: {where} C={spec.budget:.0e} width={spec.width} "
                           f"seed={spec.seed} lr={spec.learning_rate:.3g}: {result.error}")

    def ended(self, executed):
        self.bar.close()
        if self.phase_name == "runs":
            click.echo(f"{executed.ok} runs ok, {executed.failed} failed"
                       + (f", {executed.skipped} recorded meanwhile by another process"
                          if executed.skipped else ""))

    def warning(self, text):
        click.secho(f"warning: {text}", fg="yellow", err=True)

    def analysed(self, name, tier, analysis=None, error=None):
        if analysis is None:
            click.echo(f"{name} [{tier.name}]: inconclusive ({NOT_ANALYSED}: {error})", err=self.err)
            return
        fragile = ", fragile" if analysis.fragile else ""
        delta = fmt_delta(analysis.delta_alpha, analysis.delta_alpha_low, analysis.delta_alpha_high)
        trend = f"CEG drift {fmt_drift(analysis.drift, analysis.drift_low, analysis.drift_high)}"
        if analysis.label_basis == EQUAL_LOSS:
            trend = f"{trend} from equal-loss CEGs (fitted law not a result: {'; '.join(analysis.withheld)})"
        elif analysis.withheld:
            trend = f"label withheld: {'; '.join(analysis.withheld)}"
        click.echo(f"{name} [{tier.name}]: "
                   f"{describe_verdict(analysis.label, analysis.direction)}{fragile}, Δα = {delta}, "
                   f"{trend}", err=self.err)


def status_table(statuses, innovations, rates, older) -> list[str]:
    """The ``cegbench status`` table: a line per innovation and arm (``ArmStatus``), their
    total, the most epochs of training data a run sees, and the learning rate tuned for each arm's recipe (``rates``: {Recipe: TunedRate},
    "—" while not tuned yet); then a note per innovation with runs of an older declaration
    or tier version (``older``: {name: count})."""
    by_name = {i.name: i for i in innovations}
    width = max((len(i.name) for i in innovations), default=10)

    def tuned(row):
        rate = rates.get(by_name[row.innovation].recipe(row.arm)) if row.arm else None
        return f"{rate.learning_rate:.3g}" if rate else "—" if row.arm else ""

    lines = [f"{'innovation':<{width}}  {'arm':<8} {'planned':>7} {'done':>6} {'failed':>6} "
             f"{'to run':>6} {'FLOPs spent':>11} {'still needed':>12} {'epochs':>6} "
             f"{'tuned lr':>8}"]
    for row in [*statuses, totals(statuses)]:
        lines.append(f"{row.innovation:<{width}}  {row.arm:<8} {row.planned:>7} {row.done:>6} "
                     f"{row.failed:>6} {row.todo:>6} {fmt_compute(row.flops_spent):>11} "
                     f"{fmt_compute(row.flops_needed):>12} {fmt_epochs(row.max_epochs):>6} "
                     f"{tuned(row):>8}".rstrip())
    return lines + [f"note: {name} has {n} run(s) of an older declaration or tier version, "
                    "kept but never fitted" for name, n in older.items() if n]


def status_report(db, catalog, innovations, tier, cells, available: int, *, not_loaded: bool) -> list[str]:
    """``cegbench status`` for one tier: its dataset (``available`` training tokens) and
    repetition allowance, the status table of ``cells`` (what the sweep plans now:
    ``sweep.run.plan_now``), and (``not_loaded``) the recorded innovations no loaded plugin
    declares."""
    statuses = sweep_status(db, cells, lambda cell: run_tokens(cell, tier, catalog.components)
                            / available)
    older = {i.name: older_runs(db, i.name, tier, i.declaration_hash()) for i in innovations}
    lines = [f"tier {tier.name} v{tier.version}: dataset {tier.dataset}, {available:,} "
             f"training tokens, at most {tier.max_epochs:g} epochs a run",
             *status_table(statuses, innovations, tuned_rates(db, tier), older)]
    if not_loaded:
        lines += [f"{name}  not loaded: {ok} run(s) done, {failed} failed are recorded, but no "
                  "loaded plugin declares it (install or --plugins it)"
                  for name, ok, failed in not_loaded_runs(db, tier, set(catalog.innovations))]
    return lines


def show_import(report) -> None:
    """What ``cegbench import`` did (or, with ``--dry-run``, would do): counts, then
    warnings and conflicts on standard error."""
    would = "would be " if report.dry_run else ""
    if report.registered:
        click.echo(f"{would}registered innovations: {', '.join(report.registered)}")
    click.echo(f"{'dry run, nothing written: ' if report.dry_run else ''}{would}imported "
               f"{report.imported} runs, {report.unchanged} already recorded, "
               f"{len(report.conflicts)} conflict(s)")
    for warning in report.other_declarations:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    for conflict in report.conflicts:
        click.secho(f"conflict: {conflict}", fg="red", err=True)


def show_external_import(report) -> None:
    """What ``cegbench import --external`` did (or would do): tiers, counts, then conflicts
    on standard error."""
    would = "would be " if report.dry_run else ""
    click.echo(f"external tier(s): {', '.join(report.tiers)}")
    if report.registered:
        click.echo(f"{would}registered innovations: {', '.join(report.registered)}")
    click.echo(f"{'dry run, nothing written: ' if report.dry_run else ''}{would}imported "
               f"{report.imported} rows, {report.unchanged} already recorded, "
               f"{len(report.conflicts)} conflict(s)")
    for conflict in report.conflicts:
        click.secho(f"conflict: {conflict}", fg="red", err=True)


def plan_lines(innovation, tier, components, as_json: bool) -> list[str]:
    """``cegbench plan`` for one innovation: its declaration hash, then each planned cell
    with the parameter count its family gives (one JSON object a line with ``as_json``)."""
    lines = [] if as_json else [f"{innovation.name}  declaration_hash "
                                f"{innovation.declaration_hash()}  tier {tier.name} v{tier.version}"]
    for cell in plan_cells([innovation], tier, components):
        family = components.get("family", cell.recipe.family)
        n_params = family.n_params(cell.recipe, cell.width, VOCAB_SIZE, tier.context, components)
        if as_json:
            lines.append(json.dumps({
                "innovation": cell.innovation, "declaration_hash": cell.declaration_hash,
                "tier": tier.name, "tier_version": tier.version, "arm": cell.arm,
                "budget": cell.budget, "width": cell.width, "seed": cell.seed,
                "n_params": n_params}))
        else:
            lines.append(f"  {cell.arm:<8} budget {cell.budget:<8g} width {cell.width:>5} "
                         f"seed {cell.seed}  n_params {n_params}")
    return lines
