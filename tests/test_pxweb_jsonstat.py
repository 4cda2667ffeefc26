"""JSON-stat parsing, selection expressions and query splitting (no server needed)."""

import json
import math
import time

import numpy as np
import polars as pl
import pytest
from fakeapi.fixtures import DATA

from utanforskap.errors import InputError, SourceError
from utanforskap.sources import jsonstat
from utanforskap.sources.pxweb import AREA_CODELISTS, TableMetadata, area_codelist, expand, split

TAB6471 = DATA / "TAB6471_data.json"


def tab6471() -> dict:
    return json.loads(TAB6471.read_text(encoding="utf-8"))


def cell(ds, **where):
    rows = ds.frame.filter(pl.all_horizontal(pl.col(k) == v for k, v in where.items()))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_row_major_order_hand_checked_against_scb_response():
    doc = tab6471()
    ds = jsonstat.parse(TAB6471.read_bytes(), "TAB6471")
    assert ds.ids == ("Region", "Alder", "Kon", "ContentsCode", "Tid")
    assert ds.sizes == (21, 11, 3, 1, 4) and ds.cells == 2772
    # Strides for sizes (21, 11, 3, 1, 4) are (132, 12, 4, 4, 1); indices worked out by hand:
    # 01/0-9/TotSa/2026M01 -> 0; 01/0-9/TotSa/2026M02 -> 1; 03/0-9/TotSa/2026M01 -> 132;
    # 03/20-29/2/2026M03 -> 1*132 + 2*12 + 2*4 + 2 = 166; 25/100+10/1/2026M04 -> 20*132 + 10*12 + 4 + 3 = 2767.
    assert doc["value"][0] == 245284 and cell(ds, Region="01", Alder="0-9", Kon="TotSa", Tid="2026M01")["varde"] == 245284
    assert doc["value"][1] == 247245 and cell(ds, Region="01", Alder="0-9", Kon="TotSa", Tid="2026M02")["varde"] == 247245
    assert doc["value"][132] == 38987 and cell(ds, Region="03", Alder="0-9", Kon="TotSa", Tid="2026M01")["varde"] == 38987
    assert doc["value"][166] == 31511 and cell(ds, Region="03", Alder="20-29", Kon="2", Tid="2026M03")["varde"] == 31511
    assert doc["value"][2767] == 9 and cell(ds, Region="25", Alder="100+10", Kon="1", Tid="2026M04")["varde"] == 9
    assert doc["value"][2771] == 54 and ds.frame.row(2771, named=True)["Kon"] == "2"
    assert ds.units == {"000007SF": "antal"}


def test_category_index_order_is_taken_from_index_not_label_order():
    # As in SSB's guide: index {"0": 0, "1": 2, "2": 1} puts code "2" second.
    doc = {"version": "2.0", "class": "dataset", "id": ["Kjonn", "Tid"], "size": [3, 2],
           "dimension": {"Kjonn": {"category": {"index": {"0": 0, "1": 2, "2": 1},
                                                "label": {"0": "Begge", "1": "Menn", "2": "Kvinner"}}},
                         "Tid": {"category": {"index": ["2024", "2025"]}}},
           "value": [10, 11, 20, 21, 30, 31]}
    ds = jsonstat.parse(doc, "t")
    assert ds.codes["Kjonn"] == ("0", "2", "1")
    assert cell(ds, Kjonn="2", Tid="2025")["varde"] == 21
    assert cell(ds, Kjonn="1", Tid="2024")["varde"] == 30


def status_doc():
    return {"id": ["Region", "ContentsCode", "Tid"], "size": [2, 1, 2],
            "dimension": {"Region": {"category": {"index": {"0114C1010": 0, "0114C1030_DeSO2025": 1}}},
                          "ContentsCode": {"category": {"index": {"X": 0}, "unit": {"X": {"base": "antal"}}}},
                          "Tid": {"category": {"index": {"2023": 0, "2024": 1}}}},
            "value": [5, None, None, 0], "status": {"1": "..", "2": "-"}}


def test_suppressed_cells_stay_null_and_keep_their_status():
    ds = jsonstat.parse(status_doc(), "t")
    assert ds.frame["symbol"].to_list() == [None, "..", "-", None]
    obs = jsonstat.to_observations(ds, niva="deso", region="Region", time="Tid", variables={"X": "v"},
                                   kalla="SCB T", where="t").observationer
    assert obs["omrade"].to_list() == ["0114C1010", "0114C1010", "0114C1030", "0114C1030"]
    # '..' is withheld (null, never zero); '-' is PX's nil: exactly zero
    assert obs["varde"].to_list() == [5.0, None, 0.0, 0.0]
    assert obs["status"].to_list() == [None, "undertryckt", None, None]
    assert obs["enhet"].unique().to_list() == ["antal"]


