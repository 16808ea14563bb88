"""A tier's leaderboard as a Markdown table (what ``cegbench table`` prints): per measured
innovation its label and what qualifies it, the CEG drift and Δα with their intervals, the
CEG at the largest measured budget and at target losses, and what published work found
beside whether ours agrees; then how many innovations the tier decided.

Works on the registry's rows as plain dicts (JSON columns still text), like ``report``.
A label counts as *decided* when it is scale-invariant or scale-dependent and not
*borderline*: a label whose bound is within the bootstrap's Monte-Carlo error of its
threshold (another bootstrap seed could make it inconclusive).
"""

from __future__ import annotations

from cegbench import literature
from cegbench.analysis.analyze import ANOTHER_BOOTSTRAP_SEED
from cegbench.analysis.label import EQUAL_LOSS, FITTED_LAW, INCONCLUSIVE, NO_BASIS, NOT_ANALYSED
from cegbench.bounds import as_number, largest_point
from cegbench.markdown_text import inline
from cegbench.report import describe_verdict, stored_json

COLUMNS = ("innovation", "label", "CEG drift per 10× compute [95 % CI]", "Δα [95 % CI]",
           "CEG at the largest measured budget [95 % CI]", "CEG at target loss [95 % CI]",
           "literature: CEG, class (scale)", "ours agrees?")
BORDERLINE = "borderline: its bound is within the bootstrap's Monte-Carlo error of the threshold"


def _interval(value, low, high, spec: str, unit: str = "") -> str:
    """'1.06× [0.944, 1.19]'; values that round to zero print unsigned-zero ('+0.0000')."""
    def text(x):
        x = as_number(x)
        if x is None:
            return "—"
        digits = int(spec[-2]) if spec.endswith("f") else None
        return f"{(round(x, digits) if digits is not None else x) + 0.0:{spec}}"

    return f"{text(value)}{unit} [{text(low)}, {text(high)}]"


def is_borderline(verdict: dict) -> bool:
    return ANOTHER_BOOTSTRAP_SEED in stored_json(verdict, "weakened", [])


def not_analysed(verdict: dict) -> list[str]:
    """Why the verdict was stored without an analysis (too few runs yet), or []."""
    return [w for w in stored_json(verdict, "warnings", []) if w.startswith(NOT_ANALYSED)]


def is_decided(verdict: dict) -> bool:
    return verdict["label"] != INCONCLUSIVE and not is_borderline(verdict)


def label_cell(verdict: dict) -> str:
    """'scale-dependent (shrinks with scale); read off the equal-loss CEGs; borderline: …'."""
    parts = [describe_verdict(verdict["label"], verdict.get("direction"))]
    basis = verdict.get("label_basis")
    if basis == EQUAL_LOSS:
        parts.append("read off the equal-loss CEGs (the fitted law is no result)")
    elif basis == NO_BASIS:
        parts.append("withheld: " + "; ".join(stored_json(verdict, "withheld", [])))
    parts += not_analysed(verdict)
    if is_borderline(verdict):
        parts.append(BORDERLINE)
    if others := [w for w in stored_json(verdict, "weakened", []) if w != ANOTHER_BOOTSTRAP_SEED]:
        parts.append("weakens to inconclusive with " + ", ".join(others))
    if verdict.get("fragile"):
        parts.append("fragile: a sensitivity refit flips it")
    return "; ".join(parts)


def drift_cell(verdict: dict) -> str:
    if as_number(verdict.get("drift")) is None:
        return "—"
    return _interval(verdict["drift"], verdict.get("drift_low"), verdict.get("drift_high"), ".3g", "×")


def delta_alpha_cell(verdict: dict) -> str:
    if as_number(verdict.get("delta_alpha")) is None:
        return "—"
    text = _interval(verdict["delta_alpha"], verdict.get("delta_alpha_low"),
                     verdict.get("delta_alpha_high"), "+.4f")
    return text if verdict.get("label_basis") == FITTED_LAW else text + " (fit at a bound: no result)"


def measured_ceg_cell(verdict: dict) -> str:
    p = largest_point(stored_json(verdict, "ceg", []), extrapolated=False)
    if p is None:
        return "—"
    return f"{_interval(p['ceg'], p['low'], p['high'], '.3g', '×')} at {p['compute']:.2g} FLOPs"


def loss_ceg_cell(verdict: dict) -> str:
    points = stored_json(verdict, "ceg_at_loss", [])
    return "; ".join(f"{_interval(p['ceg'], p['low'], p['high'], '.3g', '×')} at "
                     f"L = {p['target_loss']:.3f}" for p in points) or "—"


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
            measured_ceg_cell(verdict), loss_ceg_cell(verdict), *literature_cells(innovation, verdict)]


def summary_line(tier_text: str, verdicts: list[dict], n_declared: int) -> str:
    """'cpu v3: 14 of the registry's 21 innovations measured; 3 decided (…), 2 borderline,
    9 inconclusive.' An innovation whose runs are too few to analyse yet is not measured."""
    analysed = [v for v in verdicts if not not_analysed(v)]
    decided = [v for v in analysed if is_decided(v)]
    kinds = {label: sum(v["label"] == label for v in decided) for label in sorted({v["label"] for v in decided})}
    borderline = sum(v["label"] != INCONCLUSIVE and is_borderline(v) for v in analysed)
    inconclusive = sum(v["label"] == INCONCLUSIVE for v in analysed)
    how = f" ({', '.join(f'{n} {label}' for label, n in kinds.items())})" if kinds else ""
    waiting = len(verdicts) - len(analysed)
    return (f"{tier_text}: {len(analysed)} of the registry's {n_declared} innovations measured; "
            f"{len(decided)} decided{how}, {borderline} borderline, {inconclusive} inconclusive"
            + (f"; {waiting} with too few runs to analyse yet." if waiting else "."))


def markdown_table(innovations: list[dict], verdicts: list[dict]) -> str:
    """The table, one row per verdict in innovation order (``innovations``: registry rows)."""
    by_name = {i["name"]: i for i in innovations}
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for verdict in sorted(verdicts, key=lambda v: v["innovation"]):
        cells = row_cells(by_name[verdict["innovation"]], verdict)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
