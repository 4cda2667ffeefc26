"""The reports' section on measures and gaps, from the metodbank (SQLite and a real
PostgreSQL started by the tests), and the plain statement when there is no metodbank."""

from __future__ import annotations

import re
import uuid

import polars as pl
import pytest
from metodbank_helpers import BACKENDS, new_database_url
from reports_helpers import no_wfs  # noqa: F401 (autouse fixture)

from utanforskap import reports
from utanforskap.metodbank import gaps, registry
from utanforskap.metodbank.db import open_database
from utanforskap.metodbank.registry import Actor
from utanforskap.metodbank.schema import validate_insats
from utanforskap.reports import insatser

pytestmark = pytest.mark.slow  # each report draws its maps and charts

STAFF = Actor("samordnaren", "granskare")


@pytest.fixture(scope="module")
def listed_pair(result):
    """A listed area, its kommun and one of its flagged factors."""
    f = gaps.flagged(result).sort("kommun_kod", "regso_kod", "faktor")
    return f.row(0, named=True)


def _text(html: bytes | str) -> str:
    html = html.decode("utf-8") if isinstance(html, bytes) else html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u202f", " ").replace("\u00a0", " ")


def test_without_a_metodbank_the_reports_say_so(result, tmp_path, monkeypatch):
    monkeypatch.delenv("UTANFORSKAP_DATABAS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # no local metodbank file either
    prep = reports.prepared(result)
    kod = result.listed["kommun_kod"][0]
    for kind, code in (("riket", None), ("kommun", kod)):
        text = _text(reports.api.render_html(prep, kind, code))
        assert "Insatser mot de flaggade problemen" in text and "Ingen metodbank är ansluten" in text, kind
    assert not (tmp_path / "utanforskap" / "metodbank.sqlite").exists()  # a report creates no database


def test_a_metodbank_that_cannot_be_read_is_named_and_the_report_is_written(result):
    html = reports.render("kommun", result.listed["kommun_kod"][0], "html", result, databas="postgresql://nobody@127.0.0.1:1/ingen")
    text = _text(html)
    assert "Metodbanken kunde inte läsas" in text and "Faktorerna i kommunen" in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_gap_section_counts_and_names_the_measures(result, listed_pair, backend, tmp_path):
    url = new_database_url(backend, str(tmp_path))
    db = open_database(url)
    kod, regso, faktor = listed_pair["kommun_kod"], listed_pair["regso_kod"], listed_pair["faktor"]
    before = insatser.section(result, "riket", None, url)["antal_insatser"]
    name = f"Områdesinsats {uuid.uuid4().hex[:6]}"
    mid = registry.create(db, STAFF, validate_insats({"namn": name, "kommuner": [kod], "omraden": [regso], "problem": [faktor], "sektorer": ["skola"]}))
    registry.set_status(db, STAFF, mid, "inskickad")
    registry.set_status(db, STAFF, mid, "publicerad")
    hidden = f"Opublicerad {uuid.uuid4().hex[:6]}"
    registry.create(db, STAFF, validate_insats({"namn": hidden, "kommuner": [kod], "omraden": [regso], "problem": [faktor]}))
    expected = gaps.area_gaps(db, result)

    national = insatser.section(result, "riket", None, url)
    total = gaps.summarize(expected, None).row(0, named=True)
    assert national["ansluten"] and national["summa"] == total and national["antal_insatser"] == before + 1
    by_factor = {r["faktor"]: r for r in national["per_faktor"]}
    assert by_factor[faktor]["luckor"] == expected.filter((pl.col("faktor") == faktor) & pl.col("lucka")).height
    riket_text = _text(reports.api.render_html(reports.prepared(result), "riket", None, url))
    assert f"{total['luckor']:,}".replace(",", " ") in riket_text and "Luckor per faktor" in riket_text

    html = _text(reports.render("kommun", kod, "html", result, databas=url))
    assert name in html and hidden not in html and "Kommunens registrerade insatser" in html
    mine = insatser.section(result, "kommun", kod, url)
    row = next(r for r in mine["luckor"] if r["regso_kod"] == regso and r["faktor"] == faktor)
    assert row["i_omradet_namn"] == [name] and not row["lucka"]
    assert mine["antal_luckor"] == expected.filter((pl.col("kommun_kod") == kod) & pl.col("lucka")).height
    names = [i["namn"] for i in mine["kommunens_insatser"]]
    assert name in names and hidden not in names
    db.dispose()
