"""Area polygons on a kommun page outside Uppsala län, after `hamta --geometri` from a local WFS.

The local WFS (tests/fakewfs.py) answers as SCB's GeoServer does; the command writes its
layers into a temporary store; the WFS is then shut down and a web application started on
that store shows Botkyrka's RegSO, which no bundled file holds. Checked by screenshot pixels.
"""

from __future__ import annotations

import pytest
import test_web_browser as wb
from cli_helpers import cli
from fakewfs import serve_wfs
from web_helpers import live_server, serve

from utanforskap.web import create_app
from utanforskap.web.maplayers import NONE_COLOUR, class_legend

pytestmark = [pytest.mark.browser, pytest.mark.slow]
chromium_browser, tab = wb.chromium_browser, wb.tab  # the browser tests' own Chromium fixtures

KOMMUN = "0127"  # Botkyrka, Stockholms län


def _shot(tab, url: str, path) -> object:
    tab.goto(url)
    wb._wait_for_map(tab)
    return wb._pixels(tab.locator("#karta").screenshot(path=str(path)))


def test_kommun_page_shows_area_polygons_fetched_from_the_local_wfs(tab, tmp_path, monkeypatch):
    paket = live_server("paket")  # the bundled data, no fetched boundaries: Botkyrka is one outline
    before = _shot(tab, f"{paket.url}/kommun/{KOMMUN}", tmp_path / "utan_granser.png")
    assert "RegSO-gränser saknas för kommunen" in tab.inner_text(".kartfigur")

    with serve_wfs((KOMMUN,)) as wfs:
        r = cli("hamta", "--geometri", "--lager", tmp_path / "lager", env={"UTANFORSKAP_GEOMETRI_WFS": wfs.url})
        assert r.returncode == 0, r.stdout + r.stderr
        assert any(q.get("typenames") == "stat:RegSO_2020" for q in wfs.requests)
    # The WFS is gone; the pages must draw what the command stored.
    monkeypatch.setenv("UTANFORSKAP_STORE_DIR", str(tmp_path / "lager"))
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "")
    live = serve(create_app(paket.data), "geometri")
    after = _shot(tab, f"{live.url}/kommun/{KOMMUN}", tmp_path / "med_granser.png")
    caption = tab.inner_text(".kartfigur")
    assert "RegSO-gränser: SCB:s öppna geodata, lager RegSO_2020 (CC0), hämtade" in caption
    assert "saknas" not in caption

    # Pixels: the kommun is now filled area by area. Areas that are not listed carry the
    # class legend's "none" colour, listed ones their class colour; before, the kommun was
    # one polygon in the kommun layer's colour.
    listed = [c.farg for c in class_legend(paket.data).klasser if c.farg.lower() != NONE_COLOUR]
    none_before, none_after = wb._count_near(before, wb._hex(NONE_COLOUR), tol=4), wb._count_near(after, wb._hex(NONE_COLOUR), tol=4)
    class_after = sum(wb._count_near(after, wb._hex(c), tol=6) for c in listed)
    assert none_after > 20_000 and none_after > 20 * max(none_before, 1), (none_before, none_after, tmp_path)
    assert class_after > 500, (class_after, tmp_path)
    assert wb._share_not_background(after) > 0.3
