"""The catalogue of innovations, written from the plugins' own declarations.

``cegbench list`` prints one line per innovation; ``cegbench list --markdown``
prints the page committed as ``docs/catalogue.md`` (a test keeps it up to
date), so no list of innovations is ever written by hand.
"""

from __future__ import annotations

import dataclasses

from cegbench import literature
from cegbench.innovations import CATEGORIES, Innovation
from cegbench.markdown_text import inline, link_target

MARKDOWN_COMMAND = "cegbench list --markdown > docs/catalogue.md"


def changes(innovation: Innovation) -> str:
    """The recipe fields the two arms differ in, e.g. "activation: gelu → swiglu"."""
    return ", ".join(f"{field}: {a} → {b}"
                     for field, (a, b) in innovation.baseline.differences(innovation.modern).items())


def list_line(innovation: Innovation, width: int) -> str:
    """One line of ``cegbench list``: slug, category, year, expected class, title, changes, paper."""
    i = innovation
    return (f"{i.name:<{width}}  {i.category:<12} {i.year}  {i.expected or '—':<15}  {i.title}  "
            f"[{changes(i)}]  {i.paper}  ({i.plugin})")


def list_lines(innovations: list[Innovation]) -> list[str]:
    """``cegbench list``: a line per innovation, names padded to one width."""
    width = max((len(i.name) for i in innovations), default=4)
    return [list_line(i, width) for i in innovations]


def by_category(innovations: list[Innovation]) -> list[tuple[str, list[Innovation]]]:
    """Innovations grouped by category, in the order of ``CATEGORIES``, each group by name."""
    groups = [(c, sorted((i for i in innovations if i.category == c), key=lambda i: i.name))
              for c in CATEGORIES]
    return [(c, members) for c, members in groups if members]


def markdown(innovations: list[Innovation]) -> str:
    """The catalogue page: a summary table, then each innovation's description and arms."""
    lines = [
        "# Catalogue of innovations",
        "",
        f"Generated from the plugins' declarations by `{MARKDOWN_COMMAND}`; do not edit by hand.",
        "The *expected* class is what the literature suggests, shown for comparison only: the",
        "benchmark's verdict never uses it.",
        "",
        "The *literature* column is what published work measured (CEG and the class the source",
        "assigned, at the scale given under each innovation); the leaderboard shows it beside",
        "the benchmark's own verdict and whether the two agree.",
        "",
        "| innovation | category | year | change | expected | literature | paper |",
        "|---|---|---|---|---|---|---|",
    ]
    groups = by_category(innovations)
    # a plugin's text is text (markdown_text.inline): no line breaks, HTML or links of its own
    for _, members in groups:
        for i in members:
            lines.append(f"| [{_cell(inline(i.title))}](#{i.name}) | {i.category} | {i.year} | "
                         f"{_cell(inline(changes(i)))} | {i.expected or '—'} | "
                         f"{_cell(_literature_cell(i))} | <{link_target(i.paper)}> |")
    for category, members in groups:
        lines += ["", f"## {category.capitalize()}"]
        for i in members:
            lines += ["", f"### {i.name}", "",
                      f"**{inline(i.title)}** ({i.year}, <{link_target(i.paper)}>)", "",
                      inline(i.description), "",
                      f"- baseline → modern: {inline(changes(i))}",
                      f"- expected: {i.expected or 'not stated'}"]
            if i.parts:
                lines.append(f"- parts: {', '.join(i.parts)}")
            for finding in map(dataclasses.asdict, i.literature):
                lines.append(f"- literature: [{inline(finding['source'])}]"
                             f"(<{link_target(finding['url'])}>): CEG "
                             f"{literature.format_ceg(finding)}, "
                             f"{literature.format_label(finding)}; {inline(finding['scale'])}"
                             + (f". {inline(finding['note'])}" if finding["note"] else ""))
            lines.append(f"- plugin: `{i.plugin.replace('`', chr(39))}`")
    return "\n".join(lines) + "\n"


def _literature_cell(innovation: Innovation) -> str:
    """Each finding as 'CEG, class (source)', e.g. '1.17×, not classified
    (Gundlach et al. 2025, 3.6e+06 parameters)'."""
    return "; ".join(
        f"{literature.format_ceg(f)}, {literature.format_label(f)} ({inline(f['source'])}"
        + (f", {literature.format_scale(f)})" if literature.format_scale(f) else ")")
        for f in map(dataclasses.asdict, innovation.literature)) or "—"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
