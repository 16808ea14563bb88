"""The leaderboard in headless Chromium, opened from file:// as a reader would.

Skipped when /usr/bin/chromium is missing, unless CEGBENCH_REQUIRE_BROWSER=1.
Screenshots land in test-artifacts/ at the repository root.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _unavailable(reason: str):
    if os.environ.get("CEGBENCH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and CEGBENCH_REQUIRE_BROWSER=1")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # an iPhone 12-14 in CSS pixels
WIDE = {"width": 1400, "height": 900}
PHONE_400 = {"width": 400, "height": 844}


@pytest.fixture
def page(browser):
    """A page that records console errors and refuses (and records) any non-file request."""
    page = browser.new_page(viewport=DESKTOP)
    page.errors, page.external, page.dialogs = [], [], []
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            return r.continue_()
        page.external.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    yield page
    page.close()


def rows(page) -> list[str]:
    return page.locator("#leaderboard tbody tr:visible td:first-child").all_inner_texts()


def names(page) -> list[str]:
    """The innovation titles of the rows shown."""
    return page.locator("#leaderboard tbody tr:visible td:first-child a").all_inner_texts()


def column(page, index: int) -> list[str]:
    return page.locator(f"#leaderboard tbody tr td:nth-child({index})").all_inner_texts()


def screenshots(page, name: str) -> None:
    """``name``-{light,dark}-{desktop,phone}.png in test-artifacts/; on a phone nothing may
    stick out sideways (wide tables scroll inside their own box)."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=ARTIFACTS / f"{name}-{scheme}-{width}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than a {width} screen"
    page.set_viewport_size(DESKTOP)
    page.emulate_media(color_scheme="light")


def plot_ink(page) -> str:
    """The colour the first plot's axes are drawn in (they use currentColor)."""
    return page.eval_on_selector("svg.plot", "s => getComputedStyle(s).color")


def test_index_loads_without_errors_or_external_requests(page, built_site):
    out, _ = built_site
    page.goto((out / "index.html").as_uri())
    assert page.title() == "cegbench leaderboard"
    assert page.locator("#leaderboard tbody tr").count() == 7
    # the stylesheet was applied (hashed file found from file://)
    assert page.eval_on_selector(".badge", "b => getComputedStyle(b).borderRadius") != "0px"
    assert page.locator("svg.plot").count() == 6  # a small multiple per verdict
    # the charts' axes follow the colour scheme
    page.emulate_media(color_scheme="light")
    light = plot_ink(page)
    page.emulate_media(color_scheme="dark")
    assert plot_ink(page) != light
    assert page.errors == [] and page.external == []
    screenshots(page, "index")


def test_clicking_headers_reorders_rows(page, built_site):
    page.goto((built_site[0] / "index.html").as_uri())
    before = rows(page)
    page.click("#leaderboard th:has-text('Runs')")
    runs = [int(r.split()[0]) for r in column(page, 7)[:-1]]
    assert runs == sorted(runs)
    assert rows(page) != before
    # CEG sorts numerically, the row without a result stays last both ways
    ceg = "#leaderboard th:has-text('CEG at'), #leaderboard th.col-ceg"
    for direction in ("ascending", "descending"):
        page.click(ceg)
        values = column(page, 2)
        numbers = [float(v.split("×")[0]) for v in values[:-1]]
        assert numbers == sorted(numbers, reverse=direction == "descending")
        assert values[-1] == "—"
        assert page.get_attribute("#leaderboard th.col-ceg", "aria-sort") == direction
    page.click("#leaderboard th:has-text('Innovation')")
    assert rows(page)[0].startswith("2017") or rows(page)[0].startswith("GeLU")
    assert page.errors == []


def test_typing_in_the_filter_hides_rows(page, built_site):
    page.goto((built_site[0] / "index.html").as_uri())
    box = page.locator("input[data-filter='leaderboard']")
    box.fill("lstm")
    assert names(page) == ["LSTM → Transformer"]
    assert page.inner_text("output[data-count='leaderboard']") == "1 of 7 shown"
    box.fill("swiglu small")
    assert names(page) == ["GeLU → SwiGLU"]
    box.fill("transformer-2017-to-modern")  # the name (slug) is searched too
    assert names(page) == ["Transformer 2017 → modern"]
    box.fill("swig")  # a word's start
    assert names(page) == ["GeLU → SwiGLU", "GeLU → SwiGLU"]
    box.fill("no such thing")
    assert names(page) == []
    box.fill("")
    assert len(names(page)) == 7
    assert page.errors == []


