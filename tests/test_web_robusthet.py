"""Robustness on the web: the API routes, the page, the area and kommun pages, the download."""

from __future__ import annotations

import httpx
import polars as pl
import pytest

from tests.web_helpers import live_server


@pytest.fixture(scope="module")
def server():
    return live_server("paket")


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def overview(client):
    r = client.get("/api/v1/robusthet")
    assert r.status_code == 200, r.text
    return r.json()


def test_overview_api_has_the_size_distribution_sensitivity_and_the_closest_areas(overview):
    s = overview["sammanfattning"]
    assert overview["metod"]["id"] == "se-oppna-data-2022"
    assert s["listade_idag"] == 184 and s["dragningar"] == 1000
    assert s["omraden_min"] <= 184 <= s["omraden_max"]
    assert sum(r["dragningar"] for r in overview["listans_storlek"]) == 1000
    assert overview["kanslighet"][0]["parameter"].startswith("multipel_")
    assert len(overview["narmast_gransen"]) == 20
    assert all(a["etikett"] == "osäker" for a in overview["narmast_gransen"])


def test_area_api_says_how_sure_the_listing_is(client, overview):
    closest = overview["narmast_gransen"][0]
    r = client.get(f"/api/v1/omraden/{closest['regso_kod']}/robusthet")
    assert r.status_code == 200 and "etag" in {k.lower() for k in r.headers}
    rb = r.json()["robusthet"]
    assert rb == closest
    assert 0.05 < rb["sannolikhet_listad"] < 0.95
    assert {f["id"] for f in rb["faktorer"]} == {"arbetsmarknadsetablering", "bidragsberoende", "skolresultat", "kriminalitet", "trangboddhet"}
    assert rb["narmaste_troskel"] in {f["id"] for f in rb["faktorer"]}


def test_unknown_area_is_404_in_swedish(client):
    r = client.get("/api/v1/omraden/0000R000/robusthet")
    assert r.status_code == 404
    assert "Okänt område" in r.json()["fel"]


def test_area_page_and_kommun_page_show_it(client, overview):
    closest = overview["narmast_gransen"][0]
    page = client.get(f"/omrade/{closest['regso_kod']}").text
    assert "Hur säker är listningen" in page and "Osäker" in page and "Närmaste tröskel" in page
    kommun = client.get(f"/kommun/{closest['kommun_kod']}").text
    assert "osäker listning" in kommun
    robust = client.get("/robusthet").text
    assert "Vilka parametrar flyttar listan mest" in robust and closest["regso_namn"] in robust


def test_download_has_every_area(client):
    r = client.get("/ladda-ner/robusthet.csv")
    assert r.status_code == 200
    import io

    t = pl.read_csv(io.BytesIO(r.content), schema_overrides={"regso_kod": pl.String, "kommun_kod": pl.String})
    assert t.height == 3363 and "sannolikhet_listad" in t.columns and "bindande_parameter" in t.columns
