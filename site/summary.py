"""What a tier version's runs say about it, for the index's opening lines and the pages' notes.

    tier_scale(runs) ─▶ TierScale: model sizes, budgets, dataset and its size, epochs, seeds
    tier_summary(tier_text, verdicts, scale) ─▶ TierSummary: the index's opening lines — how many
                              verdicts are decided, borderline, …, withheld, and that scale
    shared_trainings(runs) ─▶ {innovation: [SharedTrainings, …]}: innovations whose rows
                              show the same trainings (mha-to-gqa and mha-to-mqa)

``runs`` are ``registry.db.tier_runs`` rows: the ok runs of every innovation in one tier
version; ``verdicts`` its stored verdict rows. Everything is counted from them; nothing is
hand-entered.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from cegbench import standing
from cegbench.present.numbers import (
    as_number,
    fmt_compute,
    fmt_count,
    fmt_epochs,
    fmt_int,
    fmt_timestamp,
)
from cegbench.site import verdict_text as words
from cegbench.site.context import StandingCount, TierSummary

SHARED_MAJORITY = 0.5  # above this share of an arm's runs, two innovations measured alike


@dataclass(frozen=True)
class TierScale:
    """The scale one tier version measured at, from its ok runs."""

    n_runs: int
    n_innovations: int
    params: tuple[float, float] | None  # smallest and largest model (parameters)
    budgets: tuple[float, float] | None  # smallest and largest budget (FLOPs)
    datasets: tuple[str, ...]
    dataset_tokens: float | None  # training tokens of the dataset (a run's tokens / its epochs)
    max_epochs: float | None  # the most epochs of its data any run trained on
    seeds: tuple[int, int] | None  # the fewest and most seeds of an (innovation, arm, budget, width) cell
    last_finished: str | None


def _span(values) -> tuple[float, float] | None:
    values = [v for v in map(as_number, values) if v is not None]
    return (min(values), max(values)) if values else None


def tier_scale(runs: list[dict]) -> TierScale:
    per_epoch = [as_number(r["tokens"]) / as_number(r["epochs"]) for r in runs
                 if as_number(r.get("tokens")) and as_number(r.get("epochs"))]
    cells = Counter((r["innovation"], r["arm"], r["budget"], r["n_params"]) for r in runs)
    epochs = [e for e in (as_number(r.get("epochs")) for r in runs) if e is not None]
    finished = [r["finished_at"] for r in runs if isinstance(r.get("finished_at"), str)]
    return TierScale(
        n_runs=len(runs), n_innovations=len({r["innovation"] for r in runs}),
        params=_span(r["n_params"] for r in runs), budgets=_span(r["budget"] for r in runs),
        datasets=tuple(sorted({r["dataset"] for r in runs if isinstance(r.get("dataset"), str)})),
        dataset_tokens=statistics.median(per_epoch) if per_epoch else None,
        max_epochs=max(epochs) if epochs else None,
        seeds=(min(cells.values()), max(cells.values())) if cells else None,
        last_finished=max(finished) if finished else None,
    )


def stated_compute(verdicts) -> float | None:
    """The one compute every verdict's stated headline is at; None when the verdicts differ,
    or some state none (verdicts from before the headline: each row's own largest budget)."""
    heads = [words.headline(v) for v in verdicts]
    computes = {h.compute for h in heads if h is not None and h.stated}
    if len(computes) == 1 and all(h is None or h.stated for h in heads):
        return computes.pop()
    return None


def tier_summary(tier_text: str, verdicts: list[dict], scale: TierScale) -> TierSummary:
    """The index's opening lines for one tier version (``tier_text``: 'cpu v3'): how many of its
    ``verdicts`` stand where, what it measured, where its rows' CEG is read."""
    counts = standing.count_standings(verdicts)
    decided = [v for v in verdicts if standing.standing(v) == standing.DECIDED]
    kinds = {label: sum(v["label"] == label for v in decided) for label in sorted({v["label"] for v in decided})}
    if (compute := stated_compute(verdicts)) is not None:
        where = f"Every row's CEG is read at {fmt_compute(compute)} FLOPs."
    else:
        where = ("Each row's CEG is read at its largest measured budget, which differs from row "
                 "to row: compare with care.")
    parts = []
    if scale.params:
        parts.append(f"models of {fmt_count(scale.params[0])}–{fmt_count(scale.params[1])} parameters")
    if scale.budgets:
        parts.append(f"trained with {fmt_compute(scale.budgets[0])}–{fmt_compute(scale.budgets[1])} FLOPs")
    if scale.datasets:
        data = f"on {', '.join(scale.datasets)}"
        extra = [f"{fmt_count(scale.dataset_tokens)} training tokens" if scale.dataset_tokens else "",
                 f"up to {fmt_epochs(scale.max_epochs)} epochs" if scale.max_epochs else ""]
        extra = [e for e in extra if e]
        parts.append(data + (f" ({', '.join(extra)})" if extra else ""))
    if scale.seeds:
        fewest, most = scale.seeds
        seeds = str(fewest) if fewest == most else f"{fewest}–{most}"
        parts.append(f"{seeds} seed{'s' if most != 1 else ''} per cell")
    parts.append(f"{fmt_int(scale.n_runs)} runs")
    text = ", ".join(parts)
    return TierSummary(
        tier=tier_text, n_verdicts=len(verdicts),
        counts=[StandingCount(standing=name, slug=name.replace(" ", "-"), n=n) for name, n in counts.items()
                if n or name != standing.RESTS_ON_ONE_BUDGET],
        decided_kinds=", ".join(f"{n} {label}" for label, n in kinds.items()),
        scale=text[0].upper() + text[1:] + ".", headline=where,
        last_run=fmt_timestamp(scale.last_finished))


@dataclass(frozen=True)
class SharedTrainings:
    """Another innovation whose runs, arm by arm, are mostly the same trainings as this one's."""

    other: str  # the other innovation
    shared: int  # this innovation's runs that are trainings of the other's too
    total: int  # this innovation's runs
    per_arm: tuple[tuple[str, int, int], ...]  # (arm, shared, total)


def _training(run: dict) -> tuple:
    """What identifies a training: the same cell and the same final loss to the bit. A copy
    (``trained_as``) always has its training's loss; two recipes that build the same model
    and train it alike (GQA with one key/value head and MQA) reach the same loss too."""
    return run["arm"], run["budget"], run["width"], run["seed"], run["final_loss"]


def shared_trainings(runs: list[dict]) -> dict[str, list[SharedTrainings]]:
    """For each innovation, the others that measured (nearly) the same rows: more than
    ``SHARED_MAJORITY`` of its runs of *each* arm are trainings the other has for that arm.
    Sharing one arm is common (16 built-in arms are the default recipe) and is not reported."""
    trainings: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for r in runs:
        if as_number(r.get("final_loss")) is not None:
            trainings[r["innovation"]][r["arm"]].add(_training(r))
    found: dict[str, list[SharedTrainings]] = {}
    for name, arms in trainings.items():
        for other, other_arms in trainings.items():
            if other == name or set(arms) != set(other_arms):
                continue
            per_arm = tuple((arm, len(arms[arm] & other_arms[arm]), len(arms[arm])) for arm in sorted(arms))
            if all(shared > SHARED_MAJORITY * total for _, shared, total in per_arm):
                found.setdefault(name, []).append(SharedTrainings(
                    other, sum(s for _, s, _ in per_arm), sum(t for _, _, t in per_arm), per_arm))
    return found


def shared_text(shared: SharedTrainings) -> str:
    """The note on a row or page measured on the same trainings as ``shared.other``."""
    arms = ", ".join(f"{arm} {n} of {total}" for arm, n, total in shared.per_arm)
    return (f"{shared.other} measured the same trainings in {shared.shared} of these {shared.total} "
            f"runs ({arms}): its models are built and trained alike (the same cell and loss to the "
            f"bit), so the two rows differ only where their runs do.")