def test_searching_agrees_does_not_find_disagrees(page, built_site):
    page.goto((built_site[0] / "index.html").as_uri())
    box = page.locator("input[data-filter='leaderboard']")
    box.fill("agrees")
    assert names(page) == ["GeLU → SwiGLU", "GeLU → SwiGLU"]  # both tiers agree with the finding
    box.fill("disagrees")
    assert names(page) == ["LSTM → Transformer"]
    box.fill("different scale")
    assert names(page) == ["Multi-head → multi-query attention"]
    assert page.errors == []


def test_choosing_filters_hides_rows(page, built_site):
    page.goto((built_site[0] / "index.html").as_uri())
    page.select_option("select[data-facet='tier']", "small")
    assert names(page) == ["GeLU → SwiGLU"]
    page.select_option("select[data-facet='tier']", "smoke")
    assert len(names(page)) == 5
    page.select_option("select[data-facet='label']", "scale-dependent")
    assert names(page) == ["LSTM → Transformer"]
    assert page.inner_text("output[data-count='leaderboard']") == "1 of 7 shown"
    page.locator("input[data-filter='leaderboard']").fill("swiglu")  # filters and search combine
    assert names(page) == []
    page.locator("input[data-filter='leaderboard']").fill("")
    page.select_option("select[data-facet='label']", "")
    page.select_option("select[data-facet='standing']", "withheld")
    assert names(page) == ["Multi-head → grouped-query attention"]
    page.select_option("select[data-facet='tier']", "")
    page.select_option("select[data-facet='standing']", "decided")
    assert names(page) == ["GeLU → SwiGLU"]  # small v2; on smoke it is borderline
    page.select_option("select[data-facet='standing']", "no results yet")
    assert names(page) == ["LayerNorm → RMSNorm"]
    page.select_option("select[data-facet='standing']", "")
    page.select_option("select[data-facet='category']", "architecture")
    assert len(names(page)) == 7
    assert page.errors == []


def test_every_relative_link_resolves(page, built_site):
    out, _ = built_site
    to_visit, seen, downloaded = [(out / "index.html").as_uri()], set(), set()
    while to_visit:
        url = to_visit.pop()
        if url in seen:
            continue
        seen.add(url)
        page.goto(url)
        assert page.errors == [], url
        hrefs = page.eval_on_selector_all(
            "a[href]", "as => as.map(a => [a.getAttribute('href'), a.href])")
        sources = page.eval_on_selector_all(
            "[src]", "es => es.map(e => [e.getAttribute('src'), e.src])")
        for raw, absolute in hrefs + sources:
            if urlsplit(raw).scheme or raw.startswith("#"):
                continue  # the paper link, or an anchor in this page
            target = Path(url2pathname(urlsplit(absolute).path))
            assert target.is_file() and target.stat().st_size > 0, f"{url}: {raw} → {target} is missing"
            if "/downloads/" in absolute:
                downloaded.add(target.name)
            elif target.suffix == ".html":
                to_visit.append(absolute.split("#")[0])
    assert len(seen) == 8  # the index, the About page and the six innovation pages
    assert downloaded == {"cegbench.db", "leaderboard.json", "leaderboard.csv", "runs.json", "runs.csv"}
    assert page.external == []


def test_innovation_page_renders_plots_and_escapes_text(page, built_site):
    out, _ = built_site
    page.goto((out / "index.html").as_uri())
    page.click("text=LSTM → Transformer")
    assert page.url.endswith("innovation/lstm-to-transformer.html")
    assert page.locator("svg[role=img]").count() == 3
    assert page.locator("svg[role=img]").first.bounding_box()["width"] > 200
    assert "<script>alert(1)</script>" in page.inner_text(".description")
    assert page.dialogs == []  # the injected alert() calls never ran
    page.click("details.runs summary")  # the runs are folded
    assert page.locator("tr.status-failed").count() == 1
    runs = "#runs-tier-lstm-to-transformer-smoke-1"
    page.locator(f"{runs} th:has-text('Final loss')").click()
    losses = page.locator(f"{runs} tbody tr td:nth-child(6)").all_inner_texts()
    assert [float(x) for x in losses if x != "—"] == sorted(float(x) for x in losses if x != "—")
    assert page.errors == [] and page.external == []
    screenshots(page, "innovation")


# -------------------------------------------------------------------------
# what a reader needs on every screen (issue 28)


def pages(out: Path) -> list[Path]:
    return [out / "index.html", out / "about.html", *sorted((out / "innovation").glob("*.html"))]


@pytest.mark.parametrize("viewport", [WIDE, PHONE_400], ids=["1400px", "400px"])
def test_no_page_is_wider_than_the_screen(page, built_site, viewport):
    page.set_viewport_size(viewport)
    for path in pages(built_site[0]):
        page.goto(path.as_uri())
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path.name} is {overflow}px wider than {viewport['width']}px"


