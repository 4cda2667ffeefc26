"""The home map in Chromium: it opens on Götaland and Svealand so the south is legible, a
button shows all of Sweden, and the kommun under the pointer is outlined (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
import test_web_browser as wb
from web_helpers import live_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
chromium_browser, tab = wb.chromium_browser, wb.tab  # the browser tests' own Chromium fixtures


def _map(tab, path):
    shot = tab.locator("#karta").screenshot(path=str(path))
    return wb._pixels(shot)


def test_home_map_opens_on_the_south_and_outlines_the_kommun_under_the_pointer(tab, tmp_path):
    server = live_server("paket")
    tab.goto(server.url + "/")
    wb._wait_for_map(tab)
    start = _map(tab, tmp_path / "start.png")
    # The south fills the box's height; all of Sweden, tall and narrow, leaves more sea.
    assert wb._share_not_background(start) > 0.28, tmp_path
    assert "Götaland och Svealand" in tab.inner_text(".kartfigur figcaption")

    # The pointer over the map's centre outlines that kommun in black and names it.
    box = tab.locator("#karta").bounding_box()
    x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.55
    tab.mouse.move(x - 4, y)
    tab.mouse.move(x, y, steps=3)
    tab.wait_for_function("document.querySelector('#karta').dataset.markerad", timeout=10_000)
    code = tab.get_attribute("#karta", "data-markerad")
    assert code and len(code) == 4
    name = server.data.kommuner[code]["kommun_namn"]
    assert tab.inner_text("[data-kartinfo]").startswith(name)
    tab.wait_for_timeout(400)  # one frame for the outline
    hovered = _map(tab, tmp_path / "markerad.png")
    black = lambda img: int((np.abs(img).max(axis=2) <= 20).sum())  # noqa: E731
    assert black(hovered) > black(start) + 150, (black(start), black(hovered), tmp_path)

    # Leaving the map removes the outline.
    tab.mouse.move(box["x"] - 40, box["y"] - 40)
    tab.wait_for_function("!document.querySelector('#karta').dataset.markerad", timeout=10_000)

    # "Hela Sverige" fits the whole country: the drawn share shrinks (Norrland is tall).
    tab.get_by_role("button", name="Hela Sverige").click()
    tab.wait_for_timeout(1500)
    whole = _map(tab, tmp_path / "hela.png")
    assert wb._share_not_background(whole) < 0.8 * wb._share_not_background(start), tmp_path
