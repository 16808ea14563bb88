"""A stored verdict as text a person can read (what ``cegbench show`` prints).

Works on the registry's rows as plain dicts (JSON columns still text), so it needs
nothing but the row: verdicts written before a column existed print without it.
"""

from __future__ import annotations

from cegbench.analysis.label import EQUAL_LOSS
from cegbench.bounds import UNBOUNDED, unbounded_reason
from cegbench.present.numbers import (
    as_number,
    fmt_ceg,
    fmt_compute,
    fmt_count,
    fmt_delta,
    fmt_drift,
    fmt_exponent,
    fmt_loss,
    fmt_ratio,
)
from cegbench.stored import load_json, verdict_value


def describe_verdict(label, direction) -> str:
    return f"{label} ({direction})" if direction else label


def stored_json(verdict: dict, column: str, default=None):
    """A verdict row's JSON column, decoded; ``default`` where it is empty or absent."""
    return load_json(verdict.get(column), verdict_value(verdict, column), default)


def _fit_lines(fits: list[dict], law: str | None = None) -> list[str]:
    if not fits:
        return []
    law = law or ("shared E" if fits[0]["shared_E"] else "E per arm")
    lines = [f"  fits L*(C) = E + A·C^−α (law: {law}), 95% CI:"]
    for fit in fits:
        lines.append(
            f"    {fit['arm']:>8}: E = {fmt_loss(fit['E'])} [{fmt_loss(fit['E_low'])}, {fmt_loss(fit['E_high'])}]"
            f"  A = {fit['A']:.4g}  α = {fmt_exponent(fit['alpha'])} [{fmt_exponent(fit['alpha_low'])}, "
            f"{fmt_exponent(fit['alpha_high'])}]"
        )
    return lines


def _frontier_lines(frontier: list[dict]) -> list[str]:
    lines = ["  frontier (compute-optimal loss per arm and budget):",
             f"    {'arm':>8}  {'budget':>9}  {'L*':>7}  {'N*':>9}  optimum"]
    for p in frontier:
        if p.get("single_size"):
            how = "single prescribed size"
        elif p.get("measured_minimum"):
            how = "measured minimum (the parabola's vertex lay below every run: no valid valley)"
        elif p["bracketed"]:
            how = "bracketed (parabola vertex)"
        else:
            how = "NOT bracketed (best measured size)"
        lines.append(f"    {p['arm']:>8}  {fmt_compute(p['budget']):>9}  {fmt_loss(p['loss']):>7}  "
                     f"{fmt_count(p['n_params_opt']):>9}  {how}")
    return lines


def _ceg_lines(title: str, points: list[dict]) -> list[str]:
    lines = [f"  {title}, 95% CI:"]
    for point in points:
        if reason := unbounded_reason(point):  # an interval too wide to print as a number
            lines.append(f"    C = {fmt_compute(point['compute'])}: {UNBOUNDED}  (extrapolated) "
                         f"because it is {reason}")
            continue
        note = "  (extrapolated)" if point["extrapolated"] else "  (measured)"
        if point["extrapolated"] and as_number(point["ceg"]) is None:
            lines.append(f"    C = {fmt_compute(point['compute'])}: not shown (no extrapolation from this fit)")
            continue
        if as_number(point["ceg"]) is None:
            lines.append(f"    C = {fmt_compute(point['compute'])}: not measured (the baseline's measured "
                         "frontier does not reach the modern arm's loss there)")
            continue
        lines.append(f"    C = {fmt_compute(point['compute'])}: "
                     f"{fmt_ceg(point['ceg'], point['low'], point['high'])}{note}")
    return lines


