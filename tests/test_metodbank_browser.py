"""The metodbank's pages and forms in Debian's Chromium (Playwright): a reviewer logs in,
registers a measure through the form (first with errors, then right), and axe finds no
WCAG 2.1 A/AA violations on the pages, the form with its error messages included."""

from __future__ import annotations

import uuid

import pytest
import test_web_browser as wb
from metodbank_helpers import live_server
from web_helpers import add_axe

from utanforskap.metodbank import accounts
from utanforskap.web import assets

pytestmark = pytest.mark.browser

PASSWORD = "ett-langt-losenord"
chromium_browser, WCAG_TAGS = wb.chromium_browser, wb.WCAG_TAGS  # the browser tests' own Chromium fixture


@pytest.fixture(scope="module")
def server():
    return live_server("sqlite")


def axe_clean(page) -> None:
    axe = assets.axe_script()
    assert axe.is_file(), f"{axe} saknas: kör npm ci i {assets.FRONTEND_DIR}"
    add_axe(page)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    violations = [f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:5]}" for v in result["violations"]]
    assert violations == [], f"{page.url}\n" + "\n".join(violations)
    assert len(result["passes"]) > 10


@pytest.mark.slow
def test_reviewer_registers_a_measure_and_pages_are_accessible(chromium_browser, server):
    url, db = server
    name = f"gr{uuid.uuid4().hex[:8]}"
    accounts.create_user(db, name, "granskare", None, PASSWORD)
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for path in ("/metodbank", "/metodbank/karta", "/metodbank/karta?lan=01", "/metodbank/kommun/0180", "/metodbank/evidensregler", "/metodbank/logga-in"):
        page.goto(url + path)
        axe_clean(page)
    page.fill("#l-namn", name)
    page.fill("#l-losenord", PASSWORD)
    page.click("button:has-text('Logga in')")
    page.wait_for_url(url + "/metodbank")
    assert name in page.text_content(".mb-inloggad")
    page.goto(url + "/metodbank/ny")
    axe_clean(page)
    page.fill("#i-namn", "Språkstöd i förskolan")
    page.fill("#i-kommuner", "0180")
    page.fill("#i-kostnad_kr", "-10")
    page.click("button:has-text('Spara utkastet')")
    assert page.locator("#felsammanfattning").is_visible()
    assert "Kostnad (kr): måste vara minst 0" in page.text_content("#felsammanfattning")
    assert page.get_attribute("#i-kostnad_kr", "aria-invalid") == "true"
    axe_clean(page)  # the form with its error messages
    page.fill("#i-kostnad_kr", "250000")
    page.check("input[name=sektorer][value=forskola]")
    page.check("input[name=problem][value=skolresultat]")
    page.click("button:has-text('Spara utkastet')")
    page.wait_for_url(url + "/metodbank/insats/*")
    assert page.text_content("h1").strip() == "Språkstöd i förskolan"
    axe_clean(page)
    page.goto(url + "/metodbank/granskning")
    axe_clean(page)
    context.close()
    assert not errors


@pytest.mark.slow
def test_reporting_round_pages_are_accessible(chromium_browser, server):
    """A reviewer opens a round through its form; an editor answers through theirs (first
    submitting too early, then saving); axe finds nothing on any of the pages."""
    url, db = server
    reviewer, editor = f"gr{uuid.uuid4().hex[:8]}", f"red{uuid.uuid4().hex[:8]}"
    accounts.create_user(db, reviewer, "granskare", None, PASSWORD)
    accounts.create_user(db, editor, "redaktor", "0180", PASSWORD)
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()

    def login(name: str) -> None:
        page.context.clear_cookies()
        page.goto(url + "/metodbank/logga-in")
        page.fill("#l-namn", name)
        page.fill("#l-losenord", PASSWORD)
        page.click("button:has-text('Logga in')")
        page.wait_for_url(url + "/metodbank")

    login(reviewer)
    page.goto(url + "/metodbank/omgangar")
    axe_clean(page)
    page.fill("#o-namn", f"Lägesbild {uuid.uuid4().hex[:6]}")
    page.fill("#o-fran", "2026-01-01")
    page.fill("#o-till", "2026-12-31")
    page.fill("#o-kommuner", "0180 1480")
    page.click("button:has-text('Öppna omgången')")
    page.wait_for_url(url + "/metodbank/omgangar/*")
    assert "2 kommuner har inte skickat in" in page.text_content("main")
    axe_clean(page)
    round_url = page.url
    login(editor)
    page.goto(round_url)
    page.wait_for_url(round_url + "/kommun/0180")
    axe_clean(page)
    page.select_option("#f-strategi", "ja")
    page.click("button:has-text('Skicka in')")
    assert "svar krävs" in page.text_content("[role=alert]")
    axe_clean(page)  # the form with its error message
    page.fill("#f-samordnare", "Kommunledningskontoret")
    page.click("button:has-text('Spara')")
    page.wait_for_url(round_url + "/kommun/0180")
    assert "Påbörjad" in page.text_content("main")
    context.close()
