"""A tier's leaderboard as a Markdown table (what ``cegbench table`` prints): per measured
innovation its label and what qualifies it, the CEG drift and Δα with their intervals, the
headline CEG (at the tier's one compute; verdicts from before it, at their largest measured
budget) and the CEG at target losses, and what published work found beside whether ours
agrees; then how many innovations the tier decided.

Works on the registry's rows as plain dicts (JSON columns still text), like ``report``.
Where a verdict stands — decided, borderline, rests on one budget, inconclusive or
withheld — is ``cegbench.standing.standing``, the one rule the site counts by too: only a
scale-invariant or scale-dependent label that is neither *borderline* (its bound within
the bootstrap's Monte-Carlo error of its threshold) nor *rests on one budget* (its point
estimate crosses to the other side without one budget) counts as decided.
"""

from __future__ import annotations

from cegbench import literature, standing
from cegbench.analysis.label import EQUAL_LOSS, FITTED_LAW, NO_BASIS
from cegbench.bounds import largest_point
from cegbench.markdown_text import inline
from cegbench.present.numbers import MISSING, as_number, fmt_ceg, fmt_compute, fmt_delta, fmt_loss
from cegbench.present.report import describe_verdict, stored_json
from cegbench.standing import ANOTHER_BOOTSTRAP_SEED, is_borderline, not_analysed, rests_on

COLUMNS = ("innovation", "label", "CEG drift per 10× compute [95 % CI]", "Δα [95 % CI]",
           "headline CEG [95 % CI]", "CEG at target loss [95 % CI]",
           "literature: CEG, class (scale)", "ours agrees?")
BORDERLINE = "borderline: its bound is within the bootstrap's Monte-Carlo error of the threshold"
RESTS_ON = standing.RESTS_ON_ONE_BUDGET


def is_decided(verdict: dict) -> bool:
    return standing.standing(verdict) == standing.DECIDED


def label_cell(verdict: dict) -> str:
    """'scale-dependent (shrinks with scale); read off the equal-loss CEGs; borderline: …'."""
    parts = [describe_verdict(verdict["label"], verdict.get("direction"))]
    basis = verdict.get("label_basis")
    if basis == EQUAL_LOSS:
        parts.append("read off the equal-loss CEGs (the fitted law is no result)")
    elif basis == NO_BASIS:
        parts.append("withheld: " + "; ".join(stored_json(verdict, "withheld", [])))
    parts += not_analysed(verdict)
    if budgets := rests_on(verdict):
        parts.append(f"{RESTS_ON}: without {' or '.join(budgets)} its estimate crosses to the other side")
    if is_borderline(verdict):
        parts.append(BORDERLINE)
    if others := [w for w in stored_json(verdict, "weakened", []) if w != ANOTHER_BOOTSTRAP_SEED]:
        parts.append("weakens to inconclusive with " + ", ".join(others))
    if verdict.get("fragile"):
        parts.append("fragile: a sensitivity refit flips it")
    return "; ".join(parts)


def drift_cell(verdict: dict) -> str:
    return fmt_ceg(verdict.get("drift"), verdict.get("drift_low"), verdict.get("drift_high"))


def delta_alpha_cell(verdict: dict) -> str:
    if as_number(verdict.get("delta_alpha")) is None:
        return MISSING
    text = fmt_delta(verdict["delta_alpha"], verdict.get("delta_alpha_low"), verdict.get("delta_alpha_high"))
    if verdict.get("label_basis") != FITTED_LAW:
        return text + " (the law is no result)"
    return text + (f" ({verdict['law']})" if verdict.get("law", "").startswith("E = ") else "")


def headline_cell(verdict: dict) -> str:
    """The headline CEG at the tier's compute ('not measured' with why); a verdict from
    before the headline, its largest measured CEG and where."""
    if headline := stored_json(verdict, "headline"):
        where = f"at {fmt_compute(headline['compute'])} FLOPs"
        if as_number(headline["ceg"]) is None:
            return f"not measured {where}"
        extrapolated = " (extrapolated)" if headline["extrapolated"] else ""
        return f"{fmt_ceg(headline['ceg'], headline['low'], headline['high'])} {where}{extrapolated}"
    p = largest_point(stored_json(verdict, "ceg", []), extrapolated=False)
    if p is None:
        return MISSING
    return f"{fmt_ceg(p['ceg'], p['low'], p['high'])} at {fmt_compute(p['compute'])} FLOPs"


def loss_ceg_cell(verdict: dict) -> str:
    points = stored_json(verdict, "ceg_at_loss", [])
    return "; ".join(f"{fmt_ceg(p['ceg'], p['low'], p['high'])} at L = {fmt_loss(p['target_loss'])}"
                     for p in points) or MISSING


def literature_cells(innovation: dict, verdict: dict) -> tuple[str, str]:
    findings = literature.from_json(innovation.get("literature"),
                                    f"innovations.literature of {innovation['name']!r}")
    if not findings:
        return "none declared", "—"
    return ("; ".join(literature.summary({**finding, "source": inline(finding.get("source"))})
                      for finding in findings),
            "; ".join(literature.agreement(finding, verdict).answer for finding in findings))


def row_cells(innovation: dict, verdict: dict) -> list[str]:
    return [inline(innovation["name"]), label_cell(verdict), drift_cell(verdict), delta_alpha_cell(verdict),
            headline_cell(verdict), loss_ceg_cell(verdict), *literature_cells(innovation, verdict)]


def summary_line(tier_text: str, verdicts: list[dict], n_declared: int) -> str:
    """'cpu v3: 14 of the registry's 21 innovations measured; 3 decided (…), 2 borderline,
    7 inconclusive, 2 withheld.' (and 'N resting on one budget' where there are any). An
    innovation whose runs are too few to analyse yet is not measured."""
    analysed = [v for v in verdicts if not not_analysed(v)]
    counts = standing.count_standings(analysed)
    decided = [v for v in analysed if is_decided(v)]
    kinds = {label: sum(v["label"] == label for v in decided) for label in sorted({v["label"] for v in decided})}
    how = f" ({', '.join(f'{n} {label}' for label, n in kinds.items())})" if kinds else ""
    parts = [f"{counts[standing.DECIDED]} decided{how}", f"{counts[standing.BORDERLINE]} borderline"]
    if counts[standing.RESTS_ON_ONE_BUDGET]:
        parts.append(f"{counts[standing.RESTS_ON_ONE_BUDGET]} resting on one budget")
    parts += [f"{counts[standing.INCONCLUSIVE]} inconclusive", f"{counts[standing.WITHHELD]} withheld"]
    waiting = len(verdicts) - len(analysed)
    return (f"{tier_text}: {len(analysed)} of the registry's {n_declared} innovations measured; "
            + ", ".join(parts) + (f"; {waiting} with too few runs to analyse yet." if waiting else "."))


def markdown_table(innovations: list[dict], verdicts: list[dict]) -> str:
    """The table, one row per verdict in innovation order (``innovations``: registry rows)."""
    by_name = {i["name"]: i for i in innovations}
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for verdict in sorted(verdicts, key=lambda v: v["innovation"]):
        cells = row_cells(by_name[verdict["innovation"]], verdict)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
