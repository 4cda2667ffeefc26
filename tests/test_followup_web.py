"""Uppföljning in the web app and the API, on a real server with the bundled data."""

import httpx
import pytest
from web_helpers import live_server


@pytest.fixture(scope="module")
def server():
    return live_server("paket")


@pytest.mark.slow
def test_area_series_api(server):
    r = httpx.get(f"{server.url}/api/v1/omraden/1480R050/tidsserie", timeout=60)
    assert r.status_code == 200
    body = r.json()
    assert body["regso_kod"] == "1480R050"
    assert [row["ar"] for row in body["kriminalitet"]] == [2020, 2021, 2022, 2023]
    assert body["omradestyp"] == [{"ar": 2022, "typ": 2}, {"ar": 2023, "typ": 1}]
    assert body["karta"] == [] and "2022" in body["anmarkning"]  # the bundle's map has one year
    assert body["seriebrott"] == []  # 2020-2023 crosses no declared break
    assert "etag" in {k.lower() for k in r.headers}
    missing = httpx.get(f"{server.url}/api/v1/omraden/9999R999/tidsserie", timeout=30)
    assert missing.status_code == 404 and "Okänt område" in missing.json()["fel"]


def test_changes_api(server):
    r = httpx.get(f"{server.url}/api/v1/forandringar", params={"fran": 2022, "till": 2023}, timeout=60)
    assert r.status_code == 200
    body = r.json()
    assert body["lista"] is None
    ins = [x for x in body["omradestyp"] if x["andring"] == "in"]
    assert len(ins) == 13 and len(body["omradestyp"]) == 24
    assert body["kriminalitet"] and {x["andring"] for x in body["kriminalitet"]} == {"in", "ut"}
    bad = httpx.get(f"{server.url}/api/v1/forandringar", params={"fran": 2023, "till": 2022}, timeout=30)
    assert bad.status_code == 422 and "efter" in bad.json()["fel"]
    none = httpx.get(f"{server.url}/api/v1/forandringar", params={"fran": 2010, "till": 2011}, timeout=30)
    assert none.status_code == 422 and "2020–2023" in none.json()["fel"]
    missing = httpx.get(f"{server.url}/api/v1/forandringar", params={"fran": 2022}, timeout=30)
    assert missing.status_code == 422 and "till" in missing.json()["fel"]


@pytest.mark.slow
def test_pages(server):
    page = httpx.get(f"{server.url}/uppfoljning", params={"fran": 2022, "till": 2023}, timeout=60)
    assert page.status_code == 200
    assert "Hjällbo östra" in page.text and "Områdestyp 1 2022–2023" in page.text
    area = httpx.get(f"{server.url}/omrade/1480R050", timeout=60)
    assert area.status_code == 200 and "Kriminalitet per år" in area.text and "2023: typ 1" in area.text
