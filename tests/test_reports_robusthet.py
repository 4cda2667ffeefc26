"""The robustness chapter of the national report and the area report's section."""

from __future__ import annotations

import pytest
from reports_helpers import no_wfs  # noqa: F401 (autouse fixture)

from utanforskap.reports import api as reports
from utanforskap.robustness.overview import overview


@pytest.mark.slow
def test_national_report_has_the_robustness_chapter(result):
    html = reports.render("riket", None, "html", result).decode("utf-8")
    ov = overview(result)
    s = ov.summary
    assert 'id="robusthet"' in html and "Robusthet: hur säker är listningen" in html
    assert f"Listans storlek varierade mellan {s['omraden_min']} och {s['omraden_max']} områden" in html
    assert "Vilka parametrar flyttar listan mest" in html and "multipel_invanare_per_lagenhet" in html
    assert ov.closest_to_line(1)[0]["regso_namn"] in html
    assert 'alt="Stapeldiagram över listans storlek i 1000 dragningar' in html


@pytest.mark.slow
def test_area_report_says_how_sure_the_listing_is(result):
    a = overview(result).closest_to_line(1)[0]
    html = reports.render("omrade", a["regso_kod"], "html", result).decode("utf-8")
    assert "Hur säker är listningen" in html and "Osäker" in html and "Närmaste tröskel" in html
