"""What the index and an innovation's page both show: a number's sort key, a verdict's CEG
points worth drawing and the point at a compute, a tier's run counts, and the
literature's findings beside our verdict."""

from __future__ import annotations

from cegbench import literature
from cegbench.bounds import unbounded_reason
from cegbench.present.numbers import as_number, as_text
from cegbench.site.context import LiteratureRow


def sort_key(x) -> str:
    """What a sortable column of the index sorts by: the number's repr, '' when missing."""
    x = as_number(x)
    return "" if x is None else repr(x)


def bounded(points: list[dict]) -> list[dict]:
    """The CEG points worth drawing: unbounded extrapolations left out."""
    return [p for p in points if not unbounded_reason(p)]


def point_at(points: list[dict], compute) -> dict:
    """The point of ``points`` at ``compute``, or {}."""
    return next((p for p in points if compute is not None and as_number(p.get("compute")) == compute), {})


def run_counts(runs) -> tuple[int, int, int]:
    """(ok runs, distinct seeds among them, failed runs) of a runs DataFrame."""
    ok = runs[runs["status"] == "ok"]
    return len(ok), ok["seed"].nunique(), int((runs["status"] != "ok").sum())


def literature_rows(inn: dict, verdict: dict | None) -> list[LiteratureRow]:
    """The innovation's published findings, each with our ``verdict``'s agreement."""
    rows = []
    for f in literature.from_json(inn.get("literature")):
        a = literature.agreement(f, verdict)
        url = f.get("url") or ""
        rows.append(LiteratureRow(
            source=as_text(f.get("source")), url=url if url.startswith(("https://", "http://")) else "",
            ceg=literature.format_ceg(f), label=literature.format_label(f),
            scale=literature.format_scale(f), scale_text=as_text(f.get("scale")),
            note=f.get("note") or "", answer=a.answer,
            answer_slug="cannot-tell" if a.answer == literature.CANNOT_TELL else a.answer.replace(" ", "-"),
            reason=a.reason))
    return rows
