"""Polisen: crimes per DeSO (with rows lacking a DeSO kept) and the utsatta områden lists."""

import re

import polars as pl
import pytest
from _shared import need_shared

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.sources import polisen

GEO = geography.default()


def crime_files():
    return sorted((need_shared() / "crime_polisen_deso").glob("*.csv"))


@pytest.fixture(scope="module")
def crimes():
    return polisen.read_crimes(crime_files(), GEO)


def test_counts_per_deso_match_hand_count(crimes):
    raw = pl.read_csv(need_shared() / "crime_polisen_deso" / "bilbrand_brott.csv", infer_schema=False)
    hand = raw.filter((pl.col("DeSO.område") == "0581C1070") & pl.col("Inskrivningsdatum").str.starts_with("2022")).height
    got = crimes.observationer.filter(
        (pl.col("omrade") == "0581C1070") & (pl.col("variabel") == "brott_1211") & (pl.col("period") == "2022")
    )
    assert hand > 0 and got["varde"][0] == hand


def test_no_row_is_dropped_silently(crimes):
    obs, rep = crimes.observationer, crimes.rapport
    one = obs.filter(pl.col("variabel").str.contains(r"^brott_\d{4}(_utan_deso)?$"))
    assert one["varde"].sum() + rep["fore_2019_utelamnade"] == rep["rader"] == 35029
    utan = obs.filter(pl.col("variabel") == "brott_urval_utan_deso")
    assert set(utan["status"]) == {"saknas"}
    by_level = dict(utan.group_by("niva").agg(pl.col("varde").sum()).iter_rows())
    assert by_level == {"kommun": rep["utan_deso_med_kommun"], "lan": rep["utan_deso_och_kommun_med_lan"], "riket": rep["utan_plats"]}


def test_every_deso_has_every_period_and_2019_is_unknown_not_zero(crimes):
    deso = crimes.observationer.filter((pl.col("niva") == "deso") & (pl.col("variabel") == "brott_1210"))
    assert deso.height == 5984 * 6
    y2019 = deso.filter(pl.col("period") == "2019")
    assert y2019["varde"].null_count() == 5984 and set(y2019["status"]) == {"saknas"}
    assert deso.filter(pl.col("period") == "2022")["varde"].null_count() == 0
    assert "2024K1" in crimes.rapport["perioder"]


def _copy(tmp_path, edit):
    src = need_shared() / "crime_polisen_deso" / "upplopp_brott.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    dst = tmp_path / src.name
    dst.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return dst


def test_unknown_deso_code_names_file_row_code(tmp_path):
    path = _copy(tmp_path, lambda ls: [ls[0], ls[1].replace("0126C1510", "0126C1599"), *ls[2:]])
    with pytest.raises(InputError, match=r"upplopp_brott.csv, rad 2: okänd DeSO-kod '0126C1599'"):
        polisen.read_crimes([path], GEO)


def test_negative_count_is_rejected(tmp_path):
    path = _copy(tmp_path, lambda ls: [ls[0], ls[1], ls[2][: ls[2].rfind(",")] + ",-1", *ls[3:]])
    with pytest.raises(InputError, match=r"upplopp_brott.csv, rad 3: ogiltigt antal '-1'"):
        polisen.read_crimes([path], GEO)


def test_renamed_column_is_named(tmp_path):
    path = _copy(tmp_path, lambda ls: [ls[0].replace('"DeSO.område"', '"DeSO"'), *ls[1:]])
    with pytest.raises(InputError, match=r"upplopp_brott.csv, rad 1: kolumnen 'DeSO.område' saknas"):
        polisen.read_crimes([path], GEO)


