"""The registry's schema history. Every schema change is a new migration here."""

import json

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from cegbench.learning import not_learned_reason

migrations = Migrations("cegbench")


@migrations()
def m001_initial_schema(db: Database) -> None:
    db["innovations"].create(
        {
            "name": str,
            "title": str,
            "category": str,
            "year": int,
            "paper": str,
            "description": str,
            "expected": str,  # the class the literature expects; display only
            "parts": str,  # JSON list of innovation names (bundles)
            "baseline": str,  # JSON of the baseline Recipe
            "modern": str,  # JSON of the modern Recipe
            "plugin": str,
            "distribution": str,
            "plugin_version": str,
            "declaration_hash": str,
            "updated_at": str,
        },
        pk="name",
    )
    db["runs"].create(
        {
            "run_id": str,  # hash of the full run spec
            "innovation": str,
            "arm": str,
            "tier": str,
            "tier_version": int,
            "budget": float,
            "width": int,
            "n_params": int,
            "seed": int,
            "learning_rate": float,
            "recipe": str,  # JSON
            "spec": str,  # JSON of the whole RunSpec
            "status": str,  # "ok" or "failed"
            "error": str,  # reason, when failed
            "final_loss": float,
            "flops_per_token": float,  # measured by the FLOP counter
            "flops_per_token_analytic": float,
            "tokens": int,
            "steps": int,
            "curve": str,  # JSON list of {"step", "tokens", "flops", "loss"}
            "wall_time_s": float,
            "dataset": str,
            "dataset_hash": str,
            "declaration_hash": str,
            "plugin": str,
            "distribution": str,
            "plugin_version": str,
            "cegbench_version": str,
            "git_commit": str,
            "torch_version": str,
            "python_version": str,
            "hardware": str,
            "device": str,
            "command": str,
            "started_at": str,
            "finished_at": str,
        },
        pk="run_id",
        foreign_keys=[("innovation", "innovations", "name")],
    )
    db["runs"].create_index(["innovation", "tier", "tier_version", "status"])
    db["fits"].create(
        {
            "innovation": str,
            "tier": str,
            "tier_version": int,
            "arm": str,
            "E": float,
            "A": float,
            "alpha": float,
            "alpha_low": float,
            "alpha_high": float,
            "E_low": float,
            "E_high": float,
            "shared_E": int,
            "created_at": str,
        },
        pk=("innovation", "tier", "tier_version", "arm"),
        foreign_keys=[("innovation", "innovations", "name")],
    )
    db["verdicts"].create(
        {
            "innovation": str,
            "tier": str,
            "tier_version": int,
            "label": str,
            "direction": str,
            "delta_alpha": float,
            "delta_alpha_low": float,
            "delta_alpha_high": float,
            "margin": float,
            "ceg": str,  # JSON list of {"compute", "ceg", "low", "high", "extrapolated"}
            "frontier": str,  # JSON list of {"arm", "budget", "loss", "n_params_opt", "bracketed"}
            "warnings": str,  # JSON list of strings
            "n_runs": int,
            "n_failed": int,
            "declaration_hash": str,
            "method": str,  # JSON: method parameters
            "cegbench_version": str,
            "created_at": str,
        },
        pk=("innovation", "tier", "tier_version"),
        foreign_keys=[("innovation", "innovations", "name")],
    )


@migrations()
def m002_analysis_detail(db: Database) -> None:
    """Verdict detail from the analysis: sensitivity, decision, composition, …

    All JSON text, NULL where not applicable, except ``fragile`` (0/1).
    """
    verdicts = db["verdicts"]
    verdicts.add_column("fragile", int)  # the label changes under a sensitivity refit
    for column in ("sensitivity", "ceg_at_loss", "wall_ceg", "composition", "decision", "fit_bands"):
        verdicts.add_column(column, str)


@migrations()
def m003_registry_indexes(db: Database) -> None:
    # registry.db.runs(): one innovation's runs in one tier version and
    # declaration, ordered by cell; also the cell-key lookups of `cegbench status`.
    db["runs"].create_index(
        ["innovation", "tier", "tier_version", "declaration_hash", "arm", "budget", "width", "seed"],
        index_name="idx_runs_cell",
    )
    # the site's "data as of" stamp: max(finished_at)
    db["runs"].create_index(["finished_at"], index_name="idx_runs_finished_at")


