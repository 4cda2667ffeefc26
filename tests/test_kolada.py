"""The Kolada v3 client against a real local HTTP server answering in Kolada's format."""

import time

import polars as pl
import pytest
from fakeapi import Fault

from utanforskap.errors import InputError, SourceError
from utanforskap.sources.kolada import KoladaClient

YEARS = ["2018", "2019", "2020"]


def client(api, settings, **kw) -> KoladaClient:
    return KoladaClient(api.kolada_url, settings=settings, **kw)


def longest_id_list(api) -> int:
    return max(len(part.split(",")) for r in api.requests("/kolada/") for part in r.path.split("/"))


def test_kpi_search_and_id_lists_over_25_are_split(api, settings):
    with client(api, settings) as k:
        assert [x["id"] for x in k.kpis("invånare")] == ["N01951"]
        ids = [f"N{i:05d}" for i in range(1, 41)]
        assert [x["id"] for x in k.kpis(ids=ids)] == ids
    assert len(api.requests("/kolada/v3/kpi/")) == 2 and longest_id_list(api) == 25


def test_municipalities_by_kind(api, settings):
    with client(api, settings) as k:
        kommuner = k.municipalities(kind="K")
        regions = k.municipalities(kind="L")
    assert len(kommuner) == 290 and {m["id"] for m in regions} >= {"0000", "0001"}
    assert len(api.requests("/municipality")) == 1  # the list is read once


def test_paged_data_adds_up_to_the_unpaged_answer(api, settings):
    with client(api, settings) as k:
        munis = [str(m["id"]) for m in k.municipalities(kind="K")][:60]
    with client(api, settings, cache_dir=None) as k:
        whole = k.data(["N00002", "N00003"], munis, YEARS)
    api.clear()
    with client(api, settings, per_page=7, cache_dir=None) as k:
        paged = k.data(["N00002", "N00003"], munis, YEARS)
    assert paged.equals(whole)
    # 60 kommuner -> 3 id lists (25+25+10); each answer over several pages of 7.
    paths = {r.path for r in api.requests("/data/")}
    assert len(paths) == 3 and len(api.requests("/data/")) > 3 and longest_id_list(api) == 25
    # N00002 is split by gender (T, K, M), N00003 is not; some rows are absent, as in Kolada.
    assert set(whole.filter(pl.col("kpi") == "N00002")["gender"]) == {"T", "K", "M"}
    assert set(whole.filter(pl.col("kpi") == "N00003")["gender"]) == {"T"}
    assert whole.filter(pl.col("municipality").str.ends_with("9") & (pl.col("period") == "2019")).height == 0


def test_v2_next_page_paging_is_followed(api, settings):
    api.kolada.style = "v2"
    with client(api, settings, per_page=50) as k:
        rows = k.data("N00003", ["0114", "0115", "0117"], [str(y) for y in range(2015, 2025)])
    assert rows.height == 30 and len(api.requests("/data/")) == 1
    with client(api, settings, per_page=4, cache_dir=None) as k:
        assert k.data("N00003", ["0114", "0115", "0117"], [str(y) for y in range(2015, 2025)]).equals(rows)


def test_pages_that_do_not_add_up_to_count_fail(api, settings):
    api.inject("/kolada/v3/data/", Fault.bad_count(1))
    with client(api, settings, per_page=10) as k, pytest.raises(SourceError, match="'count' säger .*ofullständigt"):
        k.data("N00003", ["0114", "0115", "0117", "0120", "0123"], YEARS)


@pytest.mark.slow
def test_429_on_kolada_honours_retry_after(api, settings):
    api.inject("/kolada/v3/data/", Fault.http(429, retry_after=1))
    start = time.monotonic()
    with client(api, settings) as k:
        rows = k.data("N00003", ["0114"], YEARS)
    assert rows.height == 3 and time.monotonic() - start >= 0.95
    assert [r.status for r in api.requests("/data/")] == [429, 200]


def test_truncated_page_fails_loudly(api, settings):
    api.inject("/kolada/v3/data/", Fault.truncate())
    with client(api, settings) as k, pytest.raises(SourceError, match="Kolada data .*inte giltig JSON"):
        k.data("N00003", ["0114"], YEARS)


def test_observations_are_kommun_level_and_never_zero_for_missing(api, settings):
    with client(api, settings) as k:
        obs = k.observations("N00002", YEARS, variabel="testvariabel", kon="K", enhet="procent")
        ending_in_9 = sum(1 for m in k.municipalities(kind="K") if m["id"].endswith("9"))
    assert set(obs["niva"]) == {"kommun"} and obs["omrade"].str.len_chars().eq(4).all()
    assert not obs["omrade"].str.starts_with("00").any()  # regions and the country are not kommuner
    assert obs.height == 290 * 3 - ending_in_9  # the fake has no 2019 row for kommuner ending in 9
    missing = obs.filter(pl.col("varde").is_null())
    assert missing.height > 0 and set(missing["status"]) == {"saknas"}
    assert obs.filter(pl.col("varde").is_not_null())["status"].null_count() == obs.height - missing.height
    assert set(obs["kalla"]) == {"Kolada N00002"} and set(obs["enhet"]) == {"procent"}


def test_bad_arguments_are_refused(api, settings):
    with client(api, settings) as k:
        with pytest.raises(InputError, match="okänt kön"):
            k.observations("N00002", YEARS, variabel="v", kon="X")
        with pytest.raises(InputError, match="ange kommuner eller år"):
            k.data("N00002")


# ---- regressions: faults found against an independently written server ----------------
FIVE = ["0114", "0115", "0117", "0120", "0123"]


@pytest.mark.parametrize("style", ["v3", "v2"])
def test_a_next_link_that_skips_a_page_is_refused(api, settings, style):
    # Every page says 'count' = its own length, and its next link jumps over a page.
    api.kolada.style = style
    api.inject("/kolada/v3/data/", Fault.skip_page(), times=99)
    with client(api, settings, per_page=4) as k, pytest.raises(SourceError, match="hoppar över sida 2"):
        k.data("N00003", FIVE, YEARS)


def test_deleted_values_are_missing_not_values(api, settings):
    api.kolada.deleted = {"0114"}
    with client(api, settings) as k:
        rows = k.data("N00003", ["0114", "0115"], YEARS)
        obs = k.observations("N00003", YEARS, variabel="v", kommuner=["0114", "0115"])
    assert set(rows["municipality"]) == {"0115"}
    assert obs.filter(pl.col("omrade") == "0114").height == 0
    assert obs.filter(pl.col("omrade") == "0115").height == 3
