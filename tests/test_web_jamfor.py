"""The compare view (/jamfor) and the ranking within a kommun (results.ranking, kommun page),
over HTTP and in Chromium (axe clean at desktop and 390 px width, and in print media)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import polars as pl
import pytest

from tests.web_helpers import add_axe, live_server
from utanforskap.results import ranking

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def client():
    with httpx.Client(base_url=live_server("paket").url, timeout=60) as c:
        yield c


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_ranking_puts_the_area_furthest_on_the_flags_side_first(result):
    ranks = ranking.within_kommun(result)
    checked = 0
    for f in result.factors:
        if not f.measured or ranking.rank_column(f.varde) not in ranks.columns:
            continue
        both = result.areas.select("regso_kod", "kommun_kod", f.varde).join(ranks, on=["regso_kod", "kommun_kod"])
        botkyrka = both.filter(pl.col("kommun_kod") == "0127").drop_nulls(f.varde)
        worst = botkyrka[f.varde].max() if f.operator in (">=", ">") else botkyrka[f.varde].min()
        first = botkyrka.filter(pl.col(ranking.rank_column(f.varde)) == 1)
        assert first.height >= 1 and (first[f.varde] == worst).all(), f.varde
        assert (botkyrka[ranking.count_column(f.varde)] == botkyrka.height).all()
        assert botkyrka[ranking.rank_column(f.varde)].max() <= botkyrka.height
        checked += 1
    assert checked >= 3
    # No value, no rank.
    some = result.factors[0].varde
    assert ranks.filter(result.areas[some].is_null())[ranking.rank_column(some)].null_count() == result.areas[some].null_count()


def test_kommun_page_shows_each_areas_rank_and_links_to_the_compare_view(client):
    html = client.get("/kommun/0127").text
    assert "Rangordning inom kommunen" in html
    table = html[html.index('id="rang-rubrik"'):]
    table = table[: table.index("</table>")]
    n = html.count('href="/omrade/0127R') // 2  # each area is linked from both tables
    assert re.search(rf">1 av {n}<", table) and 'data-sortera="tal"' in table
    assert 'href="/jamfor?kod=0127&amp;kod=' in html


def test_compare_view_shows_the_chosen_areas_side_by_side(client, result):
    page = client.get("/omrade/0127R001").text
    link = re.search(r'href="(/jamfor\?[^"]+)"', page).group(1).replace("&amp;", "&")
    codes = re.findall(r"kod=([^&]+)", link)
    assert codes[0] == "0127R001" and 2 <= len(codes) <= 4 and all(c.startswith("0127R") for c in codes)
    r = client.get(link)
    assert r.status_code == 200
    body = text(r.text)
    names = result.areas.filter(pl.col("regso_kod").is_in(codes))["regso_namn"].to_list()
    assert all(name in body for name in names) and "Riket" in body
    # The employment row carries one value per area plus riket, in Swedish percent.
    row = re.search(r"<tr><th scope=\"row\">Svag arbetsmarknadsetablering .*?</tr>", r.text, re.S)
    assert row is not None and len(re.findall(r"\d+,\d\u00a0%", row.group(0))) == len(codes) + 1


def test_compare_view_takes_kommuner_without_leading_zeros_and_refuses_bad_input(client):
    r = client.get("/jamfor?kod=127&kod=180")
    assert r.status_code == 200 and "Botkyrka" in r.text and "Stockholm" in r.text
    bad = client.get("/jamfor?kod=0127&kod=xyz")
    assert bad.status_code == 422 and "Okänd kod: xyz" in bad.text
    many = client.get("/jamfor?" + "&".join(f"kod=01{i:02d}" for i in (14, 15, 17, 20, 23)))
    assert many.status_code == 422 and "Högst 4" in many.text
    empty = client.get("/jamfor")
    assert empty.status_code == 200 and "<form" in empty.text and "<table" not in empty.text


@pytest.mark.browser
@pytest.mark.slow
def test_compare_and_kommun_pages_are_axe_clean_at_desktop_phone_and_print(tmp_path):
    import os

    if os.environ.get("UTANFORSKAP_UTAN_WEBBLASARE") == "1":
        pytest.skip("UTANFORSKAP_UTAN_WEBBLASARE=1")
    from playwright.sync_api import sync_playwright

    url = live_server("paket").url
    pages = ["/jamfor?kod=0127R001&kod=0127R002&kod=0180R024", "/jamfor?kod=0127&kod=0180", "/jamfor?kod=0127&kod=x", "/kommun/0127"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            for width, height in ((1280, 900), (390, 844)):
                tab = b.new_context(viewport={"width": width, "height": height}, locale="sv-SE").new_page()
                errors: list[str] = []
                tab.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                for path in pages:
                    tab.goto(url + path)
                    for media in ("screen", "print"):
                        tab.emulate_media(media=media)
                        add_axe(tab)
                        found = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
                        assert found["violations"] == [], (path, width, media, [(v["id"], v["nodes"][0]["html"][:120]) for v in found["violations"]])
                    tab.emulate_media(media="screen")
                    if path.startswith("/jamfor?kod=0127R"):
                        tab.screenshot(path=str(tmp_path / f"jamfor_{width}.png"), full_page=True)
                        if width == 390:  # the wide table scrolls inside its frame, with the hint shown
                            frame = tab.locator(".tabellram").first
                            assert frame.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX == 'auto'")
                            assert tab.is_visible(".rullhint")
                tab.emulate_media(media="print")
                tab.goto(url + pages[0])
                assert not tab.is_visible(".jamforform") and not tab.is_visible(".sidhuvud nav")
                assert tab.pdf(format="A4")[:5] == b"%PDF-"
                assert not errors, errors
                tab.context.close()
        finally:
            b.close()
    assert Path(tmp_path / "jamfor_1280.png").stat().st_size > 10_000