def test_the_leaderboard_needs_no_sideways_scroll_at_1280px(page, built_site):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto((built_site[0] / "index.html").as_uri())
    table = page.locator("#leaderboard").bounding_box()
    assert table["x"] >= 0 and table["x"] + table["width"] <= 1280


@pytest.mark.parametrize("viewport", [WIDE, PHONE_400], ids=["1400px", "400px"])
def test_the_first_rows_headline_ceg_label_and_name_are_on_the_first_screen(page, built_site, viewport):
    page.set_viewport_size(viewport)
    page.goto((built_site[0] / "index.html").as_uri())
    first = page.locator("#leaderboard tbody tr").first
    for cell in ("td.col-name a", "strong.headline", "td.col-label .badge"):
        box = first.locator(cell).first.bounding_box()
        assert box and box["y"] + box["height"] <= viewport["height"], f"{cell} is below the first screen"
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], f"{cell} is off the side"
    assert first.locator("strong.headline").inner_text() == "1.47×"


@pytest.mark.parametrize("viewport", [WIDE, PHONE_400], ids=["1400px", "400px"])
def test_every_qualified_label_is_marked_on_the_index(page, built_site, viewport):
    page.set_viewport_size(viewport)
    page.goto((built_site[0] / "index.html").as_uri())
    marked = {"withheld": ".badge-withheld", "borderline": ".marker-borderline",
              "rests on one budget": ".marker-rests-on"}
    for standing, selector in marked.items():
        found = page.locator(f"#leaderboard tr[data-standing='{standing}']")
        assert found.count() >= 1, standing
        for i in range(found.count()):
            assert found.nth(i).locator(selector).is_visible(), f"a {standing} row has no visible marker"


@pytest.mark.parametrize("viewport", [WIDE, PHONE_400], ids=["1400px", "400px"])
def test_plot_text_is_at_least_11px_where_it_is_drawn(page, built_site, viewport):
    page.set_viewport_size(viewport)
    for path in (built_site[0] / "index.html", built_site[0] / "innovation" / "lstm-to-transformer.html"):
        page.goto(path.as_uri())
        sizes = page.evaluate("""() => Array.from(document.querySelectorAll('svg.plot')).flatMap(svg => {
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return Array.from(svg.querySelectorAll('text')).map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
        })""")
        assert sizes and min(sizes) >= 11, f"{path.name}: plot text {min(sizes):.1f}px at {viewport['width']}px"


def test_no_page_shows_a_python_repr(page, built_site):
    from test_site import PYTHON_REPR

    for path in pages(built_site[0]):
        page.goto(path.as_uri())
        text = page.evaluate("""() => { const body = document.body.cloneNode(true);
            body.querySelectorAll('script, svg, code, pre').forEach(e => e.remove());
            return body.textContent; }""")
        found = PYTHON_REPR.search(text)
        assert not found, f"{path.name}: {found.group(0)!r}"


@pytest.fixture(scope="module")
def published_site(tmp_path_factory):
    """The site built from the committed export, as the Pages workflow builds it (about 75 s)."""
    import shutil
    import subprocess
    import sys

    export = Path(__file__).resolve().parents[1] / "leaderboard" / "runs.jsonl.gz"
    if not export.exists():
        pytest.skip("no committed export")
    out = tmp_path_factory.mktemp("published") / "_site"
    cegbench = shutil.which("cegbench", path=str(Path(sys.executable).parent)) or "cegbench"
    done = subprocess.run([cegbench, "site", "--from", str(export), "--out", str(out)],
                          capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.mark.slow
@pytest.mark.parametrize("viewport", [WIDE, PHONE_400], ids=["1400px", "400px"])
def test_the_published_site_reads_on_every_screen(page, published_site, viewport):
    """What issue 28 found on the published cpu v3 site, checked on it."""
    from test_site import PYTHON_REPR

    page.set_viewport_size(viewport)
    page.goto((published_site / "index.html").as_uri())
    first = page.locator("#leaderboard tbody tr").first
    box = first.locator("strong.headline").bounding_box()
    assert box["y"] + box["height"] <= viewport["height"] and box["x"] + box["width"] <= viewport["width"]
    assert first.get_attribute("data-standing") == "decided"  # never a withheld label first
    for standing, selector in (("withheld", ".badge-withheld"), ("borderline", ".marker-borderline")):
        found = page.locator(f"#leaderboard tr[data-standing='{standing}']")
        assert found.count() >= 1
        assert all(found.nth(i).locator(selector).is_visible() for i in range(found.count()))
    for path in pages(published_site):
        page.goto(path.as_uri())
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path.name} is {overflow}px wider than {viewport['width']}px"
        text = page.evaluate("""() => { const body = document.body.cloneNode(true);
            body.querySelectorAll('script, svg, code, pre').forEach(e => e.remove());
            return body.textContent; }""")
        assert not PYTHON_REPR.search(text), path.name
