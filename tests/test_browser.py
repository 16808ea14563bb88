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
    assert page.locator("#leaderboard tbody tr").count() == 5
    # the stylesheet was applied (hashed file found from file://)
    assert page.eval_on_selector(".badge", "b => getComputedStyle(b).borderRadius") != "0px"
    assert page.locator("svg.plot").count() == 2  # the overview charts
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
    page.click("#leaderboard th:has-text('Year')")
    years = [int(y) for y in column(page, 3)]
    assert years == sorted(years)
    assert rows(page) != before
    page.click("#leaderboard th:has-text('Year')")
    assert [int(y) for y in column(page, 3)] == sorted(years, reverse=True)
    assert page.get_attribute("#leaderboard th:has-text('Year')", "aria-sort") == "descending"
    # CEG sorts numerically, the row without a result stays last both ways
    ceg = "#leaderboard th:has-text('CEG')"
    for direction in ("ascending", "descending"):
        page.click(ceg)
        values = column(page, 5)
        numbers = [float(v.split("×")[0]) for v in values[:-1]]
        assert numbers == sorted(numbers, reverse=direction == "descending")
        assert values[-1] == "—"
    page.click("#leaderboard th:has-text('Innovation')")
    assert rows(page)[0] == "GeLU → SwiGLU"
    assert page.errors == []


def test_typing_in_the_filter_hides_rows(page, built_site):
    page.goto((built_site[0] / "index.html").as_uri())
    box = page.locator("input[data-filter='leaderboard']")
    box.fill("lstm")
    assert rows(page) == ["LSTM → Transformer"]
    assert page.inner_text("output[data-count='leaderboard']") == "1 of 5 shown"
    box.fill("swiglu small")
    assert rows(page) == ["GeLU → SwiGLU"]
    box.fill("transformer-2017-to-modern")  # the name (slug) is searched too
    assert rows(page) == ["Transformer 2017 → modern"]
    box.fill("no such thing")
    assert rows(page) == []
    box.fill("")
    assert len(rows(page)) == 5
    assert page.errors == []


def test_choosing_filters_hides_rows(page, built_site):
    page.goto((built_site[0] / "index.html").as_uri())
    page.select_option("select[data-facet='tier']", "small")
    assert rows(page) == ["GeLU → SwiGLU"]
    page.select_option("select[data-facet='tier']", "smoke")
    assert len(rows(page)) == 3
    page.select_option("select[data-facet='label']", "scale-dependent")
    assert rows(page) == ["LSTM → Transformer"]
    assert page.inner_text("output[data-count='leaderboard']") == "1 of 5 shown"
    page.locator("input[data-filter='leaderboard']").fill("swiglu")  # filters and search combine
    assert rows(page) == []
    page.locator("input[data-filter='leaderboard']").fill("")
    page.select_option("select[data-facet='tier']", "")
    page.select_option("select[data-facet='label']", "no results yet")
    assert rows(page) == ["LayerNorm → RMSNorm"]
    page.select_option("select[data-facet='label']", "")
    page.select_option("select[data-facet='category']", "architecture")
    assert len(rows(page)) == 5
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
    assert len(seen) == 5  # the index and the four innovation pages
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
    assert page.locator("tr.status-failed").count() == 1
    runs = "#runs-tier-lstm-to-transformer-smoke-1"
    page.locator(f"{runs} th:has-text('Final loss')").click()
    losses = page.locator(f"{runs} tbody tr td:nth-child(6)").all_inner_texts()
    assert [float(x) for x in losses if x != "—"] == sorted(float(x) for x in losses if x != "—")
    assert page.errors == [] and page.external == []
    screenshots(page, "innovation")
