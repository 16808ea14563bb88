"""The sweep behind ``cegbench run`` and ``cegbench analyze``: tune, train, record, analyse.

    run_sweep(db, catalog, innovations, tier, executor=...) ─▶ learning-rate tuning phase
        ─▶ plan the runs ─▶ execute each one not yet recorded, recording it as it arrives
        ─▶ analyse every innovation (parts of a bundle first) and store the verdicts

Like the CLI, this module wires the stages together (plugins → plan → execute →
registry → analysis); nothing else does. It prints nothing: it tells a ``Progress``
what happens, and the caller decides how to show it (the CLI draws a progress bar
and prints lines; the default ``Progress`` says nothing, for tests and scripts).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from cegbench import __version__
from cegbench.innovations import ARMS


@dataclass(frozen=True)
class Planned:
    """What a phase found to do: ``planned`` runs for ``units`` recipes (tuning) or
    innovations (runs), of which ``recorded`` are in the registry already."""

    phase: str  # "tuning", "beyond the grid" (tuning), "runs" or "ladder"
    tier: object  # cegbench.tiers.Tier
    units: int
    planned: int
    recorded: int
    # runs to do whose training an earlier one of them does for another innovation or arm
    # (the same model and cell): recorded as copies of it, not trained again
    shared: int = 0

    @property
    def todo(self) -> int:
        return self.planned - self.recorded


@dataclass(frozen=True)
class Executed:
    """How the runs of a phase ended: recorded ok, recorded failed, and recorded
    meanwhile by another process sharing the registry (so skipped here)."""

    ok: int
    failed: int
    skipped: int
    not_tuned: tuple[str, ...] = ()  # innovations left out: a recipe's tuning failed


class Progress:
    """What a sweep reports as it goes; every method does nothing here. Override the
    ones you want to show (the CLI's ``ClickProgress`` shows them all)."""

    def planned(self, planned: Planned) -> None:
        """A phase (tuning or runs) is about to run ``planned.todo`` runs."""

    def phase(self, name: str, total: int) -> None:
        """The runs of phase ``name`` start; ``finished`` follows for each one, then ``ended``."""

    def finished(self, result, recorded: bool) -> None:
        """One run of the current phase ended (ok or failed); ``recorded``: newly recorded."""

    def ended(self, executed: Executed) -> None:
        """The current phase's runs ended."""

    def warning(self, text: str) -> None:
        """Something the person running the sweep should know; the sweep goes on."""

    def analysed(self, name: str, tier, analysis=None, error: str | None = None) -> None:
        """An innovation's verdict on ``tier`` was stored: its ``Analysis``, or the
        ``error`` why it cannot be analysed yet (then stored as inconclusive)."""


class UnknownInnovation(ValueError):
    """An innovation asked for by name is not in the registry."""


def run_command(tier, innovation_names=(), plugin_paths=()) -> str:
    """The ``cegbench run`` command line that reproduces a sweep, recorded with its runs."""
    return shlex.join([
        "cegbench", "run", "--tier", tier.name,
        *[arg for name in innovation_names for arg in ("--innovation", name)],
        *[arg for path in plugin_paths for arg in ("--plugins", path)],
    ])


def check_data(innovations, tier, components) -> None:
    """Before any run: the tier's dataset is there (an embedded one is prepared; a
    missing download raises ``DatasetError`` saying how to get it) and no planned run
    repeats it more often than the tier allows (``RepetitionError``)."""
    from cegbench.data import load_dataset
    from cegbench.plan import plan_cells

    load_dataset(tier.dataset)
    plan_cells(innovations, tier, components)


def run_sweep(db, catalog, innovations, tier, *, executor: Callable, command: str,
              retry_failed: bool = False, analyze: bool = True,
              progress: Progress | None = None) -> Executed:
    """Tune, train and record every planned run of ``innovations`` on ``tier`` that the
    registry ``db`` does not hold yet; then, with ``analyze``, analyse them.

    ``executor()`` returns a new executor for each phase (``results`` shuts it
    down); ``command`` is recorded with every run as its provenance. Runs recorded as
    failed are run again only with ``retry_failed``. Ctrl-C stops the sweep with
    ``KeyboardInterrupt``: every finished run is recorded, so the same call resumes.
    """
    from cegbench.plan import plan_runs
    from cegbench.registry.db import innovation_row, mean_losses, recorded_run_ids, save_innovations

    progress = progress or Progress()
    save_innovations(db, [innovation_row(i, catalog.plugin_info(i.plugin)) for i in innovations])
    rates = tune_learning_rates(db, innovations, tier, catalog.components, executor, command,
                                retry_failed=retry_failed, progress=progress)
    supersede_stale_runs(db, tier, rates, progress)
    tuned = [i for i in innovations if i.baseline in rates and i.modern in rates]
    for innovation in innovations:
        if innovation not in tuned:
            progress.warning(f"{innovation.name} skipped: a recipe's learning-rate tuning failed")
    declarations = {i.name: i.declaration_hash() for i in tuned}
    ok = failed = skipped = 0
    for phase in ("runs", *["ladder"] * tier.ladder_extension):
        # a ladder whose lowest loss sits at an edge gains a rung in the next phase
        specs = plan_runs(tuned, tier, catalog.components, rates,
                          mean_losses(db, tier.name, tier.version, declarations))
        done = recorded_run_ids(db, [s.run_id for s in specs], include_failed=not retry_failed)
        todo = [s for s in specs if s.run_id not in done]
        if phase == "ladder" and not todo:
            break
        executed = train_and_record(db, todo, Planned(phase, tier, len(tuned), len(specs),
                                                      len(specs) - len(todo)),
                                    catalog.components, executor, command, retry_failed, progress)
        ok, failed, skipped = ok + executed.ok, failed + executed.failed, skipped + executed.skipped
    if analyze:
        analyze_innovations(db, [i.name for i in tuned], tier, progress=progress)
    return Executed(ok, failed, skipped, not_tuned=tuple(i.name for i in innovations if i not in tuned))


def supersede_stale_runs(db, tier, rates: dict, progress: Progress) -> None:
    """Move the runs whose recipe's tuning now chooses another learning rate out of
    ``runs`` (into ``superseded_runs``, with the reason): the plan trains them again at
    the new rate, and no analysis mixes the two."""
    from cegbench.registry.db import supersede_runs
    from cegbench.registry.learning_rates import stale_runs

    stale = stale_runs(db, tier, rates)
    if stale:
        moved = supersede_runs(db, stale)
        progress.warning(f"{moved} recorded run(s) on tier {tier.name} v{tier.version} were trained at a "
                         "learning rate their recipe's tuning no longer chooses: moved to the registry's "
                         "superseded_runs table; they are trained again at the new rate")


def train_and_record(db, todo, planned: Planned, components, executor: Callable, command: str,
                     retry_failed: bool, progress: Progress) -> Executed:
    """Train the runs ``todo`` of one phase, each training once for the innovations that
    share it (``by_training``), recording every result as it arrives."""
    from cegbench.registry.db import unrecorded
    from cegbench.registry.ingest import ingest, ingest_copy

    groups = by_training(todo, components)
    progress.planned(dataclasses.replace(planned, shared=len(todo) - len(groups)))
    copy_trained(db, groups, components, command)
    trainings = [group[0] for group in groups.values()]
    training_of = {group[0].run_id: key for key, group in groups.items()}

    def record(result) -> bool:
        recorded = ingest(db, result, command)
        for twin in groups.pop(training_of[result.run_id])[1:]:
            ingest_copy(db, result.run_id, twin, components, command)
        return recorded

    def still_to_run(specs) -> list:
        """Checked again just before each run or pack starts: another process may share
        the registry."""
        return unrecorded(db, specs, include_failed=not retry_failed)

    executed = run_phase(trainings, len(trainings), executor(), record, planned.phase, progress,
                         keep=still_to_run)
    copy_trained(db, groups, components, command)  # trainings another process recorded meanwhile
    return executed


def by_training(specs, components) -> dict[str, list]:
    """``specs`` by training (``plan.training_id``: innovations whose arms build the same
    model plan the same trainings), in their order; the first of each group is the one to
    train."""
    from cegbench.plan import training_id

    groups: dict[str, list] = {}
    for spec in specs:
        groups.setdefault(training_id(spec.to_dict(), components), []).append(spec)
    return groups


def copy_trained(db, groups: dict[str, list], components, command: str) -> None:
    """Record every run of each group (``by_training``) whose training an ok run in the
    registry already did as a copy of that run (``ingest_copy``), and drop the group."""
    from cegbench.registry.db import trainings
    from cegbench.registry.ingest import ingest_copy

    for key, run_id in trainings(db, list(groups), components).items():
        for spec in groups.pop(key):
            ingest_copy(db, run_id, spec, components, command)


def tune_learning_rates(db, innovations, tier, components, executor, command, *,
                        retry_failed: bool = False, progress: Progress | None = None) -> dict:
    """The tuning phase (``cegbench.tuning``): run each distinct recipe's sweep that the
    registry does not hold yet, store every choice, return {recipe: TunedRate}."""
    from cegbench.registry.learning_rates import save_learning_rate, save_tuning_run, tuning_losses
    from cegbench.tuning import TuningError, choose, extended, plan_sweeps, recipe_label

    progress = progress or Progress()
    recipes = [i.recipe(arm) for i in innovations for arm in ARMS]
    sweeps = plan_sweeps(recipes, tier, components)
    for phase in ("tuning", *["beyond the grid"] * tier.lr_extension):
        specs = [spec for sweep in sweeps for spec in sweep.specs]
        done = tuning_losses(db, [s.run_id for s in specs], include_failed=not retry_failed)
        todo = [s for s in specs if s.run_id not in done]
        if phase == "tuning" or todo:
            progress.planned(Planned(phase, tier, len(sweeps), len(specs), len(specs) - len(todo)))
            run_phase(todo, len(todo), executor(), lambda result: save_tuning_run(db, result, command),
                      phase, progress)
        losses = tuning_losses(db, [s.run_id for s in specs])
        choices = {}
        for sweep in sweeps:
            try:
                choices[sweep.recipe] = choose(sweep, losses)
            except TuningError as error:
                choices[sweep.recipe] = error
        # a choice at an edge of the grid: one more rate beyond it (``tuning.extended``)
        grown = [extended(sweep, choice, tier) if not isinstance(choice, TuningError) else None
                 for sweep, choice in zip(sweeps, choices.values())]
        if not any(grown):
            break
        sweeps = [bigger or sweep for sweep, bigger in zip(sweeps, grown)]
    rates, at_edge = {}, []
    for choice in choices.values():
        if isinstance(choice, TuningError):
            progress.warning(str(choice))
            continue
        save_learning_rate(db, tier.name, tier.version, choice)
        rates[choice.recipe] = choice.rate
        if choice.at_edge:
            at_edge.append(f"[{recipe_label(choice.recipe)}] ×{choice.multiplier:g}")
    if at_edge:
        progress.warning(f"for {len(at_edge)} of {len(sweeps)} recipes the best learning rate "
                         f"is at the edge of the tuning grid, so a better one may lie outside "
                         f"it: {', '.join(at_edge)}")
    return rates


def run_phase(specs, total: int, executor, record: Callable, phase: str,
            progress: Progress | None = None, keep: Callable | None = None) -> Executed:
    """Run ``specs`` (``total`` of them at most) on ``executor``, recording each result
    as it arrives with ``record(result)``, which returns False when the run was
    already recorded (by another process sharing the registry). ``keep`` re-checks each
    task's specs just before it starts (``execute.results``)."""
    from cegbench.execute import results

    progress = progress or Progress()
    ok = failed = 0
    progress.phase(phase, total)
    for result in results(specs, executor, keep):
        recorded = record(result)
        progress.finished(result, recorded)
        if recorded and result.status == "ok":
            ok += 1
        elif recorded:
            failed += 1
    executed = Executed(ok, failed, total - ok - failed)
    progress.ended(executed)
    return executed


def analyze_innovations(db, names, tier, *, quiet_when_empty: bool = False,
                        progress: Progress | None = None, options: dict | None = None) -> None:
    """Analyse the current declaration of each innovation on one tier version and store
    its verdict, parts of a bundle before the bundle (its composition reads their
    verdicts). ``quiet_when_empty``: skip innovations without runs on the tier.
    ``options``: ``analyze_innovation``'s fixed_E, target_loss and fit_window."""
    from cegbench import analysis
    from cegbench.analysis.label import NOT_ANALYSED
    from cegbench.provenance import git_commit
    from cegbench.registry.db import get_innovation, runs, save_verdict

    progress = progress or Progress()
    judge_learning(db, tier)
    tier_model = fit_tier_noise(db, tier)
    declared = {}
    for name in names:
        declared[name] = get_innovation(db, name)
        if declared[name] is None:
            raise UnknownInnovation(f"innovation {name!r} is not in the registry")
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
            result = analysis.analyze_innovation(recorded, margin=tier.margin, headline_compute=tier.headline_compute,
                                                 tier_model=tier_model, **(options or {}))
        except analysis.AnalysisError as error:
            save_verdict(db, **key, fits=[], verdict=dict(
                label="inconclusive", margin=tier.margin, n_runs=len(recorded) - n_failed,
                n_failed=n_failed, warnings=[f"{NOT_ANALYSED}: {error}"], **common))
            progress.analysed(name, tier, error=str(error))
            continue
        verdict = {field: value for field, value in dataclasses.asdict(result).items()
                   if field not in ("fits", "n_boot", "n_boot_failed", "shared_E")}
        verdict["method"].update(cegbench_version=__version__, git_commit=git_commit())
        if parts_of[name]:
            verdict["composition"] = dataclasses.asdict(
                bundle_composition(db, result, parts_of[name], tier))
        fits = [{**dataclasses.asdict(fit), "shared_E": int(result.shared_E)} for fit in result.fits]
        save_verdict(db, **key, verdict={**verdict, **common}, fits=fits)
        progress.analysed(name, tier, result)


def fit_tier_noise(db, tier):
    """The tier-wide noise model (``analysis.calibrate.fit_tier_model``) of a tier that reads
    its intervals off one (``Tier.tier_noise``), fitted on all its recorded runs; None for
    other tiers, and while the tier has too few seed pairs to fit one (its innovations are
    then analysed with per-ladder residual pools, and say so in their method)."""
    if not getattr(tier, "tier_noise", False):
        return None
    from cegbench.analysis.calibrate import CalibrationError, fit_tier_model
    from cegbench.analysis.noise import NoiseModelError
    from cegbench.registry.db import tier_noise_runs

    try:
        return fit_tier_model(tier_noise_runs(db, tier.name, tier.version))
    except (NoiseModelError, CalibrationError, ValueError):
        return None


def judge_learning(db, tier) -> None:
    """Measure the unigram loss of the tier's runs that lack it (recorded before the
    trainer measured it, or imported) wherever their dataset is on this machine with the
    same content, and judge again whether they learned (``cegbench.learning``)."""
    from cegbench.data import DatasetError, load_dataset
    from cegbench.registry.db import set_unigram_loss, unjudged_data
    from cegbench.store import StoreError

    for data in unjudged_data(db, tier.name, tier.version):
        dataset_name, dataset_hash, eval_tokens, context = data
        try:
            dataset = load_dataset(dataset_name)
        except (DatasetError, StoreError):  # not on this machine: judged by its curves alone
            continue
        if dataset.content_hash == dataset_hash:
            set_unigram_loss(db, tier.name, tier.version, data, dataset.unigram_loss(eval_tokens, context))


def bundle_composition(db, result, parts, tier):
    """A bundle's CEG at the reference budget against its parts' current verdicts."""
    from cegbench import analysis
    from cegbench.registry.db import current_verdict

    reference = max((p for p in result.ceg if not p.extrapolated), key=lambda p: p.compute)
    part_cegs = {}
    for part in parts:
        verdict = current_verdict(db, part, tier.name, tier.version)
        part_cegs[part] = json.loads(verdict["ceg"]) if verdict else None
    return analysis.compose(dataclasses.asdict(reference), part_cegs)


def registry_from_exports(db, catalog, paths, *, progress: Progress | None = None) -> int:
    """Fill the new registry ``db`` with every innovation ``catalog`` declares (with or
    without runs), the runs of the exports ``paths`` (validated as by ``cegbench import``;
    ``ImportRejected`` otherwise) and a verdict per innovation and tier present: what
    ``cegbench site --from`` renders. Files in the external format
    (``registry.external.is_external_file``) are imported as by ``cegbench import
    --external`` with the default read and margin. Returns how many runs (external rows)
    were imported."""
    from cegbench.registry.db import innovation_row, save_innovations
    from cegbench.registry.exchange import import_runs
    from cegbench.registry.external import is_external_file
    from cegbench.registry.status import recorded_tiers
    from cegbench.tiers import TIERS

    innovations = [catalog.innovations.get(name) for name in catalog.innovations]
    declared = {i.name: innovation_row(i, catalog.plugin_info(i.plugin)) for i in innovations}
    save_innovations(db, list(declared.values()))
    external = [path for path in paths if is_external_file(path)]
    exports = [path for path in paths if path not in external]
    imported = import_runs(db, exports, declared, catalog.components).imported if exports else 0
    names = sorted({row["innovation"] for row in db["runs"].rows_where(select="distinct innovation")})
    recorded = recorded_tiers(db)
    for tier in [TIERS.get(name) for name in TIERS if name in recorded]:
        analyze_innovations(db, names, tier, quiet_when_empty=True, progress=progress)
    if external:  # runs trained elsewhere (`cegbench import --external`), analysed on their own tiers
        imported += import_external_runs(db, catalog, external, progress=progress).imported
    return imported


def analyze_external(db, tier, names=(), *, options: dict | None = None,
                     progress: Progress | None = None) -> None:
    """Analyse the innovations ``names`` (default: all) of the external tier ``tier``
    (``registry.external.ExternalTier``): read each one's frontier off its rows as the
    tier says (``analysis.curves``), store its verdict and fits, and, where its budgets
    span enough decades, its predictive-validity check (``analysis.validity``).
    ``options``: ``analyze_innovation``'s fixed_E, target_loss and fit_window."""
    from cegbench import analysis
    from cegbench.analysis.curves import READS, CurveError, frontier_runs
    from cegbench.analysis.label import NOT_ANALYSED
    from cegbench.analysis.validity import predictive_validity
    from cegbench.provenance import git_commit
    from cegbench.registry.db import get_innovation, save_verdict
    from cegbench.registry.external import (
        clear_validity,
        external_rows,
        save_validity,
        tier_innovations,
    )

    progress = progress or Progress()
    options = {k: v for k, v in (options or {}).items() if v is not None}
    for name in names or tier_innovations(db, tier.name, tier.version):
        innovation = get_innovation(db, name)
        rows = external_rows(db, name, tier.name, tier.version)
        if innovation is None or rows.empty:
            raise UnknownInnovation(f"innovation {name!r} has no rows on external tier {tier.name} "
                                    f"v{tier.version}")
        n_runs = int(rows.groupby(["arm", "run"]).ngroups) if tier.curves else len(rows)
        key = {"innovation": name, "tier": tier.name, "tier_version": tier.version}
        common = {"declaration_hash": innovation["declaration_hash"], "cegbench_version": __version__}
        method = {"frontier_read": tier.read, "frontier_read_text": READS[tier.read],
                  "external_source": tier.source, "external_citation": tier.citation}
        clear_validity(db, **key)
        try:
            runs, read_warnings = frontier_runs(rows, tier.read)
            result = analysis.analyze_innovation(runs, margin=tier.margin, **options)
        except (analysis.AnalysisError, CurveError) as error:
            save_verdict(db, **key, fits=[], verdict=dict(
                label="inconclusive", margin=tier.margin, n_runs=n_runs, n_failed=0,
                warnings=[f"{NOT_ANALYSED}: {error}"], method=method, **common))
            progress.analysed(name, tier, error=str(error))
            continue
        verdict = {field: value for field, value in dataclasses.asdict(result).items()
                   if field not in ("fits", "n_boot", "n_boot_failed", "shared_E")}
        verdict["method"].update(method, cegbench_version=__version__, git_commit=git_commit())
        verdict.update(n_runs=n_runs, warnings=[*read_warnings, *verdict["warnings"]])
        fits = [{**dataclasses.asdict(fit), "shared_E": int(result.shared_E)} for fit in result.fits]
        save_verdict(db, **key, verdict={**verdict, **common}, fits=fits)
        check = predictive_validity(runs, result, margin=tier.margin, **options)
        if check is not None:
            save_validity(db, **key, span_decades=check.span_decades, small=check.small, whole=check.whole)
        progress.analysed(name, tier, result)


def import_external_runs(db, catalog, paths, *, read=None, margin=None, analyze: bool = True,
                         options: dict | None = None, dry_run: bool = False,
                         progress: Progress | None = None):
    """``cegbench import --external``: validate and merge the external files ``paths``
    (``registry.external.import_external``), then analyse every innovation they touched
    on its external tier. Returns the ``ExternalReport``."""
    from cegbench.registry.db import innovation_row
    from cegbench.registry.external import DEFAULT_MARGIN, get_external_tier, import_external

    declared = {i.name: innovation_row(i, catalog.plugin_info(i.plugin))
                for i in (catalog.innovations.get(n) for n in catalog.innovations)}
    report = import_external(db, paths, declared, read=read,
                             margin=DEFAULT_MARGIN if margin is None else margin, dry_run=dry_run)
    if analyze and not dry_run:
        by_tier: dict[tuple[str, int], list[str]] = {}
        for tier, version, name in report.touched:
            by_tier.setdefault((tier, version), []).append(name)
        for (tier, version), names in by_tier.items():
            analyze_external(db, get_external_tier(db, tier, version), names, options=options,
                             progress=progress)
    return report
