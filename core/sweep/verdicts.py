"""The analysis wired to the registry: each innovation's recorded runs (or an external
tier's rows) → ``analysis.analyze_innovation`` → its verdict and fits stored
(``cegbench analyze``, the end of ``cegbench run``, ``cegbench import --external``).

Parts of a bundle are analysed before the bundle (its composition reads their verdicts);
an innovation that cannot be analysed yet is stored as inconclusive, with the reason.
"""

from __future__ import annotations

import dataclasses

from cegbench import __version__, analysis
from cegbench.analysis.calibrate import CalibrationError, fit_tier_model
from cegbench.analysis.curves import READS, CurveError, frontier_runs
from cegbench.analysis.label import NOT_ANALYSED
from cegbench.analysis.noise import NoiseModelError
from cegbench.analysis.validity import predictive_validity
from cegbench.data.names import DatasetError
from cegbench.data.store import StoreError
from cegbench.provenance import git_commit
from cegbench.registry.db import (
    current_verdict,
    get_innovation,
    runs,
    save_verdict,
    set_unigram_loss,
    tier_noise_runs,
    unjudged_data,
)
from cegbench.registry.external_tiers import (
    ExternalTier,
    clear_validity,
    external_rows,
    save_validity,
    tier_innovations,
)
from cegbench.stored import load_json
from cegbench.sweep.progress import Progress
from cegbench.tiers import Tier


class UnknownInnovation(ValueError):
    """An innovation asked for by name is not in the registry."""


def analyze_innovations(db, names, tier: Tier, *, quiet_when_empty: bool = False,
                        progress: Progress | None = None, options: dict | None = None) -> None:
    """Analyse the current declaration of each innovation on ``tier`` (its version) and
    store its verdict, parts of a bundle before the bundle (its composition reads their
    verdicts). ``quiet_when_empty``: skip innovations without runs on the tier.
    ``options``: ``analyze_innovation``'s fixed_E, target_loss and fit_window."""
    progress = progress or Progress()
    judge_learning(db, tier)
    tier_model = fit_tier_noise(db, tier)
    declared = {}
    for name in names:
        declared[name] = get_innovation(db, name)
        if declared[name] is None:
            raise UnknownInnovation(f"innovation {name!r} is not in the registry")
    parts_of = {name: load_json(row["parts"], f"innovations.parts of {name!r}", [], list)
                for name, row in declared.items()}
    for name in analysis.parts_first(list(names), parts_of):
        innovation = declared[name]
        recorded = runs(db, name, tier.name, tier.version,
                        declaration_hash=innovation["declaration_hash"])
        if recorded.empty and quiet_when_empty:
            continue
        n_failed = int((recorded["status"] != "ok").sum())
        try:
            result = analysis.analyze_innovation(recorded, margin=tier.margin, headline_compute=tier.headline_compute,
                                                 tier_model=tier_model, **(options or {}))
        except analysis.AnalysisError as error:
            save_not_analysed(db, innovation, tier, error, n_runs=len(recorded) - n_failed,
                              n_failed=n_failed, progress=progress)
            continue
        more = {}
        if parts_of[name]:
            more["composition"] = dataclasses.asdict(bundle_composition(db, result, parts_of[name], tier))
        save_analysis(db, innovation, tier, result, more)
        progress.analysed(name, tier, result)


def save_analysis(db, innovation: dict, tier, result, more: dict, method: dict | None = None) -> None:
    """Store ``result`` (an ``Analysis``) as ``innovation``'s verdict and fits on ``tier``,
    with ``more`` verdict columns and ``method`` entries."""
    verdict = {field: value for field, value in dataclasses.asdict(result).items()
               if field not in ("fits", "n_boot", "n_boot_failed", "shared_E")}
    verdict["method"].update(method or {}, cegbench_version=__version__, git_commit=git_commit())
    verdict.update(more, declaration_hash=innovation["declaration_hash"], cegbench_version=__version__)
    fits = [{**dataclasses.asdict(fit), "shared_E": int(result.shared_E)} for fit in result.fits]
    save_verdict(db, innovation=innovation["name"], tier=tier, verdict=verdict, fits=fits)