def _drift_lines(verdict: dict) -> list[str]:
    """CEG drift per 10× compute and the margin, what the label was read from, or why it
    was withheld."""
    lines = []
    equal_loss = verdict.get("label_basis") == EQUAL_LOSS
    if verdict.get("drift") is not None:
        source = " from equal-loss CEGs (model-free)" if equal_loss else ""
        lines.append(f"  CEG drift{source}: "
                     f"{fmt_drift(verdict['drift'], verdict.get('drift_low'), verdict.get('drift_high'))}"
                     f" (95% CI; scale-invariant needs ≤ {fmt_ratio(verdict['margin'])}× either way per 100× compute,"
                     " scale-dependent a 99% interval excluding 1×)")
    if verdict.get("loss_drift") is not None and not equal_loss:
        lines.append("  CEG drift from equal-loss CEGs (model-free, no law): "
                     f"{fmt_drift(verdict['loss_drift'], verdict.get('loss_drift_low'), verdict.get('loss_drift_high'))}"
                     " (95% CI; display only, not what the label tests)")
    if withheld := stored_json(verdict, "withheld"):
        if equal_loss:
            lines.append("  fitted law not a result, so the label is read off the equal-loss CEGs and no "
                         "extrapolated CEG is shown: " + "; ".join(withheld))
        else:
            lines.append("  label withheld (inconclusive), no drift and no extrapolated CEG shown: "
                         + "; ".join(withheld))
    return lines


def _sensitivity_lines(variants: list[dict], fragile, weakened=()) -> list[str]:
    verdict = "FRAGILE: the label flips" if fragile else "robust: no variant flips the label"
    if weakened:
        verdict += f"; weakens to inconclusive with {', '.join(weakened)}"
    lines = [f"  sensitivity ({verdict}):"]
    for v in variants:
        if v["label"] is None:
            lines.append(f"    {v['variant']:<22} not fitted: {v.get('note')}")
        else:
            lines.append(f"    {v['variant']:<22} {describe_verdict(v['label'], v['direction']):<36} "
                         f"Δα = {fmt_delta(v['delta_alpha'], v['low'], v['high'])}")
    return lines


def _composition_lines(c: dict) -> list[str]:
    lines = [f"  composition at C = {fmt_compute(c['compute'])} (bundle vs the product of its parts):",
             f"    measured CEG {fmt_ceg(c['measured'], c['measured_low'], c['measured_high'])}"]
    for part in c["parts"]:
        lines.append(f"    part {part['name']}: {fmt_ratio(part['ceg'])}×")
    if c["missing"]:
        lines.append(f"    missing (no current verdict in this tier): {', '.join(c['missing'])}")
    if c["product"] is not None:
        lines.append(f"    product of parts {fmt_ratio(c['product'])}×, measured / product = {fmt_ratio(c['ratio'])}")
    else:
        lines.append("    product left out: not every part has a CEG here")
    return lines


def headline_line(verdict: dict) -> str | None:
    """The tier's one headline CEG, as a line; None for a verdict from before it existed."""
    headline = stored_json(verdict, "headline")
    if not headline:
        return None
    where = f"at {fmt_compute(headline['compute'])} FLOPs"
    if as_number(headline["ceg"]) is None:
        return f"  headline CEG {where}: not measured ({headline.get('note') or 'no CEG there'})"
    how = ("extrapolated from the fitted laws" if headline["extrapolated"] else
           "from the fitted laws" if headline["basis"] == "fitted law" else "read off the measured frontiers")
    interval = fmt_ceg(headline["ceg"], headline["low"], headline["high"])
    return (f"  headline CEG {where}: {interval} — the baseline needs that many times the modern "
            f"arm's compute for its loss ({how}, 95% CI)")


def _runs_line(verdict: dict) -> str:
    parts = [f"{verdict['n_runs']} ok", f"{verdict['n_failed']} failed (left out)"]
    if verdict.get("n_not_learned"):
        parts.append(f"{verdict['n_not_learned']} did not learn (left out: loss not below the unigram "
                     "loss, or a curve that never fell)")
    line = "  runs: " + ", ".join(parts)
    if (seeds := verdict.get("n_seeds")) is not None:
        line += f"; the intervals rest on {seeds} seed{'s' if seeds != 1 else ''} per cell"
        if seeds == 1:
            line += " (single seed: noise read off the IsoFLOP parabolas' residuals)"
    return line


