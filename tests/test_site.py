"""The static leaderboard: pages, links, assets, escaping and formatting."""

import dataclasses
import hashlib
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from site_fixtures import INNOVATIONS, XSS, built_site, sample_db  # noqa: F401 (fixtures)

from cegbench.registry.db import open_registry, save_verdict
from cegbench.site import context, render
from cegbench.site.render import build_site


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


def test_build_site_writes_index_pages_and_assets(built_site):  # noqa: F811
    out, written = built_site
    names = sorted(p.relative_to(out).as_posix() for p in written)
    assert all(p.exists() for p in written)
    assert "index.html" in names
    for inn in INNOVATIONS:
        assert f"innovation/{inn.name}.html" in names
    assert len([n for n in names if n.startswith("static/")]) == 2


def test_index_lists_every_innovation_with_label_and_ceg(built_site):  # noqa: F811
    html = (built_site[0] / "index.html").read_text()
    for inn in INNOVATIONS:
        assert f'href="innovation/{inn.name}.html"' in html
    assert "GeLU → SwiGLU" in html and "LSTM → Transformer" in html
    assert "scale-invariant" in html
    assert "scale-dependent" in html and "grows with scale" in html
    assert "no results yet" in html  # layernorm-to-rmsnorm has no verdict
    assert "1.47× [1.32, 1.62]" in html  # CEG at the largest measured budget, 1e+13
    assert "at 1e+13 FLOPs" in html
    assert "21.4× [19.2, 23.5]" in html
    assert "36 runs · 2 seeds · 1 failed" in html
    assert "54 runs · 3 seeds" in html
    assert "smoke v1" in html and "small v2" in html
    assert "1× NVIDIA H100 80GB" in html


def test_leaderboard_puts_largest_ceg_first_and_pending_last(built_site):  # noqa: F811
    html = (built_site[0] / "index.html").read_text()
    order = re.findall(r'href="innovation/([a-z0-9-]+)\.html"', html)
    assert order[0] == "lstm-to-transformer"
    assert order[-1] == "layernorm-to-rmsnorm"


def test_innovation_page_shows_recipes_verdicts_ceg_plots_runs(built_site):  # noqa: F811
    html = (built_site[0] / "innovation" / "lstm-to-transformer.html").read_text()
    assert '<a href="https://arxiv.org/abs/1706.03762"' in html
    assert "display only" in html
    # recipe fields that differ are highlighted, the others are not
    assert re.search(r'<tr class="differs">\s*<th scope="row">family', html)
    assert re.search(r'<tr>\s*<th scope="row">optimizer', html)
    assert "+0.030 [+0.026, +0.034]" in html
    assert "extrapolated" in html and "1e+21" in html
    assert html.count('<svg ') == 2 and html.count('role="img"') == 2
    assert html.count("<title>LSTM → Transformer: ") == 2
    assert "CUDA out of memory" in html and 'class="status-failed"' in html
    assert "cegbench run --tier smoke --innovation lstm-to-transformer" in html
    assert "fit=huber-log" in html


def test_innovation_page_with_two_tiers_has_a_section_each(built_site):  # noqa: F811
    html = (built_site[0] / "innovation" / "gelu-to-swiglu.html").read_text()
    assert 'id="tier-gelu-to-swiglu-smoke-1"' in html and 'id="tier-gelu-to-swiglu-small-2"' in html
    assert "cegbench run --tier small --innovation gelu-to-swiglu" in html
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids repeat across the inline figures"


def test_innovation_without_results_renders(built_site):  # noqa: F811
    html = (built_site[0] / "innovation" / "layernorm-to-rmsnorm.html").read_text()
    assert "No results yet" in html
    assert "cegbench run --tier smoke --innovation layernorm-to-rmsnorm" in html


def test_relative_links_resolve_and_nothing_external_is_loaded(built_site):  # noqa: F811
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


def test_static_assets_carry_their_content_hash(built_site):  # noqa: F811
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


def test_plugin_strings_are_escaped(built_site):  # noqa: F811
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
    assert {p.name for p in written if p.suffix == ".html"} == {"index.html"}


def test_rebuild_removes_stale_files(sample_db, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    (out / "static").mkdir(parents=True)
    (out / "static" / "app.000000000000.css").write_text("old")
    (out / "innovation").mkdir()
    (out / "innovation" / "gone.html").write_text("old")
    written = build_site(sample_db, out)
    on_disk = {p for p in out.rglob("*") if p.is_file()}
    assert on_disk == set(written)


def test_build_is_deterministic(sample_db, tmp_path):  # noqa: F811
    first = {p.name: p.read_bytes() for p in build_site(sample_db, tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in build_site(sample_db, tmp_path / "b")}
    assert first == second


@pytest.mark.parametrize("name", ["../evil", "Bad Name", ""])
def test_a_name_that_is_not_a_slug_is_refused(sample_db, tmp_path, name):  # noqa: F811
    row = dict(next(sample_db["innovations"].rows_where("name = 'layernorm-to-rmsnorm'")), name=name)
    sample_db["innovations"].insert(row)
    with pytest.raises(ValueError, match="not a slug"):
        build_site(sample_db, tmp_path / "out")


@pytest.mark.parametrize("fmt, value, expected", [
    (render.fmt_ceg, (1.2345, 1.1, 1.4), "1.23× [1.10, 1.40]"),
    (render.fmt_ceg, (25.04, 20.0, 31.26), "25.0× [20.0, 31.3]"),
    (render.fmt_ceg, (1.5, float("nan"), None), "1.50×"),
    (render.fmt_ceg, (float("nan"), 1, 2), "—"),
    (render.fmt_delta, (0.031, -0.002, 0.064), "+0.031 [−0.002, +0.064]"),
    (render.fmt_compute, (1e12,), "1e+12"),
    (render.fmt_compute, (3.16e15,), "3.16e+15"),
    (render.fmt_loss, (3.456789,), "3.457"),
    (render.fmt_loss, (None,), "—"),
    (render.fmt_int, (12713984.0,), "12,713,984"),
    (render.fmt_int, (float("nan"),), "—"),
    (render.fmt_seconds, (3725,), "62.1 min"),
])
def test_numbers_are_formatted_for_people(fmt, value, expected):
    assert fmt(*value) == expected


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
    save_verdict(db, innovation="odd", tier="smoke", tier_version=1,
                 verdict={"label": "inconclusive"}, fits=[])
    build_site(db, tmp_path / "out")
    index = (tmp_path / "out" / "index.html").read_text()
    assert "inconclusive" in index and "0 runs · 0 seeds" in index
    page = (tmp_path / "out" / "innovation" / "odd.html").read_text()
    assert "javascript:" not in page
    assert "No losses to plot" in page and "No CEG to plot" in page
