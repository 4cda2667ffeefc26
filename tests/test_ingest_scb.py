"""SCB Statistikdatabasen exports: layout found by content, clear errors when it changes."""

import shutil

import openpyxl
import polars as pl
import pytest
from _shared import need_shared

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.sources.bundle import default_store
from utanforskap.sources.parsing import cell_status, swedish_number
from utanforskap.sources.scb_export import read_export

GEO = geography.default()


def scb_file(prefix):
    se = need_shared()
    return next((se / "scb_deso_2022").glob(f"{prefix}_*.xlsx"))


def edited_copy(tmp_path, prefix, edit):
    src = scb_file(prefix)
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    wb = openpyxl.load_workbook(dst)
    edit(wb.worksheets[0])
    wb.save(dst)
    return dst


@pytest.mark.parametrize(
    "prefix", ["000005F8", "000005FB", "000005FC", "000005FE", "000005FF", "000005FM", "000005LO", "000005MO", "000006OC", "000006TA", "000007A8"]
)
def test_every_export_reads_all_deso(prefix):
    df = read_export(scb_file(prefix), GEO)
    per_var = df.group_by("variabel").len()
    assert set(per_var["len"]) == {5984}
    assert df["niva"].unique().to_list() == ["deso"]
    assert df["status"].null_count() == df.height


def test_national_figures_from_the_raw_files():
    pop = read_export(scb_file("000005FF"), GEO).filter(pl.col("variabel") == "befolkning")
    assert pop["period"].unique().to_list() == ["2022"] and pop["varde"].sum() == 10_521_556
    am = read_export(scb_file("000007A8"), GEO)
    rate = am.filter(pl.col("variabel") == "sysselsatta_16_64")["varde"].sum() / am.filter(
        pl.col("variabel") == "befolkning_16_64"
    )["varde"].sum()
    assert round(100 * rate, 1) == 77.8
    low = read_export(scb_file("000006TA"), GEO).filter(pl.col("variabel") == "lag_ekonomisk_standard")
    assert round(100 * low["taljare"].sum() / low["namnare"].sum(), 1) == 13.6
    fc = read_export(scb_file("000005FC"), GEO)  # the year stands left of the codes
    assert fc["period"].unique().to_list() == ["2023"] and fc["varde"].sum() == 10_551_707


def test_percent_becomes_ratio_with_persons_as_denominator():
    df = read_export(scb_file("000006TA"), GEO)
    row = df.filter((pl.col("omrade") == "0114A0010") & (pl.col("variabel") == "lag_ekonomisk_standard")).row(0, named=True)
    assert (row["namnare"], row["taljare"], row["varde"], row["enhet"]) == (843.0, pytest.approx(0.07 * 843), 0.07, "andel")


def test_bundled_population_totals_and_rates():
    store = default_store()
    for level in ("deso", "regso", "kommun", "lan", "riket"):
        pop = store.read(niva=level, period="2022", variabler=["befolkning"])
        assert pop["varde"].sum() == 10_521_556, level
    riket = store.wide("riket", "2022", ["sysselsatta_16_64", "befolkning_16_64", "lag_ekonomisk_standard"])
    row = riket.row(0, named=True)
    assert round(100 * row["sysselsatta_16_64"] / row["befolkning_16_64"], 1) == 77.8
    assert round(100 * row["lag_ekonomisk_standard"], 1) == 13.6


@pytest.mark.slow
def test_header_rows_removed_gives_clear_error(tmp_path):
    path = edited_copy(tmp_path, "000007A8", lambda ws: ws.delete_rows(2, 5))
    with pytest.raises(InputError, match=r"000007A8_.*\.xlsx.*kolumnen med rubriken 'antal sysselsatta / totalt / 16-64 år' .* saknas"):
        read_export(path, GEO)


@pytest.mark.slow
def test_renamed_column_gives_clear_error(tmp_path):
    def rename(ws):
        ws["D4"] = "ensamstående förälder"

    path = edited_copy(tmp_path, "000005F8", rename)
    with pytest.raises(InputError, match=r"000005F8_.*, rad 2–4: kolumnen med rubriken 'ensamstående med barn'.*saknas"):
        read_export(path, GEO)


@pytest.mark.slow
def test_suppressed_cell_is_null_with_status_never_zero(tmp_path):
    def suppress(ws):
        ws["B5"] = ".."

    df = read_export(edited_copy(tmp_path, "000005F8", suppress), GEO)
    row = df.filter((pl.col("omrade") == "0114A0010") & (pl.col("variabel") == "hushall_sammanboende_med_barn")).row(0, named=True)
    assert row["varde"] is None and row["status"] == "undertryckt"
    total = df.filter((pl.col("omrade") == "0114A0010") & (pl.col("variabel") == "hushall_totalt")).row(0, named=True)
    assert total["varde"] is None and total["status"] == "undertryckt"


@pytest.mark.slow
def test_unknown_area_code_names_row_and_code(tmp_path):
    def bad_code(ws):
        ws["A10"] = "0114C9999"

    with pytest.raises(InputError, match=r"000005F8_.*, rad 10: okänd DeSO-kod '0114C9999'"):
        read_export(edited_copy(tmp_path, "000005F8", bad_code), GEO)


@pytest.mark.slow
def test_negative_count_names_row(tmp_path):
    def negative(ws):
        ws["C7"] = -5

    with pytest.raises(InputError, match=r"rad 7, kolumn C: negativt antal -5"):
        read_export(edited_copy(tmp_path, "000005FF", negative), GEO)


@pytest.mark.slow
def test_numerator_above_denominator_is_rejected(tmp_path):
    def over(ws):
        ws["B6"] = 130

    with pytest.raises(InputError, match=r"rad 6, kolumn B: andelen 130 % .* över 100 \(täljaren blir större än nämnaren\)"):
        read_export(edited_copy(tmp_path, "000006TA", over), GEO)


@pytest.mark.slow
def test_unexpected_new_column_is_rejected(tmp_path):
    def extra(ws):
        ws["F4"] = "nyckeltal"
        for r in range(5, ws.max_row):
            if ws.cell(r, 1).value and str(ws.cell(r, 1).value)[:4].isdigit():
                ws.cell(r, 6).value = 1

    with pytest.raises(InputError, match=r"oväntad kolumn F med rubriken 'nyckeltal'"):
        read_export(edited_copy(tmp_path, "000006OC", extra), GEO)


def test_swedish_numbers_and_symbols_in_cells():
    cells = pl.DataFrame({"c": ["1 234,5", "1\u00a0234", "12", "..", " . ", "-", "", "abc", None]})
    out = cells.select(n=swedish_number(pl.col("c")), s=cell_status(pl.col("c")))
    assert out["n"].to_list() == [1234.5, 1234.0, 12.0, None, None, None, None, None, None]
    assert out["s"].to_list() == [None, None, None, "undertryckt", "saknas", None, None, None, None]


def test_mapping_errors_name_the_file_and_key():
    from utanforskap.sources.scb_export import load_mapping

    text = 'tabell = "X"\ntitel = "t"\n[[kolumn]]\nrubrik = ["a"]\nvariabel = "v"\ntyp = "summa"\n'
    with pytest.raises(InputError, match=r"^X.toml: kolumn.0.typ: ogiltigt värde 'summa'; tillåtna: 'antal', 'varde' eller 'procent'$"):
        load_mapping(text, "X.toml")