def save_not_analysed(db, innovation: dict, tier, error: Exception, *, n_runs: int, n_failed: int,
                      method: dict | None = None, progress: Progress) -> None:
    """Store ``innovation`` as inconclusive on ``tier`` with why it cannot be analysed yet."""
    save_verdict(db, innovation=innovation["name"], tier=tier, fits=[], verdict=dict(
        label="inconclusive", margin=tier.margin, n_runs=n_runs, n_failed=n_failed,
        warnings=[f"{NOT_ANALYSED}: {error}"], **({"method": method} if method else {}),
        declaration_hash=innovation["declaration_hash"], cegbench_version=__version__))
    progress.analysed(innovation["name"], tier, error=str(error))


def fit_tier_noise(db, tier: Tier):
    """The tier-wide noise model (``analysis.calibrate.fit_tier_model``) of a tier that reads
    its intervals off one (``Tier.tier_noise``), fitted on all its recorded runs; None for
    other tiers, and while the tier has too few seed pairs to fit one (its innovations are
    then analysed with per-ladder residual pools, and say so in their method)."""
    if not getattr(tier, "tier_noise", False):
        return None
    try:
        return fit_tier_model(tier_noise_runs(db, tier.name, tier.version))
    except (NoiseModelError, CalibrationError, ValueError):
        return None


def judge_learning(db, tier: Tier) -> None:
    """Measure the unigram loss of the tier's runs that lack it (recorded before the
    trainer measured it, or imported) wherever their dataset is on this machine with the
    same content, and judge again whether they learned (``cegbench.learning``)."""
    for data in unjudged_data(db, tier):
        dataset_name, dataset_hash, eval_tokens, context = data
        # torch only here, where a run lacks its unigram loss: it is measured on the dataset's
        # tensors, and the analysis needs no torch otherwise
        from cegbench.data.datasets import load_dataset

        try:
            dataset = load_dataset(dataset_name)
        except (DatasetError, StoreError):  # not on this machine: judged by its curves alone
            continue
        if dataset.content_hash == dataset_hash:
            set_unigram_loss(db, tier, data, dataset.unigram_loss(eval_tokens, context))


def bundle_composition(db, result, parts, tier: Tier):
    """A bundle's CEG at the reference budget against its parts' current verdicts."""
    reference = max((p for p in result.ceg if not p.extrapolated), key=lambda p: p.compute)
    part_cegs = {}
    for part in parts:
        verdict = current_verdict(db, part, tier)
        part_cegs[part] = load_json(verdict["ceg"], f"verdicts.ceg of {part!r} on tier {tier.name} "
                                    f"v{tier.version}", None, list) if verdict else None
    return analysis.compose(dataclasses.asdict(reference), part_cegs)


def analyze_external(db, tier: ExternalTier, names=(), *, options: dict | None = None,
                     progress: Progress | None = None) -> None:
    """Analyse the innovations ``names`` (default: all) of the external tier ``tier``:
    read each one's frontier off its rows as the tier says (``analysis.curves``), store
    its verdict and fits, and, where its budgets span enough decades, its
    predictive-validity check (``analysis.validity``). ``options``:
    ``analyze_innovation``'s fixed_E, target_loss and fit_window."""
    progress = progress or Progress()
    options = {k: v for k, v in (options or {}).items() if v is not None}
    method = {"frontier_read": tier.read, "frontier_read_text": READS[tier.read],
              "external_source": tier.source, "external_citation": tier.citation}
    for name in names or tier_innovations(db, tier):
        innovation = get_innovation(db, name)
        rows = external_rows(db, name, tier)
        if innovation is None or rows.empty:
            raise UnknownInnovation(f"innovation {name!r} has no rows on external tier {tier.name} "
                                    f"v{tier.version}")
        n_runs = int(rows.groupby(["arm", "run"]).ngroups) if tier.curves else len(rows)
        clear_validity(db, innovation=name, tier=tier)
        try:
            frontier, read_warnings = frontier_runs(rows, tier.read)
            result = analysis.analyze_innovation(frontier, margin=tier.margin, **options)
        except (analysis.AnalysisError, CurveError) as error:
            save_not_analysed(db, innovation, tier, error, n_runs=n_runs, n_failed=0, method=method,
                              progress=progress)
            continue
        save_analysis(db, innovation, tier, result,
                      {"n_runs": n_runs, "warnings": [*read_warnings, *result.warnings]}, method)
        check = predictive_validity(frontier, result, margin=tier.margin, **options)
        if check is not None:
            save_validity(db, innovation=name, tier=tier, span_decades=check.span_decades,
                          small=check.small, whole=check.whole)
        progress.analysed(name, tier, result)
