"""The SCB PxWebApi 2.0 client against a real local HTTP server answering in SCB's format."""

import json

import polars as pl
import pytest
from fakeapi.fixtures import DATA

from utanforskap.errors import InputError
from utanforskap.sources import jsonstat
from utanforskap.sources.pxweb import AREA_CODELISTS, PxWebClient

ALL = {"Region": "*", "Alder": "*", "Kon": "*", "ContentsCode": "*", "Tid": "*"}


def client(api, settings, **kw) -> PxWebClient:
    return PxWebClient(api.scb_url, settings=settings, **kw)


def data_requests(api):
    return [r for r in api.requests("/data") if r.status == 200]


def test_config_limits_and_table_listing_over_pages(api, settings):
    with client(api, settings) as c:
        assert c.limits.max_cells == 150_000
        tables = c.tables(page_size=7)
        assert len(tables) == 20 and tables[0]["id"] == "TAB4707"
        assert [r.query for r in api.requests("/tables") if ("pageNumber", "3") in r.query]
        found = c.tables("befolkning")
        assert len(found) == 10 and any(t["id"] == "TAB6473" for t in found)


def test_metadata_and_codelists_through_the_server(api, settings):
    with client(api, settings) as c:
        meta = c.metadata("TAB0001")
        assert set(AREA_CODELISTS) <= set(meta.variables["Region"].codelists)
        agg = c.codelist("agg_Ålder10årJ")  # a non-ASCII id travels percent-encoded
        assert agg.type == "Aggregation" and agg.codes[0] == "-9" and agg.value_map["-9"][:2] == ("9", "0")
        c.metadata("TAB0001")
        assert len(api.requests("/metadata")) == 1  # read once per client


def test_whole_table_equals_scbs_recorded_answer(api, settings):
    with client(api, settings) as c:
        ds = c.data("TAB6471", ALL)
    recorded = jsonstat.parse((DATA / "TAB6471_data.json").read_bytes(), "recorded")
    assert ds.frame.equals(recorded.frame)


def test_get_post_and_csv_give_the_same_cells(api, settings):
    sel = {"Region": ["01", "03"], "Alder": "*", "Kon": "*", "ContentsCode": "000007SF", "Tid": "top(2)"}
    with client(api, settings) as c:
        post = c.data("TAB6471", sel)
        get = c.data("TAB6471", sel, method="GET")
        csv = c.data("TAB6471", sel, output_format="csv")
        csv_get = c.data("TAB6471", sel, method="GET", output_format="csv")
    assert post.sizes == (2, 11, 3, 1, 2)
    assert get.frame.equals(post.frame)
    assert csv.frame.equals(post.frame) and csv_get.frame.equals(post.frame)
    gets = api.requests("/data", method="GET")
    assert any(k == "valueCodes[Tid]" and v == "top(2)" for k, v in gets[0].query)
    posts = api.requests("/data", method="POST")
    assert posts[0].body["selection"][0] == {"variableCode": "Region", "valueCodes": ["01", "03"]}


@pytest.mark.parametrize("codelist", sorted(AREA_CODELISTS))
def test_region_codelists_select_every_area_of_their_level(api, settings, codelist):
    niva = AREA_CODELISTS[codelist][0]
    with client(api, settings) as c:
        expected = c.codelist(codelist).codes
        ds = c.data("TAB0001", {"Region": "*", "ContentsCode": "000001AA", "Tid": "2023", "Kon": "1+2"},
                    {"Region": codelist}, method="GET")
    assert ds.codes["Region"] == expected
    obs = jsonstat.to_observations(ds, niva=niva, region="Region", time="Tid", variables={"000001AA": "bef"},
                                   kalla="SCB TAB0001", where="t").observationer
    assert obs.height == len(expected) and obs["niva"].unique().to_list() == [niva]
    assert not obs["omrade"].str.contains("_").any()  # vintage suffix removed
    q = dict(api.requests("/data")[0].query)
    assert q["codelist[Region]"] == codelist and q["valueCodes[Region]"] == "*"


