"""The published external tier: Porian et al. 2024's runs (leaderboard/external/porian2024/).

The committed CSV imports; README's tables are what ``cegbench table`` and ``cegbench
validity`` print for it; the site built from it has the tier's page. The conversion script
itself is run by hand, never here (it needs the source repository).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_browser import browser, page, screenshots  # noqa: F401 (fixtures)
from test_leaderboard import readme_table, same_but_for_float_noise

from cegbench.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "leaderboard" / "external" / "porian2024"
CSV = FOLDER / "porian2024.csv.gz"
SECTION = "## Runs trained elsewhere"


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def porian_site(tmp_path_factory):
    """The site built from the committed Porian CSV alone (imported, analysed, rendered)."""
    out = tmp_path_factory.mktemp("porian") / "_site"
    built = invoke("site", "--from", CSV, "--out", out)
    return out, built


def convert_module():
    spec = importlib.util.spec_from_file_location("porian_convert", FOLDER / "convert.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_published_pair_changes_one_thing_and_is_in_the_csv():
    convert = convert_module()
    assert len(convert.PAIRS) >= 4
    for name, (_, baseline, field, modern_value) in convert.PAIRS.items():
        index = convert.FIELDS.index(field)
        assert baseline[index] != modern_value, name
    with gzip.open(CSV, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["innovation"] for r in rows} == set(convert.PAIRS)
    assert {r["tier"] for r in rows} == {"porian2024"}
    assert all(r["arm"] in ("baseline", "modern") for r in rows)


def test_the_readme_states_the_committed_files_hash_and_rows():
    text = (FOLDER / "README.md").read_text()
    digest = hashlib.sha256(CSV.read_bytes()).hexdigest()
    assert digest in text, "update the sha256 in leaderboard/external/porian2024/README.md"
    with gzip.open(CSV, "rt") as handle:
        n_rows = sum(1 for _ in handle) - 1
    assert f"{n_rows:,} rows" in text
    assert "Permission is hereby granted, free of charge" in text  # the MIT licence, verbatim
    assert "0dc60d91b8a525858a3067fc9e4a46ff5374cc6f" in text


def section(text: str) -> str:
    start = text.index(SECTION)
    end = text.find("\n## ", start + 1)
    return text[start:end]


def validity_table(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| innovation | budgets (decades)"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    return [*lines[start:end], next(line for line in lines[end:] if line.strip())]


def test_the_porian_pairs_are_published_with_a_verdict_each(porian_site):
    out, built = porian_site
    assert "imported 1" in built.output
    registry = out / "downloads" / "cegbench.db"
    table = invoke("table", "--tier", "porian2024", "--registry", registry).output
    rows = [line for line in table.splitlines() if line.startswith("| ") and "porian" not in line
            and not line.startswith("| innovation")]
    assert len(rows) >= 4 and "porian2024 v1 (external)" in table


def test_readmes_porian_table_is_what_the_committed_csv_gives(porian_site):
    out, _ = porian_site
    fresh = invoke("table", "--tier", "porian2024", "--registry", out / "downloads" / "cegbench.db").output
    published = readme_table(section((ROOT / "README.md").read_text()))
    assert len(published) == len(readme_table(fresh)), "paste `cegbench table --tier porian2024 " \
        "--from leaderboard/external/porian2024/porian2024.csv.gz` into README.md"
    for ours, theirs in zip(published, readme_table(fresh)):
        assert same_but_for_float_noise(ours, theirs), (ours, theirs)


def test_readmes_validity_table_is_what_the_committed_csv_gives(porian_site):
    out, _ = porian_site
    fresh = invoke("validity", "--tier", "porian2024", "--registry", out / "downloads" / "cegbench.db").output
    published = validity_table(section((ROOT / "README.md").read_text()))
    assert len(published) == len(validity_table(fresh)), "paste `cegbench validity --tier porian2024 " \
        "--from leaderboard/external/porian2024/porian2024.csv.gz` into README.md"
    for ours, theirs in zip(published, validity_table(fresh)):
        assert same_but_for_float_noise(ours, theirs), (ours, theirs)


def test_the_site_has_the_tiers_page_with_its_provenance_and_validity(porian_site):
    out, _ = porian_site
    html = (out / "external" / "porian2024-v1.html").read_text()
    for fact in ("formll/resolving-scaling-law-discrepancies", "arXiv:2406.19146", "MIT",
                 "final held-out losses at their budgets", "Predictive validity", "1.25e16"):
        assert fact in html, fact
    assert html.count('<tr data-name="') >= 8  # pairs, and their validity rows
    index = (out / "index.html").read_text()
    assert 'href="external/porian2024-v1.html"' in index
    inn = (out / "innovation" / "long-to-short-warmup-rw.html").read_text()
    assert "on porian2024 v1" in inn and "cegbench import --external porian2024.csv.gz" in inn
    assert "Porian et al. 2024" in inn


def test_each_pair_compares_ours_with_the_papers_conclusion(porian_site):
    out, _ = porian_site
    from sqlite_utils import Database

    db = Database(out / "downloads" / "cegbench.db")
    for row in db["innovations"].rows_where("category = 'external'"):
        findings = json.loads(row["literature"])
        assert findings and findings[0]["source"] == "Porian et al. 2024"
        assert re.search(r"a = \d\.\d+", findings[0]["note"])  # from their released fits


def test_the_pages_workflow_publishes_the_porian_tier():
    text = (ROOT / ".github" / "workflows" / "pages.yml").read_text()
    assert "--from leaderboard/external/porian2024/porian2024.csv.gz" in text


@pytest.mark.browser
def test_the_external_tier_page_works_in_a_browser(porian_site, page):  # noqa: F811
    out, _ = porian_site
    page.goto((out / "index.html").as_uri())
    page.locator('a[href="external/porian2024-v1.html"]').click()
    assert page.locator("h1").inner_text().startswith("porian2024 v1")
    assert page.locator("table.validity tbody tr").count() >= 4
    screenshots(page, "external-tier")  # nothing sticks out sideways on a phone
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("table.external-pairs tbody tr td a").first.click()
    assert "on porian2024 v1" in page.inner_text("main")
    screenshots(page, "external-innovation")
    assert page.errors == [] and page.external == []


def test_the_source_links_to_its_url_alone(porian_site):
    out, _ = porian_site
    html = (out / "external" / "porian2024-v1.html").read_text()
    assert ('<a href="https://github.com/formll/resolving-scaling-law-discrepancies" '
            'rel="noopener noreferrer">') in html
    inn = (out / "innovation" / "long-to-short-warmup-rw.html").read_text()
    assert 'href="https://github.com/formll/resolving-scaling-law-discrepancies"' in inn
