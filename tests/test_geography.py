"""Geography: the bundled hierarchy, mappings, code parsing and 2025 vintages."""

import polars as pl
import pytest

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.geography import Geography, parse_code


def test_bundled_counts_per_level():
    counts = {lv: geography.areas(lv).height for lv in ("deso", "regso", "kommun", "lan", "riket")}
    assert counts == {"deso": 5984, "regso": 3363, "kommun": 290, "lan": 21, "riket": 1}


def test_areas_carry_names_of_every_parent():
    regso = geography.areas("regso")
    assert regso.columns[:7] == ["regso_kod", "regso_namn", "kommun_kod", "kommun_namn", "lan_kod", "lan_namn", "riket_kod"]
    row = regso.filter(pl.col("regso_kod") == "0114R001").row(0, named=True)
    assert (row["regso_namn"], row["kommun_namn"], row["lan_namn"]) == ("Bollstanäs", "Upplands Väsby", "Stockholms län")
    assert geography.areas("lan")["lan_namn"].null_count() == 0


def test_mapping_child_to_parent():
    m = geography.mapping("deso", "regso")
    assert m.columns == ["deso_kod", "regso_kod"] and m.height == 5984
    assert m.filter(pl.col("deso_kod") == "0114C1180")["regso_kod"][0] == "0114R002"
    assert geography.mapping("regso", "lan").height == 3363
    with pytest.raises(InputError, match="målnivån måste vara större"):
        geography.mapping("kommun", "deso")


@pytest.mark.parametrize(
    "code, expected",
    [
        ("0114C1010_DeSO2025", ("0114C1010", "deso", "2025")),
        ("0114R001_RegSO2025", ("0114R001", "regso", "2025")),
        ("0114C1010", ("0114C1010", "deso", "2018")),
        ("0114R001", ("0114R001", "regso", "2020")),
        ("0114", ("0114", "kommun", None)),
        ("01", ("01", "lan", None)),
        ("00", ("SE", "riket", None)),
    ],
)
def test_parse_code(code, expected):
    assert tuple(parse_code(code)) == expected


def test_parse_code_rejects_mismatched_suffix_and_garbage():
    for bad in ("0114R001_DeSO2025", "0114X1010", "abc"):
        with pytest.raises(InputError, match="okänd områdeskod"):
            parse_code(bad)


def test_join_vintage_reports_unknown_codes_never_drops():
    df = pl.DataFrame({"kod": ["0114C1010_DeSO2025", "0126C1081_DeSO2025", "0114R001_RegSO2025", "nonsens"], "x": [1, 2, 3, 4]})
    res = geography.default().join_vintage(df, "kod")
    assert res.matched["omrade"].to_list() == ["0114C1010", "0114R001"]
    assert res.matched.height + res.unmatched.height == df.height
    reasons = dict(zip(res.unmatched["kod"], res.unmatched["orsak"], strict=True))
    assert "finns inte i DeSO 2018" in reasons["0126C1081_DeSO2025"]
    assert reasons["nonsens"] == "okänd kodform"


def test_check_codes_names_file_row_and_code():
    df = pl.DataFrame({"kod": ["0114C1010", "9999C9999"], "rad": [7, 8]})
    with pytest.raises(InputError, match=r"fil.csv, rad 8: okänd DeSO-kod '9999C9999'"):
        geography.default().check_codes(df, "kod", "deso", "fil.csv", row_column="rad")


def test_key_file_with_missing_column_is_named(tmp_path):
    path = tmp_path / "nyckel.csv"
    path.write_text("\ufeffKommun,Kommunnamn,DeSO_2018,RegSO_2020\n0114,Upplands Väsby,0114C1010,Bollstanäs\n", encoding="utf-8")
    with pytest.raises(InputError, match="rad 1: kolumnen 'RegSOkod_2020' saknas"):
        Geography.from_key_file(path)


def test_key_file_round_trip_from_shared_matches_bundle():
    from _shared import need_shared

    se = need_shared()
    built = Geography.from_key_file(se / "keys" / "koppling-deso2018-regso2020.csv")
    assert built.table.equals(geography.default().table)
