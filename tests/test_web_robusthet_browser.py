"""The robustness page and sections in Debian's Chromium: visible, and axe-clean (WCAG 2.1 A/AA)."""

from __future__ import annotations

import pytest

from tests import test_web_browser as wb
from tests.web_helpers import live_server
from utanforskap.web import assets

pytestmark = pytest.mark.browser
chromium_browser, tab = wb.chromium_browser, wb.tab  # the browser tests' own fixtures
WCAG_TAGS, _wait_for_map = wb.WCAG_TAGS, wb._wait_for_map


@pytest.fixture(scope="module")
def server():
    return live_server("paket")


def _uncertain_area(server) -> dict:
    from utanforskap.robustness.overview import overview

    return overview(server.data.result).closest_to_line(1)[0]


def _axe(tab, server) -> list[str]:
    wb._add_axe(tab, server, assets.axe_script())  # from the page's origin: the CSP forbids inline script
    result = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    assert len(result["passes"]) > 10
    return [f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:5]}" for v in result["violations"]]


def test_robustness_page_from_the_menu_is_axe_clean(tab, server):
    tab.goto(server.url + "/")
    tab.get_by_role("link", name="Robusthet", exact=True).click()
    tab.wait_for_url("**/robusthet")
    assert tab.get_by_role("heading", name="Vilka parametrar flyttar listan mest").is_visible()
    assert tab.locator("table").count() == 3
    assert _axe(tab, server) == []


def test_area_page_says_how_sure_and_is_axe_clean(tab, server):
    a = _uncertain_area(server)
    tab.goto(f"{server.url}/omrade/{a['regso_kod']}")
    if tab.locator("[data-karta]").count():
        _wait_for_map(tab)
    section = tab.get_by_role("heading", name="Hur säker är listningen")
    assert section.is_visible()
    assert "Osäker" in tab.locator("strong.etikett").inner_text()
    assert _axe(tab, server) == []


def test_kommun_page_marks_uncertain_areas_and_is_axe_clean(tab, server):
    a = _uncertain_area(server)
    tab.goto(f"{server.url}/kommun/{a['kommun_kod']}")
    if tab.locator("[data-karta]").count():
        _wait_for_map(tab)
    assert tab.locator("span.osaker").count() >= 1
    assert _axe(tab, server) == []
