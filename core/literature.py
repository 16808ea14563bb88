"""What published work measured for an innovation, and whether our verdict agrees.

A plugin declares its innovation's published results as ``Finding``\\ s
(``Innovation.literature``); they are display metadata only: they never enter
the declaration hash, the plan or the analysis. The registry stores them as JSON
in the ``innovations`` row, so the site and ``cegbench show`` read them from the
registry alone.

The agreement rule (``agreement``) compares one finding with one stored verdict,
first by scale, then in two checks, each of which agrees, disagrees or cannot tell:

* **scale**: the finding's FLOPs (else its parameter count, against our compute-optimal
  modern model size at each budget) must lie within a factor of ``COMPARABLE`` of one of
  our *measured* (not extrapolated) CEG points. Otherwise neither check compares anything:
  the answer is **different scale** ("ours 2.5e11–4e12 FLOPs, theirs 3e18–2.3e23
  FLOPs"), since a class or a CEG measured at another scale says nothing about ours. A
  finding with no scale in numbers, or a verdict with no measured CEG, cannot tell.
* **class**: both sides decided (ours scale-invariant or scale-dependent, the source's
  class stated) → agree when equal, disagree otherwise. Ours inconclusive or not yet
  fitted, or the source assigned no class → cannot tell.
* **CEG**: the finding states a CEG (a value or a range) → agree when it (or any of its
  range) lies inside our 95 % interval at the comparable point nearest its scale,
  disagree otherwise. No CEG or no interval → cannot tell.

The finding's overall answer: **different scale** when the scales are not comparable,
else **disagrees** if either check disagrees, else **agrees** if either agrees, else
**cannot tell yet**. With a reason in words.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from cegbench.present.numbers import as_number, fmt_compute, fmt_count, fmt_ratio
from cegbench.stored import StoredValueError, load_json

SOURCE_LABELS = ("scale-invariant", "scale-dependent")  # a class a source may assign
AGREES, DISAGREES, CANNOT_TELL = "agrees", "disagrees", "cannot tell yet"
DIFFERENT_SCALE = "different scale"  # the finding's scale is not comparable with any of ours
COMPARABLE = 10.0  # scales within this factor of each other are comparable


@dataclass(frozen=True)
class Finding:
    """One published measurement of an innovation, at one scale (or one range of scales)."""

    source: str  # short citation, e.g. "Gundlach et al. 2025"
    url: str  # where to read it, e.g. "https://arxiv.org/abs/2511.21622"
    scale: str  # at what scale and on what data, in words, e.g. "3.6 M parameters, C4"
    ceg: float | tuple[float, float] | None = None  # the CEG measured, or its (low, high) range
    label: str | None = None  # the class the source assigned (SOURCE_LABELS), None: not classified
    flops: float | tuple[float, float] | None = None  # training compute (FLOPs) of the measurement
    params: float | None = None  # model parameters of the measurement
    note: str = ""  # anything a reader needs to weigh the number


class LiteratureError(ValueError):
    """A finding is malformed; the message names the field (the caller adds plugin and innovation)."""


def _positive(value) -> bool:
    """A positive finite number within float range (``10**400`` is not: as a float it
    overflows, and every number here is used as one)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value)) and value > 0
    except OverflowError:
        return False


def _number_or_range(name: str, value) -> None:
    if value is None or _positive(value):
        return
    if (isinstance(value, tuple) and len(value) == 2 and all(map(_positive, value))
            and value[0] <= value[1]):
        return
    raise LiteratureError(f"field {name!r} must be None, a positive number or a (low, high) "
                          f"tuple of positive numbers with low <= high, got {value!r}")


def validate_finding(finding) -> None:
    """Check one finding's types and values; raises ``LiteratureError`` naming the field."""
    if not isinstance(finding, Finding):
        raise LiteratureError(f"must be a cegbench.Finding, got {type(finding).__name__} "
                              f"{finding!r:.80}")
    for name in ("source", "url", "scale"):
        value = getattr(finding, name)
        if not isinstance(value, str) or not value.strip():
            raise LiteratureError(f"field {name!r} must be a non-empty string, got {value!r}")
    for name in ("source", "url", "scale", "note", "label"):
        value = getattr(finding, name)
        if isinstance(value, str) and (problem := unencodable(value)):
            raise LiteratureError(f"field {name!r} {problem}")
    if not finding.url.startswith(("https://", "http://")):
        raise LiteratureError(f"field 'url' must be an http(s) URL, got {finding.url!r}")
    _number_or_range("ceg", finding.ceg)
    _number_or_range("flops", finding.flops)
    if finding.params is not None and not _positive(finding.params):
        raise LiteratureError(f"field 'params' must be None or a positive number, "
                              f"got {finding.params!r}")
    if finding.label is not None and finding.label not in SOURCE_LABELS:
        raise LiteratureError(f"field 'label' must be None (not classified) or one of "
                              f"{', '.join(SOURCE_LABELS)}; got {finding.label!r}")
    if not isinstance(finding.note, str):
        raise LiteratureError(f"field 'note' must be a string, got {finding.note!r}")


