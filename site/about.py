"""The About page: what cegbench measures, how to read the leaderboard, how to cite it.

    about_context(page, last_run) ─▶ AboutContext: the BibTeX (the facts of the repository's
                                     CITATION.cff), the licences, the tiers' changelog

The citation's facts live here and in ``CITATION.cff`` at the repository root (which
GitHub and Zenodo read); ``tests/test_site.py`` checks the two agree. The tiers' changelog
is each built-in tier's ``changes`` (``cegbench.tiers``).
"""

from __future__ import annotations

from cegbench.site.context import AboutContext
from cegbench.tiers import TIERS

TITLE = "cegbench: compute-equivalent gains of algorithmic innovations"
AUTHORS = "cegbench contributors"
CODE_LICENCE = "MIT"  # pyproject.toml's license
# The results (registry, downloads, figures): free to share and adapt with attribution.
RESULTS_LICENCE = "CC BY 4.0"


def bibtex(version: str, year: str | None, repository: str, data_as_of: str) -> str:
    fields = [("title", f"{{{TITLE}}}"), ("author", f"{{{{{AUTHORS}}}}}"), ("version", f"{{{version}}}")]
    if year:
        fields.append(("year", f"{{{year}}}"))
    if repository:
        fields.append(("url", f"{{{repository}}}"))
    fields.append(("note", f"{{Leaderboard data as of {data_as_of}}}"))
    width = max(len(name) for name, _ in fields)
    body = ",\n".join(f"  {name.ljust(width)} = {value}" for name, value in fields)
    return f"@software{{cegbench,\n{body}\n}}"


def about_context(page: dict, last_run: str | None) -> AboutContext:
    """``page``: the fields every page has; ``last_run``: when the last run finished (ISO)."""
    year = last_run[:4] if isinstance(last_run, str) and last_run[:4].isdigit() else None
    tiers = [{"name": t.name, "version": t.version, "description": t.description, "changes": t.changes}
             for _, t in TIERS.items()]
    return AboutContext(
        **page, citation=bibtex(page["version"], year, page["repository"], page["data_as_of"]),
        tiers=tiers, results_licence=RESULTS_LICENCE, code_licence=CODE_LICENCE)
