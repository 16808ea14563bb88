"""The sweep behind ``cegbench run``: tune, train, record, analyse.

    run_sweep(db, catalog, innovations, tier, executor=...) ─▶ learning-rate tuning phase
        ─▶ plan the runs (``plan_now``) ─▶ execute each one not yet recorded, recording it
        as it arrives ─▶ analyse every innovation (``sweep.verdicts``) and store the verdicts

Like the CLI, the sweep wires the stages together (plugins → plan → execute → registry →
analysis); nothing else does. It prints nothing: it tells a ``Progress`` what happens.
``cegbench status`` counts what ``plan_now`` plans, so what it shows is what a sweep runs.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable

from cegbench.data.names import prepared_store
from cegbench.execute import results
from cegbench.innovations import ARMS
from cegbench.plan.cells import Cell, plan_cells, planned_cells, run_specs
from cegbench.plan.specs import training_id
from cegbench.plan.tuning import TuningError, choose, extended, plan_sweeps, recipe_label
from cegbench.registry.db import (
    innovation_row,
    mean_losses,
    recorded_run_ids,
    runs_without_training_id,
    save_innovations,
    set_training_ids,
    supersede_runs,
    trainings,
    unrecorded,
)
from cegbench.registry.ingest import ingest, ingest_copy
from cegbench.registry.learning_rates import (
    save_learning_rate,
    save_tuning_run,
    stale_runs,
    tuning_losses,
)
from cegbench.stored import StoredValueError, load_json
from cegbench.sweep.progress import Executed, Planned, Progress
from cegbench.sweep.verdicts import analyze_innovations
from cegbench.tiers import Tier


def run_command(tier: Tier, innovation_names=(), plugin_paths=()) -> str:
    """The ``cegbench run`` command line that reproduces a sweep, recorded with its runs."""
    return shlex.join([
        "cegbench", "run", "--tier", tier.name,
        *[arg for name in innovation_names for arg in ("--innovation", name)],
        *[arg for path in plugin_paths for arg in ("--plugins", path)],
    ])


def check_data(innovations, tier: Tier, components) -> None:
    """Before any run: the tier's dataset is there (an embedded one is prepared; a
    missing download raises ``DatasetError`` saying how to get it) and no planned run
    repeats it more often than the tier allows (``RepetitionError``)."""
    prepared_store(tier.dataset)
    plan_cells(innovations, tier, components)


def plan_now(db, innovations, tier: Tier, components, *, available: int | None = None,
             check_repetition: bool = True) -> list[Cell]:
    """The cells a sweep of ``innovations`` on ``tier`` trains now: the tier's plan and the
    ladder rungs the registry's results so far call for (``plan.cells.planned_cells``).
    The sweep plans every round with it and ``cegbench status`` counts it."""
    declarations = {i.name: i.declaration_hash() for i in innovations}
    return planned_cells(innovations, tier, components, mean_losses(db, tier, declarations),
                         available=available, check_repetition=check_repetition)


def run_sweep(db, catalog, innovations, tier: Tier, *, executor: Callable, command: str,
              retry_failed: bool = False, analyze: bool = True,
              progress: Progress | None = None) -> Executed:
    """Tune, train and record every planned run of ``innovations`` on ``tier`` that the
    registry ``db`` does not hold yet; then, with ``analyze``, analyse them.

    ``executor()`` returns a new executor for each phase (``results`` shuts it
    down); ``command`` is recorded with every run as its provenance. Runs recorded as
    failed are run again only with ``retry_failed``. Ctrl-C stops the sweep with
    ``KeyboardInterrupt``: every finished run is recorded, so the same call resumes.
    """
    progress = progress or Progress()
    save_innovations(db, [innovation_row(i, catalog.plugin_info(i.plugin)) for i in innovations])
    rates = tune_learning_rates(db, innovations, tier, catalog.components, executor, command,
                                retry_failed=retry_failed, progress=progress)
    supersede_stale_runs(db, tier, rates, progress)
    tuned = [i for i in innovations if i.baseline in rates and i.modern in rates]
    for innovation in innovations:
        if innovation not in tuned:
            progress.warning(f"{innovation.name} skipped: a recipe's learning-rate tuning failed")
    fill_training_ids(db, catalog.components)
    ok = failed = skipped = 0
    for phase in ("runs", *["ladder"] * tier.ladder_extension):
        # a ladder whose lowest loss sits at an edge gains a rung in the next phase
        specs = run_specs(plan_now(db, tuned, tier, catalog.components), tier, rates)
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


def supersede_stale_runs(db, tier: Tier, rates: dict, progress: Progress) -> None:
    """Move the runs whose recipe's tuning now chooses another learning rate out of
    ``runs`` (into ``superseded_runs``, with the reason): the plan trains them again at
    the new rate, and no analysis mixes the two."""
    stale = stale_runs(db, tier, rates)
    if stale:
        moved = supersede_runs(db, stale)
        progress.warning(f"{moved} recorded run(s) on tier {tier.name} v{tier.version} were trained at a "
                         "learning rate their recipe's tuning no longer chooses: moved to the registry's "
                         "superseded_runs table; they are trained again at the new rate")


def train_and_record(db, todo, planned: Planned, components, executor: Callable, command: str,
                     retry_failed: bool, progress: Progress) -> Executed:
    """Train the runs ``todo`` of one phase, each training once for the innovations that
    share it (``by_training``), recording every result with its training id as it arrives."""
    groups = by_training(todo, components)
    progress.planned(dataclasses.replace(planned, shared=len(todo) - len(groups)))
    copy_trained(db, groups, command)
    firsts = [group[0] for group in groups.values()]
    training_of = {group[0].run_id: key for key, group in groups.items()}

    def record(result) -> bool:
        training = training_of[result.run_id]
        recorded = ingest(db, result, command, training)
        for twin in groups.pop(training)[1:]:
            ingest_copy(db, result.run_id, twin, training, command)
        return recorded

    def still_to_run(specs) -> list:
        """Checked again just before each run or pack starts: another process may share
        the registry."""
        return unrecorded(db, specs, include_failed=not retry_failed)

    executed = run_phase(firsts, len(firsts), executor(), record, planned.phase, progress,
                         keep=still_to_run)
    copy_trained(db, groups, command)  # trainings another process recorded meanwhile
    return executed


def by_training(specs, components) -> dict[str, list]:
    """``specs`` by training (``plan.specs.training_id``: innovations whose arms build the
    same model plan the same trainings), in their order; the first of each group is the
    one to train."""
    groups: dict[str, list] = {}
    for spec in specs:
        groups.setdefault(training_id(spec.to_dict(), components), []).append(spec)
    return groups


def fill_training_ids(db, components) -> None:
    """Store the training id of every recorded run that has none (recorded before
    ``m017_training_ids``, or imported without the model families) and whose family is
    loaded: the registry cannot compute it, the families say which recipes build one model."""
    found = {}
    for run_id, spec in runs_without_training_id(db):
        where = f"runs.spec of run {run_id!r}"
        try:
            training = training_id(load_json(spec, where, kind=dict), components)
        except (KeyError, TypeError) as error:  # imported before specs were checked strictly
            raise StoredValueError(f"{where} is not a run spec ({type(error).__name__}: "
                                   f"{error})") from None
        if training is not None:
            found[run_id] = training
    if found:
        set_training_ids(db, found)


def copy_trained(db, groups: dict[str, list], command: str) -> None:
    """Record every run of each group (``by_training``) whose training an ok run in the
    registry already did as a copy of that run (``ingest_copy``), and drop the group."""
    for training, run_id in trainings(db, list(groups)).items():
        for spec in groups.pop(training):
            ingest_copy(db, run_id, spec, training, command)


def tune_learning_rates(db, innovations, tier: Tier, components, executor, command, *,
                        retry_failed: bool = False, progress: Progress | None = None) -> dict:
    """The tuning phase (``cegbench.plan.tuning``): run each distinct recipe's sweep that the
    registry does not hold yet, store every choice, return {recipe: TunedRate}."""
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
    return store_choices(db, tier, list(choices.values()), progress)


def store_choices(db, tier: Tier, choices: list, progress: Progress) -> dict:
    """Store each recipe's chosen rate (a ``TuningError`` is a warning instead) and return
    {recipe: TunedRate}; one warning names the choices at an edge of the grid."""
    rates, at_edge = {}, []
    for choice in choices:
        if isinstance(choice, TuningError):
            progress.warning(str(choice))
            continue
        save_learning_rate(db, tier, choice)
        rates[choice.recipe] = choice.rate
        if choice.at_edge:
            at_edge.append(f"[{recipe_label(choice.recipe)}] ×{choice.multiplier:g}")
    if at_edge:
        progress.warning(f"for {len(at_edge)} of {len(choices)} recipes the best learning rate "
                         f"is at the edge of the tuning grid, so a better one may lie outside "
                         f"it: {', '.join(at_edge)}")
    return rates


def run_phase(specs, total: int, executor, record: Callable, phase: str,
              progress: Progress | None = None, keep: Callable | None = None) -> Executed:
    """Run ``specs`` (``total`` of them at most) on ``executor``, recording each result
    as it arrives with ``record(result)``, which returns False when the run was
    already recorded (by another process sharing the registry). ``keep`` re-checks each
    task's specs just before it starts (``execute.results``)."""
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