def unencodable(text: str) -> str | None:
    """Why ``text`` cannot be written as UTF-8 (to a terminal, a file, the registry), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return (f"holds {text[error.start]!r} at position {error.start}, a lone surrogate that "
                "no UTF-8 file, terminal or registry can hold")
    return None


def to_json(findings) -> str:
    """The registry's ``innovations.literature`` column: a JSON list of finding dicts."""
    return json.dumps([dataclasses.asdict(f) for f in findings])


def from_json(text, where: str = "innovations.literature") -> list[dict]:
    """Parse the column (NULL in rows written before it existed → []); a value that is not
    a JSON list of objects is a ``StoredValueError`` naming ``where``."""
    findings = load_json(text, where, [], list)
    if not all(isinstance(finding, dict) for finding in findings):
        raise StoredValueError(f"{where} must be a JSON list of objects (findings)")
    return findings


# -------------------------------------------------------------------------
# formatting


def _range(value) -> tuple[float, float] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return float(value[0]), float(value[1])
    return float(value), float(value)


def format_ceg(finding: dict) -> str:
    """'1.26×', '1.00–9.80×', '6.00–47.0×', or '—'."""
    r = _range(finding.get("ceg"))
    if r is None:
        return "—"
    return f"{fmt_ratio(r[0])}×" if r[0] == r[1] else f"{fmt_ratio(r[0])}–{fmt_ratio(r[1])}×"


def format_label(finding: dict) -> str:
    return finding.get("label") or "not classified"


def format_scale(finding: dict) -> str:
    """'2.5e18 FLOPs, 30M parameters'."""
    parts = []
    flops = _range(finding.get("flops"))
    if flops:
        parts.append(f"{fmt_compute(flops[0])} FLOPs" if flops[0] == flops[1]
                     else f"{fmt_compute(flops[0])}–{fmt_compute(flops[1])} FLOPs")
    if finding.get("params"):
        parts.append(f"{fmt_count(finding['params'])} parameters")
    return ", ".join(parts)


def summary(finding: dict) -> str:
    """One line: 'Gundlach et al. 2025: CEG 1.26×, not classified (3.6M parameters)'."""
    scale = format_scale(finding)
    return (f"{finding['source']}: CEG {format_ceg(finding)}, {format_label(finding)}"
            + (f" ({scale})" if scale else ""))


# -------------------------------------------------------------------------
# the agreement rule


@dataclass(frozen=True)
class Agreement:
    """One finding against one verdict (see the module docstring for the rule)."""

    answer: str  # AGREES, DISAGREES, CANNOT_TELL or DIFFERENT_SCALE
    class_check: str  # the class check's answer
    ceg_check: str  # the CEG check's answer
    reason: str  # both checks in words


def _check_class(finding: dict, verdict: dict) -> tuple[str, str]:
    ours = verdict.get("label")
    theirs = finding.get("label")
    if ours not in SOURCE_LABELS:
        return CANNOT_TELL, f"class: ours is {ours or 'inconclusive'}"
    if theirs is None:
        return CANNOT_TELL, "class: the source assigned none"
    if ours == theirs:
        return AGREES, f"class: both {ours}"
    return DISAGREES, f"class: ours {ours}, the source's {theirs}"


@dataclass(frozen=True)
class _Scale:
    """Where the finding stands against our measured points."""

    point: dict | None  # our measured CEG point nearest the finding's scale, when comparable
    comparable: bool  # False only when both scales are known and more than COMPARABLE apart
    why: str  # why there is no point, or ''


