"""Uppföljning pages in Debian's Chromium: the year form works, and axe finds no WCAG 2.1 A/AA violations."""

from __future__ import annotations

import pytest
from web_helpers import add_axe

from tests.test_web_browser import WCAG_TAGS, chromium_browser, server, tab  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_choosing_years_shows_the_changes(tab, server):  # noqa: F811
    tab.goto(server.url + "/uppfoljning")
    tab.select_option("#fran", "2022")
    tab.select_option("#till", "2023")
    tab.click("button[type=submit]")
    assert "fran=2022" in tab.url and "till=2023" in tab.url
    assert tab.locator("#typ-rubrik").inner_text().startswith("Områdestyp 1 2022–2023")
    tab.click("text=Hjällbo östra")
    assert tab.locator("#serie-rubrik").inner_text() == "Över åren"


@pytest.mark.parametrize("path", ["/uppfoljning", "/uppfoljning?fran=2020&till=2023", "/uppfoljning?fran=2023&till=2020", "/omrade/1480R050"])
def test_axe_finds_no_violations_on_followup_pages(tab, server, path):  # noqa: F811
    tab.goto(server.url + path)
    add_axe(tab)
    result = tab.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    violations = [f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:5]}" for v in result["violations"]]
    assert violations == [], "\n".join(violations)
    assert len(result["passes"]) > 10
