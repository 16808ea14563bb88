"""The static leaderboard: pages, links, assets, escaping and formatting."""

import csv
import dataclasses
import hashlib
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import sqlite_utils

from cegbench.registry.db import save_run, save_verdict
from cegbench.registry.opening import open_registry
from cegbench.site import context, plots, render
from cegbench.site.publish import MANIFEST
from cegbench.site.render import build_site
from site_fixtures import INNOVATIONS, sample_registry


class Links(HTMLParser):
    """Collect every href and src of a page."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("href", "src") and value]


def links(page: Path) -> list[str]:
    parser = Links()
    parser.feed(page.read_text())
    return parser.urls


def is_relative(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("#")


def test_build_site_writes_index_pages_and_assets(built_site):
    out, written = built_site
    names = sorted(p.relative_to(out).as_posix() for p in written)
    assert all(p.exists() for p in written)
    assert "index.html" in names and "about.html" in names
    for inn in INNOVATIONS:
        assert f"innovation/{inn.name}.html" in names
    assert len([n for n in names if n.startswith("static/")]) == 2
    assert {n for n in names if n.startswith("downloads/")} == {
        "downloads/cegbench.db", "downloads/leaderboard.json", "downloads/leaderboard.csv",
        "downloads/runs.json", "downloads/runs.csv"}


def row_html(html: str, name: str, tier: str = "smoke") -> str:
    return re.search(rf'<tr data-name="{name}"[^>]*data-tier="{tier}">.*?</tr>', html, re.DOTALL).group(0)


def test_index_lists_every_innovation_with_label_and_headline_ceg(built_site):
    html = (built_site[0] / "index.html").read_text()
    for inn in INNOVATIONS:
        assert f'href="innovation/{inn.name}.html"' in html
    assert "scale-invariant" in html
    assert "scale-dependent" in html and "grows with scale" in html
    assert "no results yet" in html  # layernorm-to-rmsnorm has no verdict
    # the smoke tier states one headline compute (3.16e12); small v2, from before it, does not:
    # its row says where its CEG was read
    assert ('<strong class="headline">13.0×</strong> <small class="interval">[11.7, 14.3]</small>'
            '<br><small>at 3.16e12 FLOPs</small>') in row_html(html, "lstm-to-transformer")
    assert ('<strong class="headline">1.47×</strong> <small class="interval">[1.32, 1.62]</small>'
            '<br><small>at 1e13 FLOPs (largest measured budget)</small>') in row_html(html, "gelu-to-swiglu", "small")
    assert "36 runs · 2 seeds · 1 failed" in html and "54 runs · 3 seeds" in html
    assert "smoke v1" in html and "small v2" in html


def test_index_opens_with_each_tiers_scale_and_decided_count(built_site):
    html = (built_site[0] / "index.html").read_text()
    smoke = re.search(r'<section class="answer tier-summary">\s*<h2>smoke v1:.*?</section>', html, re.DOTALL).group(0)
    counts = re.sub(r"<[^>]+>", "", smoke.split("</h2>")[0])
    assert counts.split(": ", 1)[1] == ("0 decided · 1 borderline · 1 rests on one budget · 2 inconclusive · "
                                        "1 withheld of 5")
    assert ("Models of 213k–3.21M parameters, trained with 1e12–1e13 FLOPs, on enwiki-sample "
            "(5.47M training tokens, up to ") in smoke
    assert "1–2 seeds per cell, 162 runs." in smoke
    assert "Every row&#39;s CEG is read at 3.16e12 FLOPs." in smoke
    small = re.search(r'<h2>small v2:.*?</section>', html, re.DOTALL).group(0)
    assert "<strong>1</strong> decided" in small and "rests on one budget" not in small  # none: left out
    assert "Decided: 1 scale-invariant." in small and "differs from row to row" in small
    assert html.index("tier-summary") < html.index('<table id="leaderboard"')  # the answer first


def test_index_marks_every_caveat_beside_its_label(built_site):
    html = (built_site[0] / "index.html").read_text()
    assert re.search(r'data-standing="borderline".*?<span class="marker marker-borderline" title="its bound '
                     r'lies within the bootstrap&#39;s Monte-Carlo error', row_html(html, "gelu-to-swiglu"), re.DOTALL)
    lstm = row_html(html, "lstm-to-transformer")
    assert 'data-standing="rests on one budget"' in lstm
    assert ('<span class="marker marker-rests-on" title="without the 1e+13 FLOPs budget its estimate '
            'crosses to the other side: not counted as decided">rests on one budget</span>') in lstm
    assert "marker-fragile" in lstm
    bundle = row_html(html, "transformer-2017-to-modern")
    assert ">single seed</span>" in bundle and ">from equal-loss CEGs</span>" in bundle
    gqa = row_html(html, "mha-to-gqa")
    assert '<span class="badge badge-withheld">withheld</span>' in gqa
    assert ('<span class="marker marker-withheld" title="no label: frontier not bracketed at 1e+13 FLOPs '
            '(baseline)">frontier not bracketed at 1e+13 FLOPs</span>') in gqa
    # the two innovations measured on the same trainings say so, each naming the other
    assert "same runs as mha-to-mqa</span>" in gqa and "36 of these 36 runs" in gqa
    assert "same runs as mha-to-gqa</span>" in row_html(html, "mha-to-mqa")
    assert "same runs as" not in row_html(html, "gelu-to-swiglu")  # shares only its baseline
    # Δα from a law at a bound is flagged, never shown as a result
    assert '<span class="no-result" title="the fitted law is no result' in bundle
    assert "+0.0300<br><small>[+0.0260, +0.0340]</small>" in lstm
    # the filters offer the values present, surest standing first
    assert re.search(r'<select data-facet="standing"[^>]*>\s*<option value="">all</option>\s*'
                     r'<option value="decided">decided</option>\s*<option value="borderline">', html)
    assert '<option value="no results yet">' in html


def test_index_leaves_wall_clock_and_extrapolations_to_the_innovation_pages(built_site):
    """The wall-clock CEG is not yet readable and the extrapolated CEG is an extrapolation:
    neither is a column of the index; both are on the innovation page, flagged."""
    html = (built_site[0] / "index.html").read_text()
    assert "Wall-clock" not in html and "17.1×" not in html and "extrapolated to 1e+21" not in html
    page = (built_site[0] / "innovation" / "lstm-to-transformer.html").read_text()
    assert "Wall-clock CEG*" in page and "do not read it as a result" in page


def test_index_has_a_small_multiple_per_verdict(built_site):
    html = (built_site[0] / "index.html").read_text()
    panels = re.findall(r'<figure class="panel">.*?</figure>', html, re.DOTALL)
    assert len(panels) == 6  # every verdict with a measured CEG
    titles = [re.search(r'<a href="[^"]+">([^<]+)</a>', p).group(1) for p in panels]
    assert titles[:2] == ["GeLU → SwiGLU (small v2)", "GeLU → SwiGLU (smoke v1)"]  # the table's order
    lstm = panels[titles.index("LSTM → Transformer (smoke v1)")]
    assert "badge-scale-dependent" in lstm and "13.0× [11.7, 14.3]" in lstm
    assert "stroke-dasharray" in lstm  # the headline compute, dashed
    assert all("currentColor" in p and "#8a8a8a" not in p for p in panels)


def test_downloads_hold_the_registry_leaderboard_and_runs(built_site, sample_db):
    folder = built_site[0] / "downloads"
    board = json.loads((folder / "leaderboard.json").read_text())
    lstm = next(r for r in board if r["innovation"] == "lstm-to-transformer")
    assert lstm["ceg"] == pytest.approx(21.352, rel=1e-3) and lstm["fragile"] is True
    assert lstm["standing"] == "rests on one budget"
    assert lstm["headline_ceg"] == pytest.approx(13.036, rel=1e-3) and lstm["headline_compute"] == pytest.approx(3.162e12, rel=1e-3)
    assert next(r for r in board if r["tier"] == "small")["headline_basis"] == "largest measured budget"
    assert lstm["frontier_ceg_low"] is None  # NaN in the registry → null
    with (folder / "leaderboard.csv").open() as f:
        assert [r["innovation"] for r in csv.DictReader(f)] == [r["innovation"] for r in board]
    runs = json.loads((folder / "runs.json").read_text())
    assert len(runs) == sample_db["runs"].count
    assert "curve" not in runs[0] and {"run_id", "final_loss", "hardware", "command"} <= set(runs[0])
    with (folder / "runs.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(runs)
    copy = sqlite_utils.Database(folder / "cegbench.db")
    assert copy["runs"].count == len(runs) and copy["verdicts"].count == sample_db["verdicts"].count
    assert copy.execute("pragma journal_mode").fetchone()[0] == "delete"
    copy.close()


def test_leaderboard_puts_the_surest_first_and_pending_last(built_site):
    """Per tier: decided, borderline, rests on one budget, inconclusive, withheld; then the
    largest headline CEG. A withheld label is never row 1."""
    html = (built_site[0] / "index.html").read_text()
    order = re.findall(r'<tr data-name="([a-z0-9-]+)"[^>]*data-tier="([a-z]*)"', html)
    assert order == [("gelu-to-swiglu", "small"), ("gelu-to-swiglu", "smoke"), ("lstm-to-transformer", "smoke"),
                     ("transformer-2017-to-modern", "smoke"), ("mha-to-mqa", "smoke"),
                     ("mha-to-gqa", "smoke"), ("layernorm-to-rmsnorm", "")]


def test_innovation_page_answers_first_then_plots_and_details(built_site):
    html = (built_site[0] / "innovation" / "lstm-to-transformer.html").read_text()
    # the answer, in one sentence, before anything else of the measurement
    answer = html[html.index('<section class="answer"'):html.index('<section class="tier"')]
    assert ('<p class="sentence">At 3.16e12 FLOPs, Transformer is worth 13.0× [11.7, 14.3] the compute '
            'of LSTM; the gain grows with scale.</p>') in answer
    assert "badge-scale-dependent" in answer and ">rests on one budget</span>" in answer
    assert "without the 1e+13 FLOPs budget its estimate crosses to the other side" in answer
    assert "2 did not learn (left out of the frontiers)" in answer
    assert "+0.0300 [+0.0260, +0.0340]" in answer and "2 seeds per cell" in answer
    assert html.index('class="sentence"') < html.index("<svg ") < html.index('class="recipes"')
    assert '<a href="https://arxiv.org/abs/1706.03762"' in html
    # recipe fields that differ are highlighted, the others are not
    assert re.search(r'<tr class="differs">\s*<th scope="row">family', html)
    assert re.search(r'<tr>\s*<th scope="row">optimizer', html)
    assert "extrapolated" in html and "1e21" in html
    assert ">Epochs</th>" in html  # repetition: each run's epochs of training data
    assert re.search(r'<td class="num" data-sort="[^"]+">\d+\.\d\d</td>\s*<td>ok</td>', html)
    assert html.count('<svg ') == 3 and html.count('role="img"') == 3  # loss, CEG, IsoFLOP
    assert html.count("<title>LSTM → Transformer: ") == 3
    assert "CUDA out of memory" in html and 'class="status-failed"' in html
    assert "cegbench run --tier smoke --innovation lstm-to-transformer" in html
    # the method as readable text, folded
    method = re.search(r'<details class="method">.*?</details>', html, re.DOTALL).group(0)
    assert "<dt>fit</dt><dd>huber-log</dd>" in method and "<dt>bootstrap replicates (fitted)</dt><dd>200</dd>" in method
    assert "<dt>irreducible loss E shared by both arms</dt><dd>yes</dd>" in method
    # fragile, with the sensitivity variant that changes the label highlighted
    assert "badge-fragile" not in html and "Fragile: the label flips" in html
    assert re.search(r'<tr class="differs"><td>drop largest budget</td><td><span class="badge '
                     r'badge-inconclusive">inconclusive', html)
    assert "<td>E fixed</td>" in html
    assert "CEG by target loss" in html
    assert '<td class="num wall">17.1× [14.9, 19.2]</td>' in html  # wall-clock CEG at 1e13, flagged


BAND = "fill-opacity: 0.22"  # how plots.py shades an interval band over the measured range


def test_plots_draw_bands_extrapolation_equal_loss_points_and_isoflop_parabolas(built_site):
    html = (built_site[0] / "innovation" / "lstm-to-transformer.html").read_text()
    ceg_svg, loss, isoflop = re.findall(r'<svg .*?</svg>', html, re.DOTALL)
    for svg in (loss, ceg_svg):  # a shaded band and a dashed extrapolated line
        assert BAND in svg and "stroke-dasharray" in svg
    assert "extrapolated" in ceg_svg
    # the equal-loss CEGs the label is read off, and the headline compute
    assert "equal-loss CEGs (the label" in ceg_svg and "headline compute" in ceg_svg
    assert "equal-loss CEGs: " in re.search(r"<desc>(.*?)</desc>", ceg_svg).group(1)
    assert ">baseline<" in isoflop and ">modern<" in isoflop  # one panel per arm
    assert "stroke-dasharray" in isoflop  # the fitted parabolas
    # axes and labels follow the page's text colour
    assert all("currentColor" in svg and "#8a8a8a" not in svg for svg in (loss, ceg_svg, isoflop))


def test_bundle_page_shows_composition_and_decision(built_site):
    html = (built_site[0] / "innovation" / "transformer-2017-to-modern.html").read_text()
    assert "badge-inconclusive" in html and "What would decide it" in html
    assert "About 4 more seeds" in html and "10.0×" in html
    assert "Composition" in html and "a ratio of 3.13" in html
    assert '<a href="gelu-to-swiglu.html">GeLU → SwiGLU</a></td><td class="num">1.05×' in html
    assert "Without a CEG at that compute: LayerNorm → RMSNorm, sinusoidal-to-rope." in html


def test_verdict_without_detail_columns_renders(built_site):
    """small v2 has NULL detail columns, as a registry from before m002_analysis_detail."""
    html = (built_site[0] / "innovation" / "gelu-to-swiglu.html").read_text()
    small = html[html.index('id="tier-gelu-to-swiglu-small-2"'):html.index('id="tier-gelu-to-swiglu-smoke-1"')]
    assert "Sensitivity" not in small and "Warnings" not in small  # empty sections are left out
    assert "marker-fragile" not in small
    assert small.count("<svg ") == 3
    assert "GeLU → SwiGLU (small v2)" not in small
    loss = re.search(r'<svg [^>]*aria-label="GeLU → SwiGLU: final loss.*?</svg>', small, re.DOTALL).group(0)
    assert "baseline fit, α = 0.1" in loss and BAND not in loss  # from the fits table, no band


def test_innovation_page_with_two_tiers_has_a_section_each(built_site):
    html = (built_site[0] / "innovation" / "gelu-to-swiglu.html").read_text()
    assert 'id="tier-gelu-to-swiglu-smoke-1"' in html and 'id="tier-gelu-to-swiglu-small-2"' in html
    assert html.count("<svg ") == 6
    assert "cegbench run --tier small --innovation gelu-to-swiglu" in html
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids repeat across the inline figures"


def test_innovation_without_results_renders(built_site):
    html = (built_site[0] / "innovation" / "layernorm-to-rmsnorm.html").read_text()
    assert "No results yet" in html
    assert "cegbench run --tier smoke --innovation layernorm-to-rmsnorm" in html


def test_relative_links_resolve_and_nothing_external_is_loaded(built_site):
    out, written = built_site
    pages = [p for p in written if p.suffix == ".html"]
    for page in pages:
        for url in links(page):
            if is_relative(url):
                target = (page.parent / urlsplit(url).path).resolve()
                assert target.is_file(), f"{page.name}: {url} does not resolve"
            else:  # only anchors, data: URLs and outbound links (the paper) are allowed
                assert url.startswith(("#", "data:", "https://arxiv.org/")), url
        html = page.read_text()
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)


def test_static_assets_carry_their_content_hash(built_site):
    out, written = built_site
    html = (out / "index.html").read_text()
    for name in ("app.css", "app.js"):
        stem, suffix = name.split(".")
        match = re.search(rf'"static/{stem}\.([0-9a-f]{{12}})\.{suffix}"', html)
        assert match, f"{name} is not linked with a hash"
        source = Path(render.__file__).parent / "static" / name
        assert match.group(1) == hashlib.sha256(source.read_bytes()).hexdigest()[:12]
        assert (out / "static" / f"{stem}.{match.group(1)}.{suffix}").read_bytes() == source.read_bytes()
    page = (out / "innovation" / "gelu-to-swiglu.html").read_text()
    assert '"../static/app.' in page


def test_plugin_strings_are_escaped(built_site):
    out, _ = built_site
    for page in [out / "index.html", *(out / "innovation").glob("*.html")]:
        html = page.read_text()
        assert "<script>alert" not in html
        assert "<img src=x" not in html and "<b>FLOPs" not in html
    html = (out / "innovation" / "lstm-to-transformer.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;FLOPs&lt;/b&gt;" in html


def test_empty_registry_renders_a_friendly_page(tmp_path):
    db = open_registry(tmp_path / "empty.db")
    written = build_site(db, tmp_path / "out")
    html = (tmp_path / "out" / "index.html").read_text()
    assert "No results yet" in html and "cegbench run --tier smoke" in html
    assert "<table" not in html
    assert {p.name for p in written if p.suffix == ".html"} == {"index.html", "about.html"}


def test_a_rebuild_is_deterministic_and_removes_stale_files(sample_db, tmp_path):
    """Built over an old build, the folder holds exactly the new files, byte for byte as a
    fresh build: the old build's files that this one does not write (its manifest lists
    them) are removed, and nothing else is."""
    out = tmp_path / "out"
    build_site(sample_db, out)
    stale = ["static/app.000000000000.css", "innovation/gone.html", "downloads/old.csv"]
    for name in stale:
        (out / name).write_text("old")
    manifest = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps({**manifest, "files": manifest["files"] + stale}))
    (out / "notes.txt").write_text("mine")  # files of the user's own stay
    (out / "downloads" / "mine").mkdir()  # a folder there was a traceback
    written = build_site(sample_db, out)
    assert {p for p in out.rglob("*") if p.is_file()} == {*written, out / MANIFEST, out / "notes.txt"}
    assert (out / "downloads" / "mine").is_dir()
    fresh = build_site(sample_db, tmp_path / "fresh")
    assert {p.relative_to(tmp_path / "fresh"): p.read_bytes() for p in fresh} == \
        {p.relative_to(out): p.read_bytes() for p in written}
    assert sorted(json.loads((out / MANIFEST).read_text())["files"]) == \
        sorted(p.relative_to(out).as_posix() for p in written)


@pytest.mark.parametrize("name", ["../evil", "Bad Name", ""])
def test_a_name_that_is_not_a_slug_is_refused(sample_db, tmp_path, name):
    row = dict(next(sample_db["innovations"].rows_where("name = 'layernorm-to-rmsnorm'")), name=name)
    sample_db["innovations"].insert(row)
    with pytest.raises(ValueError, match="not a slug"):
        build_site(sample_db, tmp_path / "out")


def test_every_context_field_is_documented():
    classes = [c for c in vars(context).values()
               if dataclasses.is_dataclass(c) and c.__module__ == context.__name__]
    assert len(classes) >= 7
    for cls in classes:
        for f in dataclasses.fields(cls):
            assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help"


def test_environment_autoescapes_and_is_strict():
    """StrictUndefined: a template naming a field the context lacks fails the build."""
    env = render.environment()
    assert env.autoescape is True
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ not_a_field }}").render()


def test_render_imports_neither_torch_nor_plugins():
    code = ("import sys, cegbench.site.render; "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('cegbench.plugins.')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_sparse_verdict_and_an_odd_paper_url_render(tmp_path):
    """A verdict with no CEG, frontier, fits or runs still renders, with '—' for what is missing."""
    db = open_registry(tmp_path / "sparse.db")
    db["innovations"].insert({"name": "odd", "title": "Odd", "category": "data", "year": None,
                              "paper": "javascript:alert(3)", "description": "", "parts": '["nope"]',
                              "baseline": "{}", "modern": "{}"})
    save_verdict(db, innovation="odd", tier=SimpleNamespace(name="smoke", version=1),
                 verdict={"label": "inconclusive"}, fits=[])
    build_site(db, tmp_path / "out")
    index = (tmp_path / "out" / "index.html").read_text()
    assert "inconclusive" in index and "0 runs · 0 seeds" in index
    page = (tmp_path / "out" / "innovation" / "odd.html").read_text()
    assert "javascript:" not in page
    assert "No losses to plot" in page and "No CEG to plot" in page


def test_an_innovation_whose_runs_all_failed_renders(tmp_path):
    db = open_registry(tmp_path / "failed.db")
    db["innovations"].insert({"name": "broken", "title": "Broken", "category": "architecture",
                              "year": 2024, "baseline": "{}", "modern": "{}"})
    for seed in (0, 1):
        save_run(db, {"run_id": f"r{seed}", "innovation": "broken", "arm": "modern", "tier": "smoke",
                      "tier_version": 1, "budget": 1e12, "width": 64, "n_params": 1000, "seed": seed,
                      "status": "failed", "error": "loss is NaN", "command": "cegbench run --tier smoke "
                      "--plugins my_idea.py"})
    build_site(db, tmp_path / "out")
    index = (tmp_path / "out" / "index.html").read_text()
    assert "0 runs · 0 seeds · 2 failed" in index and "badge-none" in index
    assert "<svg" not in index  # nothing to chart yet
    page = (tmp_path / "out" / "innovation" / "broken.html").read_text()
    assert "No verdict yet" in page and page.count("loss is NaN") == 2
    assert "cegbench run --tier smoke --innovation broken --plugins my_idea.py" in page

def test_plot_text_from_plugins_is_escaped_and_never_tex():
    """Titles reach the SVG's title, label and description: markup escaped, '$' literal."""
    name = "Cheap $5 or $6 trick <script>alert(4)</script>"
    points = [{"compute": 1e12, "ceg": 1.5, "low": 1.4, "high": 1.6, "extrapolated": False},
              {"compute": 1e13, "ceg": 1.6, "low": 1.5, "high": 1.7, "extrapolated": False},
              {"compute": 1e15, "ceg": 1.7, "low": None, "high": None, "extrapolated": True}]
    svgs = [plots.ceg_panel(points, points, headline=None, label="inconclusive", title=name, salt="t"),
            plots.ceg_plot(points, title=name, salt="t"),
            plots.isoflop_plot([{"arm": "modern", "budget": 1e12, "n_params": 1e5, "final_loss": 2.0}],
                               [], title=name, salt="t")]
    for svg in svgs:
        assert "<script>" not in svg
        assert re.search(r"<title>Cheap \$5 or \$6 trick &lt;script&gt;alert\(4\)", svg)


