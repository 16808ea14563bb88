"""The catalogue of innovations, written from the plugins' own declarations.

``cegbench list`` prints one line per innovation; ``cegbench list --markdown``
prints the page committed as ``docs/catalogue.md`` (a test keeps it up to
date), so no list of innovations is ever written by hand.
"""

from __future__ import annotations

from cegbench.innovations import CATEGORIES, Innovation

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
        "| innovation | category | year | change | expected | paper |",
        "|---|---|---|---|---|---|",
    ]
    groups = by_category(innovations)
    for _, members in groups:
        for i in members:
            lines.append(f"| [{_cell(i.title)}](#{i.name}) | {i.category} | {i.year} | "
                         f"{_cell(changes(i))} | {i.expected or '—'} | <{i.paper}> |")
    for category, members in groups:
        lines += ["", f"## {category.capitalize()}"]
        for i in members:
            lines += ["", f"### {i.name}", "", f"**{i.title}** ({i.year}, <{i.paper}>)", "",
                      i.description, "",
                      f"- baseline → modern: {changes(i)}",
                      f"- expected: {i.expected or 'not stated'}"]
            if i.parts:
                lines.append(f"- parts: {', '.join(i.parts)}")
            lines.append(f"- plugin: `{i.plugin}`")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
