"""Skolverket's year-9 grades per school: placed in kommun, summable counts, clear errors."""

import polars as pl
import pytest
from _shared import need_shared

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.sources import skolverket

GEO = geography.default()
NAME = "Grundskola_Slutbetyg_ak9_samtliga_elever_2024-25_Skolenhet.csv"


def src():
    return need_shared() / "schools_skolverket" / NAME


def edited(tmp_path, edit):
    lines = src().read_text(encoding="utf-8-sig").splitlines()
    out = tmp_path / NAME
    out.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return out


def test_kommun_sums_match_hand_computation():
    res = skolverket.read_grades(src(), GEO)
    raw = pl.read_csv(src(), separator=";", skip_rows=5, infer_schema=False).filter(pl.col("Kommun-kod") == "0180")
    pupils = raw["Antal elever"].cast(pl.Float64, strict=False)
    obs = res.observationer.filter(pl.col("omrade") == "0180")
    assert obs.filter(pl.col("variabel") == "elever_ak9")["varde"][0] == pupils.sum()
    share = raw["Andel (%) elever behöriga till yrkesprog."].str.replace("~", "").str.replace(",", ".").cast(pl.Float64, strict=False)
    both = pupils.is_not_null() & share.is_not_null()
    row = obs.filter(pl.col("variabel") == "behoriga_yrkesprogram_ak9").row(0, named=True)
    assert row["namnare"] == pupils.filter(both).sum()
    assert row["taljare"] == pytest.approx((share / 100 * pupils).filter(both).sum())
    assert res.observationer["period"].unique().to_list() == ["2024/25"]
    assert res.rapport["skolenheter"] == 1714 and res.rapport["kommuner_med_skolor"] == 290
    assert res.referens["skolenheter_ak9"].height == 1714


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda ls: ls[:5] + ls[6:], r"rubrikraden saknas .*'Skol-enhetskod'"),
        (lambda ls: ls[:5] + [ls[5].replace("Antal elever", "Elever")] + ls[6:], r"rad 6: kolumnen 'Antal elever' saknas"),
        (lambda ls: ls[:6] + [ls[6].replace(";0604;", ";0699;")] + ls[7:], r"rad 7: okänd kommunkod '0699'"),
    ],
    ids=["rubrikrad_saknas", "kolumn_omdopt", "okand_kommunkod"],
)
def test_changed_layout_and_unknown_code_are_reported(tmp_path, edit, message):
    with pytest.raises(InputError, match=message):
        skolverket.read_grades(edited(tmp_path, edit), GEO)


def test_share_above_100_and_negative_pupils(tmp_path):
    over = edited(tmp_path, lambda ls: ls[:8] + [ls[8].replace(";10;..;..;..", ";10;..;120;..")] + ls[9:])
    with pytest.raises(InputError, match=r"rad 9: andelen 120 % .*täljaren blir större än nämnaren"):
        skolverket.read_grades(over, GEO)
    neg = edited(tmp_path, lambda ls: ls[:8] + [ls[8].replace(";10;..;..;..", ";-10;..;..;..")] + ls[9:])
    with pytest.raises(InputError, match=r"rad 9: negativt antal elever -10"):
        skolverket.read_grades(neg, GEO)


def test_row_with_more_fields_than_the_header_is_named(tmp_path):
    ragged = edited(tmp_path, lambda ls: ls[:8] + [ls[8] + ";extra;fält"] + ls[9:])
    with pytest.raises(InputError, match=rf"^{NAME}: kan inte läsa filen som CSV \(found more fields"):
        skolverket.read_grades(ragged, GEO)


def blank_cell(tmp_path, column):
    """The file with the cell in `column` (0-based) of its 9th line (the third school) emptied."""
    return edited(tmp_path, lambda ls: ls[:8] + [";".join("" if i == column else c for i, c in enumerate(ls[8].split(";")))] + ls[9:])


def test_school_without_kommun_code_is_named_not_dropped(tmp_path):
    with pytest.raises(InputError, match=rf"^{NAME}, rad 9: kommunkod saknas"):
        skolverket.read_grades(blank_cell(tmp_path, 3), GEO)  # Kommun-kod


def test_school_without_school_code_is_named(tmp_path):
    with pytest.raises(InputError, match=rf"^{NAME}, rad 9: ogiltig skolenhetskod None"):
        skolverket.read_grades(blank_cell(tmp_path, 1), GEO)  # Skol-enhetskod


def test_a_blank_line_inside_the_table_is_not_its_end(tmp_path):
    cut = edited(tmp_path, lambda ls: ls[:100] + [";" * 10] + ls[100:])
    with pytest.raises(InputError, match=rf"^{NAME}, rad 102: skolenheten \d+ står efter den tomma raden 101"):
        skolverket.read_grades(cut, GEO)