def test_backslashes_in_a_title_are_text_everywhere(tmp_path):
    """A title is never a regex replacement: '\\m' crashed the site, '\\a' became a BEL."""
    from click.testing import CliRunner

    from cegbench.cli.main import cli

    title = r"\alpha-\mu \1 \g<0> {0} %s $x$ GeLU"
    db = sample_registry(tmp_path / "registry.db")
    db["innovations"].update("gelu-to-swiglu", {"title": title})
    db.close()
    result = CliRunner().invoke(cli, ["site", "--registry", str(tmp_path / "registry.db"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "innovation" / "gelu-to-swiglu.html").read_text()
    shown = title.replace("<", "&lt;").replace(">", "&gt;")
    assert f'aria-label="{shown}: ' in page
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", page)  # no control characters
    svg = plots.ceg_plot([{"compute": 1e12, "ceg": 1.5, "low": 1.4, "high": 1.6,
                           "extrapolated": False}], title=title, salt=r"s\1")
    assert f'aria-label="{shown}: ' in svg and 'id="s-1-' in svg


def test_a_label_read_off_the_equal_loss_cegs_says_so(sample_db, tmp_path):
    """A fit at a bound is not a result: the page says the label and its drift come from
    the measured frontiers' equal-loss CEGs, and why, instead of "label withheld"."""
    db = sample_db
    db["verdicts"].update(("gelu-to-swiglu", "small", 2), {
        "label_basis": "equal-loss CEGs", "drift": 1.3, "drift_low": 1.1, "drift_high": 1.5,
        "loss_drift": 1.3, "loss_drift_low": 1.1, "loss_drift_high": 1.5,
        "withheld": json.dumps(["fit at a bound: shared E at its lower bound 0 (2e-10)"])}, alter=True)
    build_site(db, tmp_path / "out")
    page = (tmp_path / "out" / "innovation" / "gelu-to-swiglu.html").read_text()
    assert ("The fitted law is not a result (fit at a bound: shared E at its lower bound 0 (2e-10)), "
            "so the label and its drift are read off the equal-loss CEGs") in page
    assert "1.30× [1.10, 1.50] per 10× compute" in page and ">from equal-loss CEGs</span>" in page
    assert "Label withheld" not in page


def visible_text(html: str) -> str:
    """A page's words as a reader meets them: no tags, scripts, figures or code."""
    html = re.sub(r"<(script|svg|code|pre)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"<[^>]+>", " ", html)


# what the Method dump showed: t_dof=11.78…, sensitivity=[], shared_E=True, {'seed_factors': …}
PYTHON_REPR = re.compile(r"\b(True|False|None)\b|\[\]|\{'|'\w+': |\b[A-Za-z]+(_[A-Za-z]+)*=[\d\[{'TFN]")


def test_no_page_shows_a_python_repr(built_site):
    _, written = built_site
    for page in (p for p in written if p.suffix == ".html"):
        found = PYTHON_REPR.search(visible_text(page.read_text()))
        assert not found, f"{page.name}: {found.group(0)!r}"


def test_every_page_says_when_the_last_run_finished(built_site):
    out, _ = built_site
    for page in ("index.html", "about.html", "innovation/gelu-to-swiglu.html"):
        assert "Data as of 2025-06-01 12:00 UTC (when the last run finished)" in (out / page).read_text()


def test_one_headline_compute_for_every_row_goes_in_the_header(sample_db, tmp_path):
    sample_db["verdicts"].delete(("gelu-to-swiglu", "small", 2))  # the one verdict without a headline
    build_site(sample_db, tmp_path / "out")
    html = (tmp_path / "out" / "index.html").read_text()
    assert "CEG at 3.16e12 FLOPs <small>[95 % CI]</small>" in html
    assert "(largest measured budget)" not in html and "<small>at 3.16e12 FLOPs</small>" not in html


def test_about_page_says_what_is_measured_how_to_read_and_cite_it(built_site):
    html = (built_site[0] / "about.html").read_text()
    for heading in ("What it measures", "How to read it", "How to cite it", "Licences", "Tiers and their versions"):
        assert f"<h2>{heading}</h2>" in html
    assert "@software{cegbench," in html and "title   = {cegbench: compute-equivalent gains" in html
    assert "year    = {2025}" in html and "Leaderboard data as of 2025-06-01 12:00 UTC" in html
    assert "under the MIT licence" in html and "CC BY 4.0" in html
    # the changelog of every built-in tier version, from cegbench.tiers
    assert "<dt>cpu v3</dt>" in html and "v2 measured at 1e11 to 1.5e12" in html
    assert "<dt>gpu v3</dt>" in html and "<dt>smoke v2</dt>" in html
    assert "url" not in html.split("@software")[1].split("}\n")[0]  # no repository given: none cited


def test_citation_cff_states_the_facts_the_site_cites():
    from cegbench import __version__
    from cegbench.site import about

    text = (Path(__file__).resolve().parents[1] / "CITATION.cff").read_text()
    assert f'title: "{about.TITLE}"' in text and f'- name: "{about.AUTHORS}"' in text
    assert f'version: "{__version__}"' in text and f"license: {about.CODE_LICENCE}" in text
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert f'license = "{about.CODE_LICENCE}"' in pyproject


def test_site_links_and_cites_the_repository_it_is_given(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cegbench.cli.main import cli

    sample_registry(tmp_path / "registry.db").close()
    args = ["site", "--registry", str(tmp_path / "registry.db"), "--out", str(tmp_path / "out")]
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "someone/cegbench")  # as GitHub Actions sets them
    assert CliRunner().invoke(cli, args).exit_code == 0
    about_page = (tmp_path / "out" / "about.html").read_text()
    assert "url     = {https://github.com/someone/cegbench}" in about_page
    assert '<a href="https://github.com/someone/cegbench" rel="noopener noreferrer">repository</a>' in \
        (tmp_path / "out" / "index.html").read_text()
    bad = CliRunner().invoke(cli, [*args, "--repository", "javascript:alert(1)"])
    assert bad.exit_code == 2 and "--repository" in bad.output and "must be an http(s) URL" in bad.output


# -------------------------------------------------------------------------
# no command destroys its inputs (issue 30)


def cli_site(*args):
    from click.testing import CliRunner

    from cegbench.cli.main import cli

    result = CliRunner().invoke(cli, ["site", *map(str, args)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def registry_file(tmp_path):
    sample_registry(tmp_path / "registry.db").close()
    return tmp_path / "registry.db"


def test_a_folder_the_site_did_not_make_is_refused_unless_forced(registry_file, tmp_path):
    """Before: files under DIR/innovation and DIR/downloads were deleted silently."""
    out = tmp_path / "theirs"
    (out / "innovation").mkdir(parents=True)
    (out / "innovation" / "essay.html").write_text("my essay")
    (out / "downloads").mkdir()
    (out / "downloads" / "thesis.csv").write_text("a,b")
    before = tree(out)
    result = cli_site("--registry", registry_file, "--out", out)
    assert result.exit_code == 1, result.output
    assert result.output.strip() == (
        f"Error: site folder '{out}' is not empty and was not made by `cegbench site` (it has "
        f"no {MANIFEST}); pass --force to write the site into it (its own files are left "
        "alone), or pass an empty or new --out")
    assert tree(out) == before
    forced = cli_site("--registry", registry_file, "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    after = tree(out)
    assert {k: after[k] for k in before} == before and "index.html" in after
    again = cli_site("--registry", registry_file, "--out", out)  # now it is the site's folder
    assert again.exit_code == 0 and {k: tree(out)[k] for k in before} == before


def test_rebuilding_a_folder_the_site_made_needs_no_force(registry_file, tmp_path):
    out = tmp_path / "_site"
    for _ in range(2):
        result = cli_site("--registry", registry_file, "--out", out)
        assert result.exit_code == 0, result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli_site("--registry", registry_file, "--out", empty).exit_code == 0


def test_a_site_built_before_manifests_is_rebuilt_and_its_stale_pages_go(registry_file, tmp_path):
    """`cegbench site --out _site` as README says, over a build by an older cegbench."""
    out = tmp_path / "_site"
    assert cli_site("--registry", registry_file, "--out", out).exit_code == 0
    (out / MANIFEST).unlink()  # as an older cegbench left it
    (out / "innovation" / "gone.html").write_text("an innovation no longer in the registry")
    (out / "README.txt").write_text("not the site's")
    result = cli_site("--registry", registry_file, "--out", out)
    assert result.exit_code == 0, result.output
    assert not (out / "innovation" / "gone.html").exists() and (out / "README.txt").exists()
    assert (out / MANIFEST).is_file()


def test_an_interrupted_build_leaves_the_old_site_whole(sample_db, tmp_path, monkeypatch):
    """Ctrl-C midway: before, index.html linked to pages already deleted."""
    out = tmp_path / "out"
    build_site(sample_db, out)
    before = tree(out)
    calls = []

    def interrupted(env, template, context, path):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(env, template, context, path)

    real = render._write
    monkeypatch.setattr(render, "_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_site(sample_db, out)
    assert tree(out) == before
    assert not [p for p in tmp_path.iterdir() if ".building-" in p.name]  # no staging left


def test_the_index_is_swapped_in_after_every_page(sample_db, tmp_path, monkeypatch):
    from cegbench.site import publish

    out = tmp_path / "out"
    build_site(sample_db, out)
    moved = []
    real = publish.os.replace
    monkeypatch.setattr(publish.os, "replace", lambda a, b: (moved.append(Path(b)), real(a, b)))
    build_site(sample_db, out)
    pages = [p for p in moved if p.suffix == ".html"]
    assert pages[-1] == out / "index.html" and len(pages) > 1


def test_the_site_refuses_an_out_folder_holding_its_inputs(registry_file, tmp_path):
    before = registry_file.read_bytes()
    result = cli_site("--registry", registry_file, "--out", tmp_path)
    assert result.exit_code == 1, result.output
    assert f"--out '{tmp_path}' holds the site's input '{registry_file}'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert registry_file.read_bytes() == before and not (tmp_path / "index.html").exists()
    link = tmp_path / "elsewhere"
    link.symlink_to(tmp_path)
    assert cli_site("--registry", registry_file, "--out", link).exit_code == 1


@pytest.mark.parametrize("out", ["registry.db", "link.db", "registry.db-wal", "hard.db"])
def test_export_refuses_to_write_over_the_registry(registry_file, tmp_path, out):
    """Before: `export --out` the registry itself replaced it with the export, exit 0."""
    import os

    from click.testing import CliRunner

    from cegbench.cli.main import cli

    (tmp_path / "link.db").symlink_to(registry_file)
    os.link(registry_file, tmp_path / "hard.db")
    before = registry_file.read_bytes()
    result = CliRunner().invoke(cli, ["export", "--registry", str(registry_file),
                                      "--out", str(tmp_path / out)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: --out '{tmp_path / out}' is the registry "
                                    f"'{registry_file}' itself")
    assert len(result.output.strip().splitlines()) == 1
    assert registry_file.read_bytes() == before


def test_site_csv_downloads_defuse_formulas(sample_db, tmp_path):
    """A plugin's title or an imported row's text never reaches a spreadsheet as a formula."""
    sample_db["innovations"].update("gelu-to-swiglu", {"title": '=HYPERLINK("http://evil","x")'})
    sample_db.execute("update runs set hardware = '@SUM(1+1)*cmd|'' /C calc''!A0'")
    sample_db.conn.commit()
    build_site(sample_db, tmp_path / "out")
    board = list(csv.DictReader((tmp_path / "out" / "downloads" / "leaderboard.csv").open(newline="")))
    titles = {row["innovation"]: row["title"] for row in board}
    assert titles["gelu-to-swiglu"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    runs = list(csv.DictReader((tmp_path / "out" / "downloads" / "runs.csv").open(newline="")))
    assert runs and all(row["hardware"].startswith("'@SUM") for row in runs)
    assert all(not row["final_loss"].startswith("'") for row in runs if row["final_loss"])