def test_uso_2025_joins_regso_and_reports_split_deso():
    res = polisen.read_uso_2025(
        need_shared() / "police_utsatta_omraden" / "polisen_uso_2025_overlap_deso2025_regso2025_kommun.csv", GEO
    )
    cat = res.observationer.filter(pl.col("variabel") == "polisen_uso_2025")
    assert cat.height == 3363
    assert dict(cat.group_by("varde").len().iter_rows()) == {0.0: 3183, 1.0: 126, 2.0: 54}
    ref = res.referens["polisen_uso_2025"]
    assert ref.height == 585 and res.rapport["ej_kopplade"] == 25
    assert ref.filter(pl.col("ej_kopplad_orsak").is_not_null())["niva"].unique().to_list() == ["deso"]


def _uso_2025_copy(tmp_path, column, value):
    """The 2025 list with `column` of its first data row (file row 2) set to `value`."""
    src = need_shared() / "police_utsatta_omraden" / "polisen_uso_2025_overlap_deso2025_regso2025_kommun.csv"
    header, first, *rest = src.read_text(encoding="utf-8").splitlines()
    cells = first.split(";")
    cells[header.split(";").index(column)] = value
    dst = tmp_path / src.name
    dst.write_text("\n".join([header, ";".join(cells), *rest]) + "\n", encoding="utf-8")
    return dst


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("class", "", r"rad 2: okänd klass None"),  # empty is not 'ej utpekat'
        ("class", "okand", r"rad 2: okänd klass 'okand'"),
        ("level", "", r"rad 2: okänd nivå None"),
        ("level", "lan", r"rad 2: okänd nivå 'lan'"),
    ],
)
def test_uso_2025_rejects_empty_or_unknown_class_and_level(tmp_path, column, value, message):
    with pytest.raises(InputError, match=message):
        polisen.read_uso_2025(_uso_2025_copy(tmp_path, column, value), GEO)


def test_uso_2023_placed_in_kommun(tmp_path):
    res = polisen.read_uso_2023(need_shared() / "police_utsatta_omraden" / "uso_2023.shp", GEO)
    ref = res.referens["polisen_uso_2023"]
    assert ref.height == 59 and ref["kommun_kod"].null_count() == 0
    assert dict(ref.group_by("kategori").len().iter_rows()) == {"Utsatt område": 27, "Särskilt utsatt område": 17, "Riskområde": 15}
    assert ref.filter(pl.col("namn") == "Rosengård")["kommun_kod"][0] == "1280"
    finnsta = ref.filter(pl.col("namn") == "Finnsta").row(0, named=True)  # ORT "Upplands Bro"
    assert finnsta["kommun_kod"] == "0139" and finnsta["placering"] == "ortnamn"


def test_uso_2023_missing_attribute(tmp_path):
    import geopandas as gpd

    src = need_shared() / "police_utsatta_omraden" / "uso_2023.shp"
    gdf = gpd.read_file(src).drop(columns=["KATEGORI"])
    out = tmp_path / "uso_2023.shp"
    gdf.to_file(out)
    with pytest.raises(InputError, match="attributet 'KATEGORI' saknas"):
        polisen.read_uso_2023(out, GEO)


def test_no_crime_files_or_no_crimes_from_2019_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="inga brottsfiler att läsa"):
        polisen.read_crimes([], GEO)
    # Every registration date moved to 2018: nothing is left in the years the extract covers.
    old = _copy(tmp_path, lambda ls: [ls[0], *(re.sub(r'"20\d\d-', '"2018-', ln) for ln in ls[1:])])
    assert pl.read_csv(old, infer_schema=False)["Inskrivningsdatum"].str.starts_with("2018").all()
    with pytest.raises(InputError, match=r"upplopp_brott.csv: inga brott registrerade 2019 eller senare"):
        polisen.read_crimes([old], GEO)


def test_unreadable_crime_file_is_named(tmp_path):
    broken = tmp_path / "upplopp_brott.csv"
    broken.write_bytes(b"")
    with pytest.raises(InputError, match=r"^upplopp_brott.csv: kan inte läsa filen som CSV \(empty CSV\)$"):
        polisen.read_crimes([broken], GEO)