@migrations()
def m004_learning_rates(db: Database) -> None:
    """Learning-rate tuning (cegbench.plan.tuning): its runs and the rates chosen from them,
    kept out of ``runs`` so analyses of measurement runs never see them. Also each
    run's training-only time, for wall-clock comparisons."""
    db["tuning_runs"].create(
        {
            "run_id": str,  # hash of the full TrainSpec
            "recipe_key": str,  # cegbench.plan.tuning.recipe_key(recipe)
            "recipe": str,  # JSON
            "tier": str,
            "tier_version": int,
            "budget": float,
            "width": int,
            "seed": int,
            "learning_rate": float,
            "spec": str,  # JSON of the whole TrainSpec
            "status": str,  # "ok" or "failed"
            "error": str,
            "final_loss": float,
            "n_params": int,
            "flops_per_token": float,
            "flops_per_token_analytic": float,
            "tokens": int,
            "steps": int,
            "curve": str,  # JSON list of {"step", "tokens", "flops", "loss"}
            "wall_time_s": float,
            "train_time_s": float,
            "dataset": str,
            "dataset_hash": str,
            "cegbench_version": str,
            "git_commit": str,
            "torch_version": str,
            "python_version": str,
            "hardware": str,
            "device": str,
            "command": str,
            "started_at": str,
            "finished_at": str,
        },
        pk="run_id",
    )
    db["tuning_runs"].create_index(["recipe_key", "tier", "tier_version"])
    db["learning_rates"].create(
        {
            "recipe_key": str,
            "tier": str,
            "tier_version": int,
            "recipe": str,  # JSON
            "learning_rate": float,  # chosen at `width`; other widths follow the tier's rule
            "width": int,
            "multiplier": float,  # of the optimizer's base_lr
            "final_loss": float,  # of the chosen run
            "at_edge": int,  # 1: the best rate is the smallest or largest tried
            "run_ids": str,  # JSON list: the tuning_runs it was chosen from
            "protocol": str,  # JSON: budget, width, seed, base_lr, multipliers, width_exponent, selection
            "created_at": str,
        },
        pk=("recipe_key", "tier", "tier_version"),
    )
    db["runs"].add_column("train_time_s", float)


@migrations()
def m005_run_epochs(db: Database) -> None:
    """Repetition accounting: the epochs of training data each run consumed, its
    training tokens over its dataset's training tokens (above 1, it saw data again).
    NULL for runs recorded before."""
    db["runs"].add_column("epochs", float)
    db["tuning_runs"].add_column("epochs", float)


@migrations()
def m006_pack_provenance(db: Database) -> None:
    """Packed training (``cegbench.train.pack``): what each run was packed with, JSON
    ``{"size", "packed_with": [run ids], "engine" | "fallback"}``; NULL for a run
    trained alone."""
    for table in ("runs", "tuning_runs"):
        db[table].add_column("pack", str)


@migrations()
def m007_verdict_drift(db: Database) -> None:
    """Labels from the CEG drift: the drift per 10× compute with its interval,
    why a label was withheld, and the sensitivity variants that only weaken it. The
    ``margin`` column now holds a CEG drift factor over 100× compute, ``fragile`` marks
    a label that flips under a variant. NULL in verdicts from before."""
    verdicts = db["verdicts"]
    for column in ("drift", "drift_low", "drift_high"):
        verdicts.add_column(column, float)
    for column in ("withheld", "weakened"):  # JSON lists of strings
        verdicts.add_column(column, str)


@migrations()
def m008_literature(db: Database) -> None:
    """What published work found for each innovation: JSON list of
    ``cegbench.literature.Finding`` dicts, display only. Rows written before this
    column existed read as NULL (no findings) until their innovation is registered
    again (``cegbench run`` or ``import``)."""
    db["innovations"].add_column("literature", str)


@migrations()
def m009_cegbench_versions(db: Database) -> None:
    """Which cegbench versions wrote to this registry, so that a registry from a newer
    one (with migrations this one does not know) is refused naming both versions."""
    db["cegbench_versions"].create({"version": str, "first_written_at": str}, pk="version")


@migrations()
def m010_shared_trainings(db: Database) -> None:
    """One training for several innovations (``cegbench.sweep.run``): a measurement run whose
    training another innovation's run already did is recorded as a copy of that run's
    result; ``trained_as`` names the run that trained (NULL: the run trained itself)."""
    db["runs"].add_column("trained_as", str)


@migrations()
def m011_loss_drift(db: Database) -> None:
    """The CEG drift per 10× compute read off the measured frontiers' equal-loss CEGs (no
    fitted law), with its interval; NULL in verdicts from before."""
    for column in ("loss_drift", "loss_drift_low", "loss_drift_high"):
        db["verdicts"].add_column(column, float)


@migrations()
def m012_label_basis(db: Database) -> None:
    """What the label was read from: "fitted law", "equal-loss CEGs" (the fitted law is
    at a bound, the measured frontiers still compare) or "none" (withheld); NULL in
    verdicts from before (they were all read from the fitted law, or withheld)."""
    db["verdicts"].add_column("label_basis", str)