def _nearest_measured(finding: dict, verdict: dict) -> _Scale:
    """Our measured CEG point at the scale nearest the finding's, if within COMPARABLE."""
    points = [p for p in from_json(verdict.get("ceg"), "verdicts.ceg") if not p.get("extrapolated")
              and as_number(p.get("compute")) and as_number(p.get("ceg"))]
    if not points:
        return _Scale(None, True, "no measured CEG of ours")
    flops = _range(finding.get("flops"))
    if flops:
        theirs, what = math.sqrt(flops[0] * flops[1]), "FLOPs"
        scale_of = {id(p): float(p["compute"]) for p in points}
    elif finding.get("params"):
        theirs, what = float(finding["params"]), "parameters"
        sizes = {float(f["budget"]): as_number(f.get("n_params_opt"))
                 for f in from_json(verdict.get("frontier"), "verdicts.frontier")
                 if f.get("arm") == "modern"}
        scale_of = {id(p): sizes.get(float(p["compute"])) for p in points
                    if sizes.get(float(p["compute"]))}
        points = [p for p in points if id(p) in scale_of]
        if not points:
            return _Scale(None, True, "no model sizes of ours to compare the source's parameters with")
    else:
        return _Scale(None, True, "the source states no FLOPs or parameters")

    def distance(p):
        lo, hi = (flops if flops else (theirs, theirs))
        ours = scale_of[id(p)]
        return 0.0 if lo <= ours <= hi else min(abs(math.log(ours / lo)), abs(math.log(ours / hi)))

    best = min(points, key=distance)
    if distance(best) > math.log(COMPARABLE):
        ours = sorted(scale_of[id(p)] for p in points)
        show = fmt_compute if flops else fmt_count
        span = show(ours[0]) if ours[0] == ours[-1] else f"{show(ours[0])}–{show(ours[-1])}"
        theirs_text = (f"{show(flops[0])}–{show(flops[1])}" if flops and flops[0] != flops[1]
                       else show(theirs))
        return _Scale(None, False, f"{DIFFERENT_SCALE} (ours {span} {what}, theirs {theirs_text} "
                                   f"{what}; more than {COMPARABLE:g}× apart)")
    return _Scale(best, True, "")


def _check_ceg(finding: dict, point: dict | None, why: str) -> tuple[str, str]:
    theirs = _range(finding.get("ceg"))
    if theirs is None:
        return CANNOT_TELL, "CEG: the source states none"
    if point is None:
        return CANNOT_TELL, f"CEG: {why}"
    low, high = as_number(point.get("low")), as_number(point.get("high"))
    at = f"at C = {fmt_compute(point['compute'])}"
    if low is None or high is None:
        return CANNOT_TELL, f"CEG: ours {at} has no interval"
    interval = f"[{fmt_ratio(low)}, {fmt_ratio(high)}]"
    if theirs[1] >= low and theirs[0] <= high:
        return AGREES, f"CEG: the source's {format_ceg(finding)} lies in ours {interval} {at}"
    return DISAGREES, f"CEG: the source's {format_ceg(finding)} lies outside ours {interval} {at}"


def agreement(finding: dict, verdict: dict | None) -> Agreement:
    """Does our stored ``verdict`` (a registry row, or None) agree with ``finding`` (a dict)?"""
    if verdict is None:
        why = "no verdict of ours yet"
        return Agreement(CANNOT_TELL, CANNOT_TELL, CANNOT_TELL, f"class: {why}; CEG: {why}")
    scale = _nearest_measured(finding, verdict)
    if not scale.comparable:
        return Agreement(DIFFERENT_SCALE, DIFFERENT_SCALE, DIFFERENT_SCALE, scale.why)
    class_answer, class_reason = _check_class(finding, verdict)
    if scale.point is None and class_answer != CANNOT_TELL:  # no scale to compare the classes at
        class_answer, class_reason = CANNOT_TELL, f"class: {scale.why}"
    ceg_answer, ceg_reason = _check_ceg(finding, scale.point, scale.why)
    answers = (class_answer, ceg_answer)
    answer = DISAGREES if DISAGREES in answers else AGREES if AGREES in answers else CANNOT_TELL
    return Agreement(answer, class_answer, ceg_answer, f"{class_reason}; {ceg_reason}")


def comparison_lines(findings: list[dict], verdict: dict | None) -> list[str]:
    """What ``cegbench show`` prints under a verdict: each finding and our agreement."""
    if not findings:
        return []
    lines = ["  literature (what published work found; display only):"]
    for finding in findings:
        a = agreement(finding, verdict)
        ours = "measured at a different scale from ours" if a.answer == DIFFERENT_SCALE else f"ours {a.answer}"
        lines.append(f"    {summary(finding)} — {ours}")
        lines.append(f"      {a.reason}")
        lines.append(f"      scale: {finding['scale']}; {finding['url']}")
        if finding.get("note"):
            lines.append(f"      note: {finding['note']}")
    return lines
