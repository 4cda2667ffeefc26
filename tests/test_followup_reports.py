"""The lägesbild's sections on change: riket and a kommun, from the bundled data."""

import pytest

from utanforskap.reports import api


@pytest.mark.slow
def test_national_report_has_the_change_section():
    html = api.render("riket", None, "html").decode("utf-8")
    assert "Förändring över åren" in html
    assert "13 RegSO kom in i områdestyp 1 och 11 lämnade" in html
    assert "Kriminalitet per år: relativ och fixerad tröskel" in html
    assert "bara för 2022" in html  # the bundle's map has one year, said plainly


@pytest.mark.slow
def test_kommun_report_has_a_series_per_listed_area():
    html = api.render("kommun", "1480", "html").decode("utf-8")
    assert "De listade områdena över åren" in html
    assert html.count("Hjällbo") >= 1 and "fixerade tröskeln" in html
    assert "1 → 1" in html or "2 → 1" in html  # områdestyp 2022 -> 2023 per listed area