@migrations()
def m013_superseded_runs(db: Database) -> None:
    """Runs that no longer measure what the plan asks for (their recipe's learning rate was
    tuned again and came out different): moved out of ``runs`` with the reason and when,
    so no analysis mixes them in and nothing is lost."""
    db["superseded_runs"].create({**db["runs"].columns_dict, "superseded_at": str, "reason": str}, pk="run_id")


@migrations()
def m014_runs_that_did_not_learn(db: Database) -> None:
    """Runs that did not learn (``cegbench.learning``): ``unigram_loss``, the held-out loss
    of a model that knows only its data's token frequencies (recorded by the trainer; NULL
    in runs from before), and ``not_learned``, why a finished run learned nothing (NULL:
    it learned). Runs from before are judged here by their loss curves, the only part of
    the rule they can be judged by until their unigram loss is known
    (``registry.db.set_unigram_losses``). Verdicts gain what the analysis now reports:
    the law fitted, the tier's headline CEG, what a decided label rests on, seeds per
    cell, runs left out as not learned, the equal-loss CEG points."""
    for table in ("runs", "superseded_runs"):
        if not db[table].exists():
            continue
        db[table].add_column("unigram_loss", float)
        db[table].add_column("not_learned", str)
        for row in db.execute(f"select run_id, final_loss, curve from [{table}] where status = 'ok'").fetchall():
            try:
                curve = json.loads(row[2] or "[]")
            except ValueError:
                continue  # a damaged curve: nothing to judge by
            reason = not_learned_reason(row[1], curve if isinstance(curve, list) else [])
            if reason:
                db.execute(f"update [{table}] set not_learned = ? where run_id = ?", [reason, row[0]])
    for column, kind in (("law", str), ("headline", str), ("rests_on", str), ("n_seeds", int),
                         ("n_not_learned", int), ("equal_loss_cegs", str)):
        db["verdicts"].add_column(column, kind)


@migrations()
def m016_external_tiers(db: Database) -> None:
    """Runs trained elsewhere (``cegbench import --external``, registry/external.py): the
    tiers they form, never built-in ones (name, version, where the runs come from, how the
    frontier is read off them, the margin), their rows (one per run's final loss, or one per
    checkpoint of a run's curve), and the predictive-validity check of each external pair
    (the verdict from its lowest decade of budgets against the whole range's)."""
    db["external_tiers"].create(
        {
            "name": str,
            "version": int,
            "source": str,  # where the runs come from (a URL, a repository at a commit, ...)
            "citation": str,
            "licence": str,
            "read": str,  # cegbench.analysis.curves.READS: final, isoflop or envelope
            "margin": float,  # CEG drift factor over 100× compute for "scale-invariant"
            "files": str,  # JSON list of {"name", "sha256", "rows"} imported into it
            "imported_at": str,
        },
        pk=("name", "version"),
    )
    db["external_runs"].create(
        {
            "row_key": str,  # hash of the row's identity (registry.external.row_key)
            "tier": str,
            "tier_version": int,
            "innovation": str,
            "arm": str,
            "run": str,  # NULL for a final loss
            "step": int,  # NULL for a final loss
            "seed": int,
            "params": float,
            "flops": float,
            "tokens": float,
            "loss": float,
            "schedule": str,
            "file": str,  # the file name and line it was read from
            "line": int,
        },
        pk="row_key",
        foreign_keys=[("innovation", "innovations", "name")],
    )
    db["external_runs"].create_index(["tier", "tier_version", "innovation", "arm"])
    db["validity"].create(
        {
            "innovation": str,
            "tier": str,
            "tier_version": int,
            "span_decades": float,  # of the budgets the whole-range verdict used
            "small": str,  # JSON: the lowest decade's verdict (registry.external.validity_summary)
            "whole": str,  # JSON: the whole range's
            "created_at": str,
        },
        pk=("innovation", "tier", "tier_version"),
        foreign_keys=[("innovation", "innovations", "name")],
    )


@migrations()
def m017_training_ids(db: Database) -> None:
    """Each run's training id (``cegbench.plan.specs.training_id``: what it trains, whichever
    innovation and arm it measures), stored when the run is recorded, so that finding a
    training to share is a lookup, not a pass through every run's spec and the model
    families. Which recipes build the same model is the model families' to say, and the
    registry does not load them: runs from before have NULL here, and the sweep, which
    holds the families, fills them in before it looks a training up
    (``sweep.run.fill_training_ids``), as ``m014`` left unigram losses to be measured."""
    for table in ("runs", "superseded_runs"):
        if db[table].exists():
            db[table].add_column("training_id", str)
    db["runs"].create_index(["training_id"])
