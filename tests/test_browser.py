"""The leaderboard in headless Chromium, opened from file:// as a reader would.

Skipped when /usr/bin/chromium is missing, unless CEGBENCH_REQUIRE_BROWSER=1.
Screenshots land in test-artifacts/ at the repository root.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from site_fixtures import built_site  # noqa: F401 (fixture)

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


@pytest.fixture
def page(browser):
    """A page that records console errors and refuses (and records) any non-file request."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.errors, page.external = [], []
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
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


def test_index_loads_without_errors_or_external_requests(page, built_site):  # noqa: F811
    out, _ = built_site
    page.goto((out / "index.html").as_uri())
    assert page.title() == "cegbench leaderboard"
    assert page.locator("#leaderboard tbody tr").count() == 4
    # the stylesheet was applied (hashed file found from file://)
    assert page.eval_on_selector(".badge", "b => getComputedStyle(b).borderRadius") != "0px"
    assert page.errors == [] and page.external == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "index.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=ARTIFACTS / "index-dark.png", full_page=True)


def test_clicking_headers_reorders_rows(page, built_site):  # noqa: F811
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


def test_typing_in_the_filter_hides_rows(page, built_site):  # noqa: F811
    page.goto((built_site[0] / "index.html").as_uri())
    box = page.locator("input[data-filter='leaderboard']")
    box.fill("lstm")
    assert rows(page) == ["LSTM → Transformer"]
    assert page.inner_text("output[data-count='leaderboard']") == "1 of 4 shown"
    box.fill("swiglu small")
    assert rows(page) == ["GeLU → SwiGLU"]
    box.fill("no such thing")
    assert rows(page) == []
    box.fill("")
    assert len(rows(page)) == 4
    assert page.errors == []


def test_every_relative_link_resolves(page, built_site):  # noqa: F811
    out, _ = built_site
    to_visit, seen = [(out / "index.html").as_uri()], set()
    while to_visit:
        url = to_visit.pop()
        if url in seen:
            continue
        seen.add(url)
        page.goto(url)
        assert page.errors == [], url
        hrefs = page.eval_on_selector_all(
            "a[href]", "as => as.map(a => [a.getAttribute('href'), a.href])")
        for raw, absolute in hrefs:
            if urlsplit(raw).scheme or raw.startswith("#"):
                continue  # the paper link, or an anchor in this page
            target = Path(url2pathname(urlsplit(absolute).path))
            assert target.is_file(), f"{url}: {raw} → {target} is missing"
            to_visit.append(absolute.split("#")[0])
    assert len(seen) == 4  # the index and the three innovation pages
    assert page.external == []


def test_innovation_page_renders_plots_and_escapes_text(page, built_site):  # noqa: F811
    out, _ = built_site
    page.goto((out / "index.html").as_uri())
    page.click("text=LSTM → Transformer")
    assert page.url.endswith("innovation/lstm-to-transformer.html")
    assert page.locator("svg[role=img]").count() == 2
    assert page.locator("svg[role=img]").first.bounding_box()["width"] > 200
    assert "<script>alert(1)</script>" in page.inner_text(".description")
    assert page.locator("tr.status-failed").count() == 1
    page.locator("#runs-tier-lstm-to-transformer-smoke-1 th:has-text('Final loss')").click()
    assert page.errors == [] and page.external == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "innovation.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=ARTIFACTS / "innovation-dark.png", full_page=True)
