"""Labour-market follow-up by sex and birth region: ratios of summed counts (microdata, synthetic),
SCB's percentages per listed area (integration table), the report section, the web page, API and CSV."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from utanforskap.datasets import DataSource
from utanforskap.labourmarket import followup as fu
from utanforskap.observations.store import ObservationStore

A, B, C = "0114R001", "0114R002", "0115R001"  # A listed; B the rest of 0114; C another kommun


def _row(omrade, niva, period, variabel, varde, kalla="Mikrodata (test)", status=None, enhet="antal"):
    return {"omrade": omrade, "niva": niva, "period": period, "variabel": variabel, "taljare": None, "namnare": None,
            "varde": varde, "enhet": enhet, "kalla": kalla, "status": status}


@pytest.fixture
def store(tmp_path):
    rows = []
    # Counts by group: employed / population 20-64 per area and year; women's cell suppressed in B 2021.
    data = {A: (300, 500), B: (800, 1000), C: (700, 1000)}
    for year in ("2021", "2022"):
        for area, (emp, pop) in data.items():
            bump = 50 if year == "2022" else 0
            rows += [_row(area, "regso", year, "sysselsatta_20_64", emp + bump), _row(area, "regso", year, "befolkning_20_64", pop)]
            for g, share in (("kvinnor", 0.4), ("man", 0.6), ("inrikes_fodda", 0.7), ("utrikes_fodda", 0.3)):
                suppressed = g == "kvinnor" and area == B and year == "2021"
                rows.append(_row(area, "regso", year, f"sysselsatta_20_64_{g}", None if suppressed else (emp + bump) * share,
                                 status="skyddad" if suppressed else None))
                rows.append(_row(area, "regso", year, f"befolkning_20_64_{g}", pop * share))
        rows += [_row("0114", "kommun", year, "sysselsatta_20_64", 1100 + (100 if year == "2022" else 0)),
                 _row("0114", "kommun", year, "befolkning_20_64", 1500),
                 _row("SE", "riket", year, "sysselsatta_20_64", 8000), _row("SE", "riket", year, "befolkning_20_64", 10000)]
    # SCB's percentages per area (IntGr1RegSOBASN), no numerators.
    for year in ("2021", "2022"):
        for area, v in ((A, 55.0), (B, 80.0)):
            rows.append(_row(area, "regso", year, "andel_langtidsarbetslosa", v / 10, kalla="SCB IntGr1RegSOBASN", enhet="procent"))
            rows.append(_row(area, "regso", year, "andel_langtidsarbetslosa_utrikes_fodda", v / 5, kalla="SCB IntGr1RegSOBASN", enhet="procent"))
    st = ObservationStore(tmp_path / "lager")
    df = pl.DataFrame(rows, schema={"omrade": pl.String, "niva": pl.String, "period": pl.String, "variabel": pl.String,
                                    "taljare": pl.Float64, "namnare": pl.Float64, "varde": pl.Float64, "enhet": pl.String,
                                    "kalla": pl.String, "status": pl.String})
    with st.transaction() as tx:
        tx.put("test", df, niva=["regso", "kommun", "riket"], perioder=["2021", "2022"])
    return st


def test_listed_against_the_rest_of_the_kommun_and_the_country_are_ratios_of_sums(store):
    f = fu.followup(store, "0114", [A])
    rows = f.rows.filter((pl.col("matt") == "sysselsattning") & (pl.col("indelning") == "Alla"))
    got = {(r["ar"], r["grupp"]): r["varde"] for r in rows.iter_rows(named=True)}
    assert got[(2021, "listade")] == pytest.approx(300 / 500)
    assert got[(2022, "listade")] == pytest.approx(350 / 500)
    assert got[(2022, "ovriga")] == pytest.approx(850 / 1000)  # B only: C is another kommun
    assert got[(2022, "kommun")] == pytest.approx(1200 / 1500)  # the kommun's own row, not re-summed
    assert got[(2022, "riket")] == pytest.approx(0.8)
    assert f.years == [2021, 2022]


def test_a_protected_cell_makes_its_group_unknown_never_a_partial_sum(store):
    f = fu.followup(store, "0114", [A])
    women = f.rows.filter((pl.col("matt") == "sysselsattning") & (pl.col("indelning") == "Kvinnor") & (pl.col("grupp") == "ovriga"))
    by_year = dict(zip(women["ar"], women["varde"], strict=False))
    assert by_year[2021] is None and by_year[2022] == pytest.approx(850 * 0.4 / 400)
    born_abroad = f.rows.filter((pl.col("indelning") == "Utrikes födda") & (pl.col("grupp") == "listade") & (pl.col("ar") == 2022))
    assert born_abroad["varde"][0] == pytest.approx(350 * 0.3 / 150)


def test_scb_percentages_are_shown_per_listed_area_and_never_summed(store):
    f = fu.followup(store, "0114", [A])
    lt = f.rows.filter(pl.col("matt") == "langtidsarbetsloshet")
    assert set(lt["grupp"]) == {"omrade"} and set(lt["omrade"]) == {A}  # only the listed area
    assert lt.filter((pl.col("indelning") == "Utrikes födda") & (pl.col("ar") == 2022))["varde"][0] == pytest.approx(0.11)
    assert any("kan inte läggas ihop" in n for n in f.notes)
    assert "langtidsarbetsloshet" in f.measures


def test_a_store_without_the_split_says_what_is_missing(tmp_path):
    f = fu.followup(ObservationStore(tmp_path / "tomt"), "0114", [A])
    assert f.rows.is_empty()
    assert any("inga antal efter kön och födelseregion" in n for n in f.notes)
    assert any("Långtidsarbetslöshet finns bara" in n for n in f.notes)


def test_csv_export_has_every_row(store):
    f = fu.followup(store, None, [A])
    text = fu.to_csv(f)
    assert text.splitlines()[0] == ",".join(fu.COLUMNS)
    assert len(text.splitlines()) == f.rows.height + 1


@pytest.mark.slow
def test_report_section_draws_the_charts_with_events(store, monkeypatch):
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "")
    from utanforskap import reports
    from utanforskap.reports import uppfoljning_arbetsmarknad as ua

    base = reports.default_result()
    areas = base.areas.with_columns(klass=pl.when(pl.col("regso_kod") == A).then(pl.lit("stor")).otherwise(None))
    result = dataclasses.replace(base, source=DataSource(store, "Testlager (syntetiska testvärden)", True), areas=areas)
    listed = [c for c in ua.listed_codes(result) if c.startswith("0114")]
    assert listed == [A]
    prep = reports.prepared(base)
    sec = ua.section(result, prep.events, "0114", "Upplands Väsby", "Källa: test.")
    assert sec["syntetisk"] and sec["years"] == [2021, 2022]
    titles = [c["title"] for c in sec["charts"]]
    assert any(t.startswith("Sysselsättning") for t in titles) and any("långtidsarbetslösa" in t.lower() for t in titles)
    assert all(c["img"].startswith(("data:image/svg+xml", "data:image/png;base64,")) and c["alt"] for c in sec["charts"])
    from utanforskap.reports.formatting import environment

    html = environment().get_template("_uppfoljning_arbetsmarknad.html.j2").render(u=sec)
    assert "SYNTETISKA DATA" in html and "efter kön och födelseregion" in html


@pytest.mark.slow
def test_web_pages_api_and_csv():
    import httpx

    from tests.web_helpers import live_server

    server = live_server("paket")
    with httpx.Client(base_url=server.url, timeout=60) as c:
        page = c.get("/kommun/0180/arbetsmarknad")
        assert page.status_code == 200 and "Arbetsmarknaden i listade områden: Stockholm" in page.text
        assert "inga antal efter kön och födelseregion" in page.text  # the bundled open data have no split
        assert c.get("/arbetsmarknad").status_code == 200
        assert c.get("/kommun/0999/arbetsmarknad").status_code == 404
        body = c.get("/api/v1/arbetsmarknad", params={"kommun": "0180"}).json()
        assert body["kommun"] == "0180" and body["rader"] == [] and body["anmarkningar"]
        csv = c.get("/api/v1/arbetsmarknad", params={"format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv") and csv.text.splitlines()[0] == ",".join(fu.COLUMNS)
        assert c.get("/api/v1/arbetsmarknad", params={"kommun": "0999"}).status_code == 404
        assert c.get("/api/v1/arbetsmarknad", params={"format": "xml"}).status_code == 422
