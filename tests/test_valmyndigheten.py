"""Turnout from Valmyndigheten's results per valdistrikt: reader, bundle, report section, web page and API."""

from __future__ import annotations

import polars as pl
import pytest

from tests._shared import need_shared
from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.observations.store import bundled_store
from utanforskap.reports import valdeltagande
from utanforskap.sources import bundle, valmyndigheten


def test_national_riksdag_turnout_in_the_bundle_matches_the_published_figures():
    obs = bundled_store().read(niva="riket", variabler=[valmyndigheten.ELIGIBLE, valmyndigheten.VOTERS])
    wide = obs.pivot(on="variabel", index="period", values="varde").sort("period")
    turnout = dict(zip(wide["period"], wide[valmyndigheten.VOTERS] / wide[valmyndigheten.ELIGIBLE], strict=False))
    assert round(100 * turnout["2022"], 1) == 84.2
    assert round(100 * turnout["2018"], 1) == 87.2
    assert dict(zip(wide["period"], wide[valmyndigheten.ELIGIBLE], strict=False)) == {"2018": 7_495_936, "2022": 7_775_390}


def test_every_kommun_has_both_elections_and_they_sum_to_the_nation():
    obs = bundled_store().read(niva="kommun", variabler=[valmyndigheten.ELIGIBLE])
    assert obs.group_by("period").len().sort("period")["len"].to_list() == [290, 290]
    assert set(obs["omrade"]) == set(geography.default().codes("kommun"))


def test_district_reference_drops_rows_without_eligible_and_restores_leading_zeros():
    ref = bundle.reference(valmyndigheten.REFERENCE)
    assert ref.group_by("val").len().sort("val")["len"].to_list() == [6004, 6264]  # 6325-321, 6578-314
    assert ref["rostberattigade"].min() > 0
    assert ref["valdistrikt_kod"].str.len_chars().unique().to_list() == [8]
    assert ref.filter(pl.col("kommun_kod") == "0114")["valdistrikt_kod"].str.starts_with("0114").all()
    assert ref["valdistrikt_kod"].str.slice(0, 4).eq(ref["kommun_kod"]).all()
    assert ref["kommun_namn"].null_count() == 0
    assert ref.filter(pl.col("valdistrikt_kod").str.ends_with("9800") & (pl.col("val") == "2022")).is_empty()


@pytest.mark.slow
def test_reader_on_the_shared_files_reports_what_it_set_aside():
    se = need_shared()
    res = valmyndigheten.read_turnout(se / "valmyndigheten_valdistrikt", geography.default())
    assert res.rapport["2022"]["utan_rostberattigade"] == 314
    assert res.rapport["2018"]["utan_rostberattigade"] == 321
    assert res.rapport["2022"]["valdeltagande"] == pytest.approx(0.8421, abs=1e-4)
    assert res.rapport["2018"]["valdeltagande"] == pytest.approx(0.8718, abs=1e-4)


def _write_2018(path, rows):
    cols = ["LÄNSKOD", "KOMMUNKOD", "VALKRETSKOD", "VALDISTRIKTSKOD", "VALDISTRIKTSNAMN", "RÖSTANDE", "RÖSTBERÄTTIGADE"]
    pl.DataFrame(rows, schema=cols, orient="row").write_excel(path, worksheet="R antal")


def test_bad_district_code_names_file_and_row(tmp_path):
    path = tmp_path / "2018_R_per_valdistrikt.xlsx"
    _write_2018(path, [[1, 14, 2, 101, "Övra Runby", 10, 12], [1, 14, 2, "x1", "Fel", 5, 6]])
    with pytest.raises(InputError, match=r"2018_R_per_valdistrikt.xlsx, rad 3: valdistriktskoden 'x1'"):
        valmyndigheten.read_election(path, "2018", geography.default())


def test_more_voters_than_eligible_and_unknown_kommun_raise(tmp_path):
    path = tmp_path / "2018_R_per_valdistrikt.xlsx"
    _write_2018(path, [[1, 14, 2, 101, "Övra Runby", 13, 12]])
    with pytest.raises(InputError, match=r"rad 2: fler röstande \(13\) än röstberättigade \(12\)"):
        valmyndigheten.read_election(path, "2018", geography.default())
    _write_2018(path, [[1, 99, 2, 101, "Ingenstans", 10, 12]])
    with pytest.raises(InputError, match=r"rad 2: kommunkoden 0199 .* finns inte"):
        valmyndigheten.read_election(path, "2018", geography.default())


def test_missing_column_and_missing_file_are_named(tmp_path):
    path = tmp_path / "ri_tab4_2022.xlsx"
    pl.DataFrame({"Valdistriktskod": ["01140101"]}).write_excel(path)
    with pytest.raises(InputError, match=r"ri_tab4_2022.xlsx, rad 1: kolumnen 'Valdistriktsnamn' saknas"):
        valmyndigheten.read_election(path, "2022", geography.default())
    with pytest.raises(InputError, match="filen saknas"):
        valmyndigheten.read_turnout(tmp_path / "ingen", geography.default())


def test_kommun_section_has_both_elections_and_the_lowest_districts_by_name():
    data = valdeltagande.turnout("0180")  # Stockholm
    assert [e["ar"] for e in data["val"]] == ["2018", "2022"]
    for e in data["val"]:
        assert 0.5 < e["kommun"] < 1 and e["riket"] == pytest.approx(0.842 if e["ar"] == "2022" else 0.872, abs=5e-4)
        low = e["lagst"]
        assert len(low) == 5 and all(d["namn"] for d in low)
        shares = [d["valdeltagande"] for d in low]
        assert shares == sorted(shares)
        ref = bundle.reference(valmyndigheten.REFERENCE).filter((pl.col("kommun_kod") == "0180") & (pl.col("val") == e["ar"]))
        assert shares[0] == pytest.approx(ref["valdeltagande"].min())
    sec = valdeltagande.section("0180", "Stockholm")
    assert "verkliga data" in sec["kalla"] and "inte per RegSO" in sec["anmarkning"]


@pytest.mark.slow
def test_kommun_report_shows_turnout_and_the_lowest_districts(monkeypatch):
    from utanforskap import reports

    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "")
    html = reports.render("kommun", "0180", "html")
    text = html.decode() if isinstance(html, bytes) else html
    assert 'id="valdeltagande"' in text
    assert "Valdistrikten med lägst valdeltagande i Stockholm, riksdagsvalet 2022" in text
    lowest = valdeltagande.turnout("0180")["val"][1]["lagst"][0]["namn"]
    assert lowest in text
    assert "inte per RegSO" in text and "84,2" in text


@pytest.mark.slow
def test_kommun_page_and_api_show_turnout():
    import httpx

    from tests.web_helpers import live_server

    server = live_server("paket")
    with httpx.Client(base_url=server.url, timeout=60) as c:
        page = c.get("/kommun/0180")
        assert page.status_code == 200
        assert "Valdeltagande i riksdagsvalen (verkliga data per valdistrikt)" in page.text
        api = c.get("/api/v1/kommuner/0180/valdeltagande", params={"antal": 3})
        assert api.status_code == 200
        body = api.json()
        assert [e["ar"] for e in body["val"]] == ["2018", "2022"] and len(body["val"][1]["lagst"]) == 3
        assert c.get("/api/v1/kommuner/0999/valdeltagande").status_code == 404
        assert c.get("/api/v1/kommuner/0180/valdeltagande", params={"antal": 0}).status_code == 422