def method_lines(verdict: dict) -> list[str]:
    """How the verdict was made where that is not the default: an external tier's source
    and how its frontier was read, the analysis options given (``cegbench analyze
    --fixed-E/--target-loss/--fit-window``)."""
    method = stored_json(verdict, "method", {})
    lines = []
    if method.get("frontier_read"):
        source = "; ".join(x for x in (method.get("external_source"), method.get("external_citation")) if x)
        lines.append(f"  external tier: runs trained elsewhere ({source or 'source not stated'}); "
                     f"frontier from {method.get('frontier_read_text') or method['frontier_read']}")
    given = {name: method.get(name) for name in ("fixed_E", "target_loss", "fit_window")
             if method.get(name) is not None}
    if given:
        lines.append("  options: " + ", ".join(f"{name} = {value}" for name, value in given.items()))
    return lines


def verdict_lines(verdict: dict, fits: list[dict]) -> list[str]:
    """The lines ``cegbench show`` prints for one stored verdict and its fits."""
    label = describe_verdict(verdict["label"], verdict["direction"])
    fragile = "  [fragile]" if verdict.get("fragile") else ""
    lines = [f"tier {verdict['tier']} v{verdict['tier_version']}: {label}{fragile}", *method_lines(verdict)]
    if rests := stored_json(verdict, "rests_on"):
        lines.append(f"  rests on one budget or point (not counted as decided): without {' or without '.join(rests)} "
                     "its drift crosses to the other side")
    if headline := headline_line(verdict):
        lines.append(headline)
    if verdict["delta_alpha"] is not None:
        lines.append(
            "  Δα = α_modern − α_baseline = "
            f"{fmt_delta(verdict['delta_alpha'], verdict['delta_alpha_low'], verdict['delta_alpha_high'])}"
            + (f"  (95% CI; equivalence margin ±{verdict['margin']})" if verdict.get("drift") is None
               and not stored_json(verdict, "withheld") else "  (95% CI)"))
    lines += _drift_lines(verdict)
    lines.append(_runs_line(verdict))
    lines += _fit_lines(fits, verdict.get("law"))
    if frontier := stored_json(verdict, "frontier"):
        lines += _frontier_lines(frontier)
    if ceg := stored_json(verdict, "ceg"):
        lines += _ceg_lines("CEG(C)", ceg)
    if (at_loss := stored_json(verdict, "ceg_at_loss")) is not None:
        lines.append("  CEG at target loss (reference-work style: measured frontiers interpolated), 95% CI:")
        lines += [f"    L = {fmt_loss(p['target_loss'])}: {fmt_ceg(p['ceg'], p['low'], p['high'])}"
                  for p in at_loss] or ["    none: the arms' frontiers share no loss range"]
    if wall := stored_json(verdict, "wall_ceg"):
        lines += _ceg_lines("wall-clock CEG(C) (CEG × baseline/modern seconds per FLOP)", wall)
    if variants := stored_json(verdict, "sensitivity"):
        lines += _sensitivity_lines(variants, verdict.get("fragile"), stored_json(verdict, "weakened", ()))
    if composition := stored_json(verdict, "composition"):
        lines += _composition_lines(composition)
    if decision := stored_json(verdict, "decision"):
        lines.append(f"  to decide: {decision['text']}")
    lines += [f"  warning: {w}" for w in stored_json(verdict, "warnings", [])]
    return lines


def innovation_lines(innovation: dict, verdicts: list[dict], fits_of: dict) -> list[str]:
    """What ``cegbench show`` prints: the innovation's heading, then each verdict with its
    fits (``fits_of``: (tier, tier_version) → fits rows) and a blank line."""
    i = innovation
    facts = ", ".join(str(x) for x in (i["name"], i["category"], i["year"]) if x is not None)
    lines = [f"{i['title']}  ({facts})", *([i["paper"]] if i["paper"] else []), ""]
    if not verdicts:
        lines.append(f"no verdict yet: run `cegbench run --tier smoke --innovation {i['name']}`")
    for verdict in verdicts:
        lines += [*verdict_lines(verdict, fits_of[(verdict["tier"], verdict["tier_version"])]), ""]
    return lines
