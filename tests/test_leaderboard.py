"""Publishing: compressed exports, the one-command build of the site from
an export (``cegbench site --from``), and the committed ``leaderboard/``.

The end-to-end test makes its own small smoke-tier export (the test plugin's
``tiny-sweep``: 8 short runs). When ``leaderboard/runs.jsonl.gz`` is committed, CI
builds the site from it with the same command and opens it in Chromium.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database
from test_browser import browser, page  # noqa: F401 (fixtures)

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
LEADERBOARD = ROOT / "leaderboard"
COMMITTED = LEADERBOARD / "runs.jsonl.gz"
PLUGIN = str(Path(__file__).parent / "plugin_files" / "tiny_sweep.py")
WORKFLOWS = ROOT / ".github" / "workflows"


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def published(tmp_path_factory, one_thread):
    """A smoke-tier sweep of tiny-sweep, exported as .jsonl.gz and .csv.gz, and the
    site built from the .jsonl.gz alone."""
    root = tmp_path_factory.mktemp("publish")
    invoke("run", "--tier", "smoke", "--innovation", "tiny-sweep", "--registry", root / "r.db",
           "--device", "cpu", "--plugins", PLUGIN, "--no-analyze")
    for name in ("runs.jsonl.gz", "runs.csv.gz"):
        invoke("export", "--registry", root / "r.db", "--out", root / name)
    built = invoke("site", "--from", root / "runs.jsonl.gz", "--plugins", PLUGIN,
                   "--out", root / "_site")
    return root, built


def test_exports_ending_in_gz_are_compressed_and_reproducible(published):
    root, _ = published
    rows = [json.loads(line) for line in gzip.open(root / "runs.jsonl.gz", "rt")]
    assert len(rows) == 8 and {r["innovation"] for r in rows} == {"tiny-sweep"}
    assert gzip.open(root / "runs.csv.gz", "rt").readline().startswith("run_id,")
    before = (root / "runs.jsonl.gz").read_bytes()
    invoke("export", "--registry", root / "r.db", "--out", root / "runs.jsonl.gz")
    assert (root / "runs.jsonl.gz").read_bytes() == before  # no time stamp in the gzip header
    assert not list(root.glob("*.partial"))


def test_compressed_exports_import_like_plain_ones(published, tmp_path):
    root, _ = published
    for name in ("runs.jsonl.gz", "runs.csv.gz"):
        result = invoke("import", root / name, "--registry", tmp_path / f"{name}.db",
                        "--plugins", PLUGIN)
        assert "imported 8 runs, 0 already recorded, 0 conflict(s)" in result.output
    plain = {r["run_id"]: r["final_loss"] for r in Database(root / "r.db")["runs"].rows}
    for name in ("runs.jsonl.gz", "runs.csv.gz"):
        assert {r["run_id"]: r["final_loss"]
                for r in Database(tmp_path / f"{name}.db")["runs"].rows} == plain


def test_a_truncated_gzip_export_is_rejected_and_imports_nothing(published, tmp_path):
    root, _ = published
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes((root / "runs.jsonl.gz").read_bytes()[:200])
    result = CliRunner().invoke(cli, ["import", str(broken), "--registry", str(tmp_path / "x.db"),
                                      "--plugins", PLUGIN])
    assert result.exit_code == 1 and "cannot read" in result.output
    assert not (tmp_path / "x.db").exists()


def test_site_from_an_export_imports_analyses_and_renders_the_whole_catalogue(published):
    root, built = published
    assert "imported 8 runs from 1 file(s)" in built.output
    assert "tiny-sweep [smoke]: inconclusive" in built.output  # analysed in the build
    index = (root / "_site" / "index.html").read_text()
    row = re.search(r'<tr data-name="tiny-sweep".*?</tr>', index, re.DOTALL).group(0)
    # 8 tiny runs: no label can be read (withheld), and the row says why
    assert "badge-withheld" in row and "marker-withheld" in row
    assert "8 runs · 2 seeds" in row and "smoke v" in row
    for name in load_catalog([]).innovations:  # every declared innovation, with or without runs
        assert f'href="innovation/{name}.html"' in index
    rope = re.search(r'<tr data-name="learned-to-rope".*?</tr>', index, re.DOTALL).group(0)
    assert "Sanderson et al. 2025" in rope and "badge-cannot-tell" in rope
    assert (root / "_site" / "innovation" / "tiny-sweep.html").is_file()
    assert not list(root.glob("_site/**/*.db-wal"))


def test_site_from_a_bad_export_fails_with_the_import_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"run_id": "x"}\n')
    result = CliRunner().invoke(cli, ["site", "--from", str(bad), "--out", str(tmp_path / "s")])
    assert result.exit_code == 1 and "nothing imported" in result.output
    assert f"{bad}:1:" in result.output


# -------------------------------------------------------------------------
# the committed leaderboard and the workflows that publish it


def test_leaderboard_readme_says_how_results_were_made():
    text = (LEADERBOARD / "README.md").read_text()
    for heading in ("## How these results were made", "## Build the site from them"):
        assert heading in text
    for fact in ("Commit", "Tier", "Machine", "Wall time", "Ran beside it"):
        assert f"| {fact} |" in text, fact
    assert "cegbench site --from leaderboard/runs.jsonl.gz --out _site" in text


def test_pages_workflow_builds_the_committed_export_with_the_local_command():
    text = (WORKFLOWS / "pages.yml").read_text()
    assert "branches: [main]" in text
    assert "pip install --quiet torch==2.13.0 -e '.[test]'" in text  # as .ci/run installs
    assert "cegbench site --from leaderboard/runs.jsonl.gz --out _site" in text
    assert "actions/upload-pages-artifact" in text and "actions/deploy-pages" in text


def test_tests_workflow_runs_readmes_test_command_after_cis_install():
    text = (WORKFLOWS / "tests.yml").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    install = re.search(r"^python -m pip install .*$", ci, re.MULTILINE).group(0)
    assert install.replace("python -m ", "") in text or install in text
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Run the tests.*?```sh\n(.+?)\n```", readme, re.DOTALL).group(1)
    assert re.search(rf"^\s*run: {re.escape(command)}\s*$", text, re.MULTILINE)
    assert "CEGBENCH_REQUIRE_BROWSER" in text


@pytest.fixture(scope="module")
def committed_site(tmp_path_factory):
    """The site as Pages builds it, from the committed export, by the same command."""
    if not COMMITTED.exists():
        pytest.skip(f"{COMMITTED.relative_to(ROOT)} is not committed yet: no published "
                    "results to build (they are committed after the catalogue sweep)")
    out = tmp_path_factory.mktemp("committed") / "_site"
    cegbench = shutil.which("cegbench", path=str(Path(sys.executable).parent)) or "cegbench"
    done = subprocess.run([cegbench, "site", "--from", str(COMMITTED), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_the_committed_results_build_into_a_site(committed_site):
    index = (committed_site / "index.html").read_text()
    for name in load_catalog([]).innovations:
        assert f'href="innovation/{name}.html"' in index
    n_runs = sum(1 for _ in gzip.open(COMMITTED, "rt"))
    runs = json.loads((committed_site / "downloads" / "runs.json").read_text())
    assert len(runs) == n_runs


NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def readme_table(text: str) -> list[str]:
    """The lines `cegbench table` printed into a README: the table, then its summary line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| innovation | label | CEG drift"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    summary = next(line for line in lines[end:] if line.strip())
    return [*lines[start:end], summary]