def test_area_codes_must_fit_the_level():
    ds = jsonstat.parse(status_doc(), "t")
    with pytest.raises(SourceError, match="ingen regso-kod"):
        jsonstat.to_observations(ds, niva="regso", region="Region", time="Tid", variables={"X": "v"},
                                 kalla="SCB T", where="t")


def area_doc(codes):
    return {"id": ["Region", "Tid"], "size": [len(codes), 1],
            "dimension": {"Region": {"category": {"index": {c: i for i, c in enumerate(codes)}}},
                          "Tid": {"category": {"index": {"2024": 0}}}},
            "value": list(range(len(codes)))}


def observations(codes, niva):
    ds = jsonstat.parse(area_doc(codes), "t")
    return jsonstat.to_observations(ds, niva=niva, region="Region", time="Tid", variables={"X": "v"},
                                    kalla="SCB T", enhet="antal", where="t")


def test_riket_00_is_stored_as_se():
    assert observations(["00"], "riket").observationer["omrade"].to_list() == ["SE"]


@pytest.mark.parametrize("code, niva", [("00", "lan"), ("0114C1010_RegSO2025", "deso"), ("0114R001_DeSO2025", "regso")])
def test_codes_whose_form_or_suffix_does_not_fit_the_level_fail(code, niva):
    with pytest.raises(SourceError, match=f"områdeskoden '{code}' är ingen {niva}-kod"):
        observations([code], niva)


def test_2025_codes_outside_the_2018_vintage_are_reported_not_stored():
    # 0114C1010 kept its code in DeSO 2025; 0126C1081 is new in 2025 (0126C1080 was split).
    res = observations(["0114C1010_DeSO2025", "0126C1081_DeSO2025"], "deso")
    assert res.observationer["omrade"].to_list() == ["0114C1010"]
    assert res.rapport == {"ej_kopplade": 1, "ej_kopplade_koder": ["0126C1081_DeSO2025"]}


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d.update(value=d["value"][:-1]), "3 värden men dimensionerna ger 4"),
        (lambda d: d["dimension"].pop("Tid"), "dimensionen 'Tid' saknas"),
        (lambda d: d.update(size=[2, 1, 3]), "har 2 kategorier men 'size' säger 3"),
        (lambda d: d.pop("value"), "saknar fältet 'value'"),
        (lambda d: d.update(value=[1, "x", 3, 4]), "icke-numeriska"),
        (lambda d: d.update(status={"7": ".."}), "utanför kuben"),
    ],
)
def test_partial_or_malformed_answers_fail_loudly(damage, message):
    doc = status_doc()
    damage(doc)
    with pytest.raises(SourceError, match=message):
        jsonstat.parse(doc, "SCB-tabell T")


