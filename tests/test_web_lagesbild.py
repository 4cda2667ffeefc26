"""The web says what the PDFs know (issue 15): per factor value, threshold, margin, flag
and why; Polisen's category and områdestyp; layer names that name the proxy; a visible
message for an unknown ?variabel=; an exact kommun name goes to the kommun; the people's
CSV on the kommun page. Plus a browser check (axe, mobile width, print media)."""

from __future__ import annotations

import re

import httpx
import pytest
from web_helpers import add_axe

from tests.web_helpers import live_server


@pytest.fixture(scope="module")
def client():
    with httpx.Client(base_url=live_server("paket").url, timeout=60) as c:
        yield c


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_area_page_shows_value_threshold_margin_flag_and_why(client):
    page = text(client.get("/omrade/0180R024").text)
    assert "Gräns" in page and "Marginal" in page and "Flagga och varför" in page
    assert re.search(r"\d+,\d\s%\s≤\s54,4\s%", page), page[:2000]  # employment against its threshold
    assert re.search(r"\d+,\d procentenheter (över|under) gränsen", page)
    assert "per 1\u00a0000 invånare" in page or "per 1 000 invånare" in page
    assert "Inte flaggad: värdet" in page or "Flaggad: värdet" in page


def test_area_page_shows_polisen_and_omradestyp(client):
    page = text(client.get("/omrade/0180R024").text)
    assert "Polisen" in page and "Polisens lista 2025" in page
    assert re.search(r"områdestyp [1-5]: [^()]+ \(Segregationsbarometern 2022\)", page)


def test_layer_names_name_the_proxy_and_no_double_brackets(client):
    start = client.get("/").text
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)', start)
    names = dict(options)
    assert "Bidragsberoende (kommunens värde)" not in start
    assert names["andel_lag_ekonomisk_standard"].startswith("Andel personer med låg ekonomisk standard")
    assert "ersättningsmått för bidragsberoende" in names["andel_lag_ekonomisk_standard"]
    assert "((" not in client.get("/kommun/0127").text and "(ersättningsmått (proxy))" not in client.get("/kommun/0127").text


def test_unknown_variable_gets_a_visible_message(client):
    html = client.get("/kommun/0127", params={"variabel": "finns_inte"}).text
    assert re.search(r'<p class="meddelande" role="alert">Det finns inget kartlager som heter &#39;finns_inte&#39;', html)
    assert 'class="meddelande"' not in client.get("/kommun/0127").text


def test_exact_kommun_name_goes_to_the_kommun(client):
    r = client.get("/sok", params={"q": "botkyrka"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/kommun/0127"
    r = client.get("/sok", params={"q": "Botk"}, follow_redirects=False)
    assert r.status_code == 200 and "/kommun/0127" in r.text


def test_kommun_csv_is_for_people_and_machine_csv_is_offered(client):
    page = client.get("/kommun/0127").text
    assert "/ladda-ner/kommun/0127/omraden_maskinlasbar.csv" in page
    body = client.get("/ladda-ner/kommun/0127/omraden.csv").content
    assert body.startswith(b"\xef\xbb\xbf") and b";" in body.splitlines()[0]
    machine = client.get("/ladda-ner/kommun/0127/omraden_maskinlasbar.csv").content
    assert not machine.startswith(b"\xef\xbb\xbf") and machine.splitlines()[0].count(b",") > 10


@pytest.mark.browser
@pytest.mark.slow
def test_area_page_on_a_phone_and_in_print_is_axe_clean_with_a_scroll_hint():
    import os
    from pathlib import Path


    if os.environ.get("UTANFORSKAP_UTAN_WEBBLASARE") == "1":
        pytest.skip("UTANFORSKAP_UTAN_WEBBLASARE=1")
    from playwright.sync_api import sync_playwright

    url = live_server("paket").url
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            ctx = b.new_context(viewport={"width": 390, "height": 844}, locale="sv-SE")
            tab = ctx.new_page()
            tab.goto(url + "/omrade/0180R024")
            assert tab.is_visible(".rullhint")
            frame = tab.locator(".tabellram").first
            assert frame.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX == 'auto'")
            add_axe(tab)
            result = tab.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa']}})")
            assert result["violations"] == [], [v["id"] for v in result["violations"]]
            tab.emulate_media(media="print")
            assert not tab.is_visible(".sidhuvud nav") and not tab.is_visible(".rullhint")
            pdf = tab.pdf(format="A4")
            assert pdf[:5] == b"%PDF-"
            Path("/tmp/omrade_print.pdf").write_bytes(pdf)
        finally:
            b.close()


def test_kommun_page_area_table_has_values_with_units_and_sortable_headers(client):
    html = client.get("/kommun/0180").text
    table = html[html.index('<table class="sorterbar">'): html.index("</table>")]
    assert table.count('data-sortera="tal"') >= 5 and 'data-sortera="text"' in table
    assert re.search(r'data-varde="0\.\d+">\d+,\d\u00a0%', table)  # raw value to sort by, Swedish text to read
    assert "◆" in table and '<span class="sr">(flaggad)</span>' in table
    assert '<script src="/static/tabell.js" defer></script>' in html


@pytest.mark.browser
@pytest.mark.slow
def test_kommun_area_table_sorts_by_a_value_and_stays_axe_clean():
    import os


    if os.environ.get("UTANFORSKAP_UTAN_WEBBLASARE") == "1":
        pytest.skip("UTANFORSKAP_UTAN_WEBBLASARE=1")
    from playwright.sync_api import sync_playwright

    url = live_server("paket").url
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            tab = b.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE").new_page()
            errors = []
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(url + "/kommun/0127")
            header = tab.locator("table.sorterbar thead th").nth(1)  # Invånare
            header.locator("button").click()
            assert header.get_attribute("aria-sort") == "ascending"
            values = [int(v) for v in tab.eval_on_selector_all("[aria-labelledby=omraden-rubrik] table tbody tr td:nth-of-type(1)", "els => els.map(e => e.dataset.varde)")]
            assert values == sorted(values) and len(values) > 5
            header.locator("button").click()
            assert header.get_attribute("aria-sort") == "descending"
            add_axe(tab)
            result = tab.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa']}})")
            assert result["violations"] == [], [(v["id"], v["nodes"][0]["html"][:120]) for v in result["violations"]]
            tab.goto(url + "/lan/01")  # the län page, linked from the breadcrumb
            add_axe(tab)
            result = tab.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa']}})")
            assert result["violations"] == [], [(v["id"], v["nodes"][0]["html"][:120]) for v in result["violations"]]
            assert not errors
        finally:
            b.close()


def test_lan_page_and_breadcrumb_links(client):
    page = client.get("/lan/01")
    assert page.status_code == 200 and "<h1>Stockholms län" in page.text
    assert '<a href="/kommun/0127">Botkyrka</a>' in page.text and 'class="sorterbar"' in page.text
    assert client.get("/lan/1").status_code == 200  # the leading zero restored
    missing = client.get("/lan/99")
    assert missing.status_code == 404 and "Det finns inget län med koden 99" in missing.text
    assert '<a href="/lan/01">Stockholms län</a>' in client.get("/kommun/0127").text
    assert '<a href="/lan/01">Stockholms län</a>' in client.get("/omrade/0180R024").text


def test_pages_name_the_maps_year(client):
    """The area and kommun pages say which year the list is for (the map's `year`)."""
    assert re.search(r"området är listat 2022\.", client.get("/omrade/0180R036").text)
    assert re.search(r"med stor sammanvägd problematik 2022", client.get("/kommun/0180").text)