def same_but_for_float_noise(ours: str, theirs: str) -> bool:
    """The same text, and numbers equal within rounding of a refit on another machine."""
    if NUMBER.sub("#", ours) != NUMBER.sub("#", theirs):
        return False
    pairs = zip(map(float, NUMBER.findall(ours)), map(float, NUMBER.findall(theirs)))
    return all(abs(a - b) <= 0.03 * max(abs(a), abs(b)) + 2e-3 for a, b in pairs)


def test_readmes_table_is_what_the_committed_results_give(committed_site):
    """Every number in README's leaderboard table comes from the committed runs:
    `cegbench table` on the registry the site was built from prints the same table."""
    registry = committed_site / "downloads" / "cegbench.db"
    fresh = invoke("table", "--tier", "cpu", "--registry", registry).output
    fresh_lines = readme_table(fresh)
    published = readme_table((ROOT / "README.md").read_text())
    assert len(published) == len(fresh_lines), "README's table has other rows: paste " \
        "`cegbench table --tier cpu --from leaderboard/runs.jsonl.gz` into README.md"
    for ours, theirs in zip(published, fresh_lines):
        assert same_but_for_float_noise(ours, theirs), (ours, theirs)


def test_the_readme_table_check_catches_a_changed_number_or_label():
    row = "| a-to-b | scale-invariant | 1.06× [0.944, 1.19] | +0.0025 [-0.0004, +0.0049] |"
    assert same_but_for_float_noise(row, row.replace("0.944", "0.945"))
    assert not same_but_for_float_noise(row, row.replace("0.944", "0.85"))
    assert not same_but_for_float_noise(row, row.replace("scale-invariant", "inconclusive"))
    header = "| innovation | label | CEG drift per 10× compute [95 % CI] |"
    text = f"intro\n\n{header}\n|---|\n{row}\n\ncpu v3: 1 decided.\n\nmore"
    assert readme_table(text) == [header, "|---|", row, "cpu v3: 1 decided."]


@pytest.mark.browser
def test_the_committed_site_works_in_a_browser(committed_site, page):  # noqa: F811
    page.goto((committed_site / "index.html").as_uri())
    assert page.title() == "cegbench leaderboard"
    assert page.locator("#leaderboard tbody tr").count() >= len(load_catalog([]).innovations)
    assert not re.search(r"\de\+(1\d|[2-9]\d)×", page.inner_text("#leaderboard"))  # no absurd CEG
    for link in page.locator("#leaderboard tbody tr td:first-child a").all()[:3]:
        href = link.get_attribute("href")
        page.goto((committed_site / href).as_uri())
        assert page.locator("h1").count() == 1
        page.go_back()
    assert page.errors == [] and page.external == []


@pytest.mark.browser
def test_the_site_built_from_an_export_works_in_a_browser(published, page):  # noqa: F811
    root, _ = published
    page.goto((root / "_site" / "index.html").as_uri())
    assert page.locator("#leaderboard tbody tr").count() == len(load_catalog([PLUGIN]).innovations)
    badge = page.locator('#leaderboard tr[data-name="learned-to-rope"] .badge-cannot-tell').first
    assert "no verdict of ours yet" in badge.get_attribute("title")
    assert page.errors == [] and page.external == []