def test_truncated_json_fails_naming_the_request():
    body = TAB6471.read_bytes()
    with pytest.raises(SourceError, match="SCB-tabell TAB6471: POST .*inte giltig JSON"):
        jsonstat.parse(body[: len(body) // 2], "SCB-tabell TAB6471: POST http://x/tables/TAB6471/data")


def test_150000_cells_parse_well_under_a_second():
    sizes = [500, 3, 2, 50]
    n = math.prod(sizes)
    rng = np.random.default_rng(1)
    values = rng.integers(0, 10_000, n).tolist()
    status = {str(i): ".." for i in range(0, n, 97)}
    for i in status:
        values[int(i)] = None
    doc = {"id": ["Region", "Kon", "ContentsCode", "Tid"], "size": sizes,
           "dimension": {d: {"category": {"index": {f"{d}{i}": i for i in range(s)}}}
                         for d, s in zip(["Region", "Kon", "ContentsCode", "Tid"], sizes, strict=False)},
           "value": values, "status": status}
    body = json.dumps(doc).encode()
    start = time.perf_counter()
    ds = jsonstat.parse(body, "stor")
    elapsed = time.perf_counter() - start
    assert ds.cells == 150_000 and elapsed < 1.0, elapsed
    assert ds.frame.row(97 * 3, named=True)["symbol"] == ".."
    last = ds.frame.row(n - 1, named=True)
    assert (last["Region"], last["Kon"], last["ContentsCode"], last["Tid"]) == ("Region499", "Kon2", "ContentsCode1", "Tid49")
    assert last["varde"] == values[-1]


def test_real_metadata_is_read_with_codelists_and_elimination():
    doc = json.loads((DATA / "TAB6471_metadata.json").read_text(encoding="utf-8"))
    meta = TableMetadata.from_jsonstat(doc, "TAB6471")
    assert list(meta.variables) == ["Region", "Alder", "Kon", "ContentsCode", "Tid"]
    region = meta.variable("region")  # case-insensitive, as the API
    assert len(region.codes) == 312 and region.codes[:3] == ("00", "01", "0114")
    assert "vs_CKM03Kommun" in region.codelists and region.elimination
    assert meta.variables["Tid"].is_time and meta.variables["ContentsCode"].is_contents
    assert not meta.variables["Tid"].elimination and meta.variables["Kon"].elimination
    with pytest.raises(InputError, match="ingen variabel 'Lan'"):
        meta.variable("Lan")


YEARS = [str(y) for y in range(2015, 2025)]
AREAS = ["01", "0114", "0115", "0117", "03", "0305"]


@pytest.mark.parametrize(
    "expr, is_time, domain, expected",
    [
        (["*"], False, AREAS, AREAS),
        (["01*"], False, AREAS, ["01", "0114", "0115", "0117"]),
        (["*5"], False, AREAS, ["0115", "0305"]),
        (["??"], False, AREAS, ["01", "03"]),
        (["top(3)"], True, YEARS, ["2022", "2023", "2024"]),
        (["top(2,1)"], True, YEARS, ["2022", "2023"]),
        (["bottom(2)"], True, YEARS, ["2015", "2016"]),
        (["top(2)"], False, AREAS, ["01", "0114"]),
        (["bottom(2)"], False, AREAS, ["03", "0305"]),
        (["range(2019,2021)"], True, YEARS, ["2019", "2020", "2021"]),
        (["from(2023)"], True, YEARS, ["2023", "2024"]),
        (["TO(2016)"], True, YEARS, ["2015", "2016"]),
        (["0114", "01*"], False, AREAS, ["0114", "01", "0115", "0117"]),
    ],
)
def test_selection_expressions(expr, is_time, domain, expected):
    assert expand(expr, domain, is_time=is_time) == expected


def test_unknown_code_names_variable_and_code():
    with pytest.raises(InputError, match="Tid: koden '2030' i 'from\\(2030\\)' finns inte"):
        expand(["from(2030)"], YEARS, is_time=True, where="Tid")


def test_split_largest_dimension_first_and_exact_cover():
    codes = {"Region": [f"r{i}" for i in range(21)], "Alder": [f"a{i}" for i in range(11)], "Tid": ["t1", "t2", "t3", "t4"]}
    parts = split(codes, 100, where="t")
    assert all(math.prod(len(p.get(v, codes[v])) for v in codes) <= 100 for p in parts)
    assert all("Region" in p for p in parts)  # the largest dimension was split first
    covered = [(r, a, t) for p in parts for r in p.get("Region", codes["Region"])
               for a in p.get("Alder", codes["Alder"]) for t in p.get("Tid", codes["Tid"])]
    assert len(covered) == len(set(covered)) == 21 * 11 * 4


def test_split_recurses_when_one_value_is_still_too_large():
    codes = {"A": ["a1", "a2", "a3"], "B": [f"b{i}" for i in range(10)]}
    parts = split(codes, 4, where="t")
    assert all(len(p.get("A", codes["A"])) * len(p.get("B", codes["B"])) <= 4 for p in parts)
    assert sum(len(p.get("A", codes["A"])) * len(p.get("B", codes["B"])) for p in parts) == 30


def test_split_that_cannot_get_under_the_limit_fails():
    with pytest.raises(SourceError, match="maxDataCells=0"):
        split({"A": ["a"]}, 0, where="SCB-tabell T")


def test_area_codelist_follows_the_2025_vintage_break():
    assert area_codelist("deso", 2023) == "vs_DeSO2018" and area_codelist("deso", "2024") == "vs_DeSO2025"
    assert area_codelist("regso", 2019) == "vs_RegSO2020" and area_codelist("regso", 2025) == "vs_RegSO2025"
    assert all(AREA_CODELISTS[area_codelist(n, y)][0] == n for n in ("deso", "regso") for y in (2020, 2024))
    with pytest.raises(InputError, match="inte 'kommun'"):
        area_codelist("kommun", 2020)