def test_suppressed_cells_arrive_as_null_with_status(api, settings):
    with client(api, settings) as c:
        ds = c.data("TAB0001", {"Region": "*", "ContentsCode": "*", "Tid": "*", "Kon": "*"}, {"Region": "vs_DeSO2018"})
    obs_frame = ds.frame.filter(pl.col("symbol") == "..")
    assert obs_frame.height > 0 and obs_frame["varde"].null_count() == obs_frame.height


def test_a_split_query_expands_each_selection_once(api, settings, monkeypatch):
    from utanforskap.sources import pxweb

    calls = []
    real = pxweb.expand
    monkeypatch.setattr(pxweb, "expand", lambda values, domain, **kw: calls.append(kw["where"]) or real(values, domain, **kw))
    api.scb.config["maxDataCells"] = 500
    with client(api, settings) as c:
        c.data("TAB6471", ALL)
    assert len(data_requests(api)) >= 6
    assert sorted(calls) == sorted(f"SCB-tabell TAB6471, variabel {v}" for v in ALL)


def test_query_over_max_cells_is_split_and_reassembled_exactly(api, settings):
    api.scb.config["maxDataCells"] = 500
    with client(api, settings) as c:
        ds = c.data("TAB6471", ALL)
    recorded = jsonstat.parse((DATA / "TAB6471_data.json").read_bytes(), "recorded")
    assert ds.frame.equals(recorded.frame)
    parts = data_requests(api)
    assert len(parts) >= 6  # 2 772 cells / 500
    for r in parts:
        sizes = {s["variableCode"]: len(s["valueCodes"]) for s in r.body["selection"] if "*" not in s["valueCodes"]}
        assert sizes["Region"] < 21  # Region, the largest dimension, was split
    assert not [r for r in api.requests("/data") if r.status != 200]


def test_get_with_a_too_long_url_is_sent_as_post(api, settings):
    with client(api, settings) as c:
        regions = list(c.metadata("TAB0001").variables["Region"].codes)  # 124 explicit codes
        ds = c.data("TAB0001", {"Region": regions, "ContentsCode": "*", "Tid": "2024"}, method="GET")
        small = c.data("TAB0001", {"Region": regions[:3], "ContentsCode": "*", "Tid": "2024"}, method="GET")
    assert ds.sizes == (124, 2, 1) and small.sizes == (3, 2, 1)
    assert [r.method for r in api.requests("/data")] == ["POST", "GET"]


def test_missing_mandatory_variable_is_refused_before_any_data_request(api, settings):
    with client(api, settings) as c, pytest.raises(InputError, match="obligatoriska variabler: Tid"):
        c.data("TAB0001", {"Region": "*", "ContentsCode": "*"}, {"Region": "vs_RegSO2020"})
    assert not api.requests("/data")


def test_cell_count_resolves_expressions_and_codelists(api, settings):
    with client(api, settings) as c:
        assert c.cells("TAB6471", ALL) == 2772
        assert c.cells("TAB0001", {"Region": "*", "ContentsCode": "*", "Tid": "from(2022)"}, {"Region": "vs_RegSO2025"}) == 19 * 2 * 3
        assert c.cells("TAB0001", {"Region": ["0114R001", "0114R002"], "ContentsCode": "*", "Tid": "*"}, {"Region": "vs_RegSO2020"}) == 24
    assert len(api.requests("/codelists")) == 1  # plain codes in a codelist need no lookup


def test_cache_sidecar_records_request_and_checksum(api, settings):
    with client(api, settings) as c:
        c.data("TAB6471", {"Region": "01", "Alder": "0-9", "Kon": "TotSa", "ContentsCode": "*", "Tid": "*"})
    sidecars = [json.loads(p.read_text()) for p in (settings.cache_dir / "scb").rglob("*.json")]
    post = next(s for s in sidecars if s["metod"] == "POST")
    assert post["url"].startswith(api.scb_url + "/tables/TAB6471/data?lang=sv&outputFormat=json-stat2")
    assert post["kropp"]["selection"][0] == {"variableCode": "Region", "valueCodes": ["01"]}
    assert post["sha256"] == api.requests("/data")[0].sha256 and post["tid"] and post["status"] == 200
