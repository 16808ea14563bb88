"""A stored verdict in words, for the site: its headline CEG, the sentence that answers,
the markers beside its label, and its method as readable text.

    headline(verdict) ─▶ Headline: the one CEG a row leads with
    answer(verdict, title, headline) ─▶ "At 1e12 FLOPs, pre-norm is worth 0.76× [0.61, 0.94]
                                         the compute of post-norm; the gain does not change
                                         detectably with scale (drift …)."
    markers(verdict) ─▶ [Marker]: withheld, borderline, rests on one budget, single seed, …
    method_items(method) ─▶ [(what, value)]: the analysis's settings in words, no Python reprs

Works on registry rows as plain dicts (JSON columns still text); a column an older
registry lacks (``headline``, ``rests_on``, ``n_seeds``, ``n_not_learned``) reads as absent
and shows nothing. Every number comes from the verdict; only the words are chosen here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cegbench import standing
from cegbench.bounds import largest_point
from cegbench.present.numbers import MISSING, as_number, fmt_compute, fmt_drift, fmt_ratio
from cegbench.stored import load_json

EQUAL_LOSS = "equal-loss CEGs"  # the label_basis of a label read off the measured frontiers
LARGEST_MEASURED = "largest measured budget"  # the basis of a headline the verdict does not state


def parse_json(raw, default):
    """Parse a JSON column (NaN allowed); ``default`` when empty; ``StoredValueError``
    (one line, quoting its start) when it is not JSON."""
    return load_json(raw, f"a verdict or innovation value ({str(raw)[:40]!r}…)", default)


@dataclass(frozen=True)
class Headline:
    """The CEG a row leads with."""

    compute: float
    ceg: float
    low: float | None
    high: float | None
    extrapolated: bool
    basis: str  # how the analysis read it, or LARGEST_MEASURED
    stated: bool  # True: the verdict's headline, at the tier's one compute; False: the fallback

    @property
    def interval(self) -> str:
        """'[0.61, 0.94]', or '' without one."""
        if self.low is None or self.high is None:
            return ""
        return f"[{fmt_ratio(self.low)}, {fmt_ratio(self.high)}]"

    @property
    def value(self) -> str:
        return f"{fmt_ratio(self.ceg)}×"


def headline(verdict: dict | None) -> Headline | None:
    """The verdict's ``headline`` (one compute for the whole tier; None where it was not
    measured there: the row never falls back to another compute); in verdicts from before
    the headline, the CEG at the largest measured budget that has one (its compute differs
    from row to row)."""
    v = verdict or {}
    stated = parse_json(v.get("headline"), None)
    if isinstance(stated, dict) and as_number(stated.get("compute")):
        if not as_number(stated.get("ceg")):
            return None
        return Headline(float(stated["compute"]), float(stated["ceg"]), as_number(stated.get("low")),
                        as_number(stated.get("high")), bool(stated.get("extrapolated")),
                        str(stated.get("basis") or ""), True)
    point = largest_point(parse_json(v.get("ceg"), []), extrapolated=False)
    if point is None:
        return None
    return Headline(float(point["compute"]), float(point["ceg"]), as_number(point.get("low")),
                    as_number(point.get("high")), False, LARGEST_MEASURED, False)


def arm_names(title: str) -> tuple[str, str]:
    """('post-norm', 'pre-norm') from 'Post-norm → pre-norm'; ('the baseline', title) without an arrow."""
    parts = [p.strip() for p in title.split("→")]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    return "the baseline", title


def n_seeds(verdict: dict) -> int | None:
    """The fewest seeds per cell the intervals rest on, where the verdict stores it."""
    n = as_number(verdict.get("n_seeds"))
    return int(n) if n is not None else None


def n_not_learned(verdict: dict) -> int:
    """Runs that did not learn, left out of the frontiers (0 where not stored)."""
    n = as_number(verdict.get("n_not_learned"))
    return int(n) if n is not None else 0


def shown_label(verdict: dict | None) -> str:
    """The word on the badge: 'withheld' where no label could be read, else the label."""
    if verdict is None:
        return ""
    return standing.WITHHELD if standing.is_withheld(verdict) else verdict.get("label") or "inconclusive"


def withheld_reasons(verdict: dict) -> list[str]:
    return standing.not_analysed(verdict) or [str(w) for w in standing.stored_list(verdict, "withheld")]


def drift_text(verdict: dict) -> str:
    return fmt_drift(as_number(verdict.get("drift")), as_number(verdict.get("drift_low")),
                        as_number(verdict.get("drift_high")))


# -------------------------------------------------------------------------
# the answer


def _gain(h: Headline, title: str) -> str:
    baseline, modern = arm_names(title)
    at = f"At {fmt_compute(h.compute)} FLOPs" + (" (extrapolated)" if h.extrapolated else "")
    text = f"{at}, {modern} is worth {h.value}{' ' + h.interval if h.interval else ''} the compute of {baseline}"
    if h.high is not None and h.high < 1:
        text += " (below 1×: it needs more compute than the baseline for the same loss)"
    elif h.low is not None and h.high is not None and h.low <= 1 <= h.high:
        text += " (the interval includes 1×: no gain is detectable there)"
    return text


def _scale(verdict: dict) -> str:
    if standing.is_withheld(verdict):
        return "whether it changes with scale is not labelled: " + "; ".join(withheld_reasons(verdict))
    drift = drift_text(verdict)
    details = [f"CEG drift {drift}"] if drift != MISSING else []
    label = verdict.get("label")
    if label == "scale-invariant":
        if margin := as_number(verdict.get("margin")):
            details.append(f"within the margin of {fmt_ratio(margin)}× either way per 100× compute")
        text = "the gain does not change detectably with scale"
    elif label == "scale-dependent":
        text = f"the gain {verdict.get('direction') or 'changes with scale'}"
    else:
        text = "whether the gain changes with scale cannot be told yet"
    return text + (f" ({', '.join(details)})" if details else "")


def caveats(verdict: dict) -> list[str]:
    """Whole sentences qualifying the answer, surest first."""
    found = []
    if budgets := standing.rests_on(verdict):
        found.append(f"The label rests on one budget: without {' or '.join(budgets)} its estimate "
                     "crosses to the other side, so it is not counted as decided.")
    if standing.is_borderline(verdict) and verdict.get("label") in standing.DECIDED_LABELS:
        found.append("It is borderline: its bound lies within the bootstrap's Monte-Carlo error of "
                     "the threshold, so another bootstrap seed could make it inconclusive.")
    if verdict.get("label_basis") == EQUAL_LOSS:
        found.append("The fitted scaling law is no result here (a fitted parameter sits at a bound), "
                     "so the label is read off the measured frontiers' equal-loss CEGs.")
    if n_seeds(verdict) == 1:
        found.append("Its intervals rest on a single seed per cell.")
    if verdict.get("fragile"):
        found.append("It is fragile: the label flips under one of the sensitivity refits.")
    return found


def answer(verdict: dict | None, title: str, h: Headline | None) -> str:
    """One sentence: what the modern recipe is worth at the headline compute, and whether
    that changes with scale; '' without a verdict."""
    if verdict is None:
        return ""
    gain = _gain(h, title) if h else "No CEG could be measured yet"
    return f"{gain}; {_scale(verdict)}."


# -------------------------------------------------------------------------
# markers


@dataclass(frozen=True)
class Marker:
    """A caveat shown beside a label, as a small badge with its reason on hover."""

    text: str
    slug: str  # CSS class suffix
    title: str  # the reason, in words


def markers(verdict: dict | None) -> list[Marker]:
    if verdict is None:
        return []
    found = []
    where = standing.standing(verdict)
    if where == standing.WITHHELD:  # the badge says "withheld"; the marker says why
        reasons = withheld_reasons(verdict) or ["no reason stored"]
        first = reasons[0].split(" (")[0].split(": ")[0]
        found.append(Marker(first + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""),
                            "withheld", "no label: " + "; ".join(reasons)))
    if where == standing.RESTS_ON_ONE_BUDGET:
        found.append(Marker("rests on one budget", "rests-on", "without " + " or ".join(standing.rests_on(verdict))
                            + " its estimate crosses to the other side: not counted as decided"))
    if standing.is_borderline(verdict) and verdict.get("label") in standing.DECIDED_LABELS:
        found.append(Marker("borderline", "borderline", "its bound lies within the bootstrap's Monte-Carlo "
                            "error of the threshold: another bootstrap seed could make it inconclusive"))
    if n_seeds(verdict) == 1:
        found.append(Marker("single seed", "few-seeds", "its intervals rest on one seed per cell"))
    if verdict.get("fragile"):
        found.append(Marker("fragile", "fragile", "the label flips under a sensitivity refit"))
    if verdict.get("label_basis") == EQUAL_LOSS and where != standing.WITHHELD:
        found.append(Marker("from equal-loss CEGs", "equal-loss", "the fitted law is no result ("
                            + "; ".join(standing.stored_list(verdict, "withheld"))
                            + "): the label is read off the measured frontiers' equal-loss CEGs"))
    return found


# -------------------------------------------------------------------------
# the method


METHOD_NAMES = {
    "fit": "fit", "f_scale": "Huber scale of the fit", "n_boot": "bootstrap replicates (fitted)",
    "model_free_replicates": "bootstrap replicates (model-free quantities)", "seed": "bootstrap seed",
    "ci": "interval level", "percentile_level": "percentile level behind the 95 % intervals",
    "shared_E": "irreducible loss E shared by both arms", "margin": "invariance margin (×)",
    "margin_span": "margin span (× compute)", "label": "label rule", "label_basis": "label read off",
    "label_monte_carlo": "borderline rule", "equal_loss_when": "equal-loss CEGs used when",
    "withheld_when": "label withheld when", "extrapolate_to": "extrapolated to (FLOPs)",
    "bootstrap": "bootstrap", "t_dof": "Student-t degrees of freedom", "sensitivity": "sensitivity refits",
    "decision": "what-would-decide-it simulation", "seed_factors": "seed factors",
    "budget_factors": "budget factors", "decided_share": "share that must decide", "n_sims": "simulations",
    "ceg_at_loss_targets": "CEG at target loss: targets", "loss_drift": "equal-loss drift",
    "wall_ceg": "wall-clock CEG", "cegbench_version": "cegbench version", "git_commit": "commit",
}


def method_value(value, key: str = "") -> str:
    """A method setting for people: yes/no, 3 significant digits, lists joined, never a repr."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return MISSING
        return fmt_compute(value) if abs(value) >= 1e4 else f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(method_value(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{METHOD_NAMES.get(k, k.replace('_', ' '))} {method_value(v, k)}"
                         for k, v in value.items()) or "none"
    text = str(value)
    return text[:10] if key == "git_commit" else text


def method_items(method: dict) -> list[tuple[str, str]]:
    """(what, value) per stored method setting, in the order the analysis stored them."""
    return [(METHOD_NAMES.get(key, key.replace("_", " ")), method_value(value, key))
            for key, value in method.items()]
