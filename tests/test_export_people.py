"""Exports a Swedish user opens directly: the CSV read as Swedish Excel reads it, the xlsx's
headers, formats, frozen row, autofilter and column sheet; the machine CSV alongside."""

import csv
import io

import openpyxl
import polars as pl
import pytest

from utanforskap.results import export, karta


@pytest.fixture(scope="module")
def written(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    files = export.write_all(result, karta.summarize(result), None, out)
    return result, files


def excel_sv(raw: bytes) -> list[list[str]]:
    """What Excel with Swedish settings does: the BOM says UTF-8, `;` separates fields."""
    assert raw[:3] == b"\xef\xbb\xbf", "ingen BOM: Excel skulle läsa filen som Windows-1252"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8")), delimiter=";"))


def sv_float(cell: str) -> float:
    assert "." not in cell, cell
    return float(cell.replace(",", "."))


def test_people_csv_opens_as_columns_in_swedish_excel(written):
    result, files = written
    rows = excel_sv(files["omraden"].read_bytes())
    header, body = rows[0], rows[1:]
    assert len(header) > 10 and "regso_kod" in header and "andel_sysselsatta" in header
    assert len(body) == result.areas.height and all(len(r) == len(header) for r in body)
    col = header.index("andel_sysselsatta")
    values = [sv_float(r[col]) for r in body if r[col]]
    assert 0 < min(values) < max(values) < 1 and any("," in r[col] for r in body)
    names = {r[header.index("regso_namn")] for r in body}
    assert any(ch in n for n in names for ch in "åäö")  # å/ä/ö survive
    got = dict(zip(header, body[0], strict=False))
    want = result.areas.row(0, named=True)
    assert got["regso_kod"] == want["regso_kod"] and int(got["befolkning"]) == want["befolkning"]


def test_machine_csv_is_plain_and_equal(written):
    result, files = written
    raw = files["omraden_maskin"].read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    m = pl.read_csv(raw, schema_overrides={"regso_kod": pl.String, "kommun_kod": pl.String, "lan_kod": pl.String})
    p = pl.read_csv(files["omraden"], separator=";", decimal_comma=True, schema_overrides={"regso_kod": pl.String, "kommun_kod": pl.String, "lan_kod": pl.String})
    assert m.equals(p) and m.height == result.areas.height
    listed = pl.read_csv(files["listade_maskin"], infer_schema_length=0)
    assert listed.height == result.areas.filter(pl.col("klass").is_not_null()).height > 0


def test_xlsx_has_swedish_headers_percent_formats_frozen_row_autofilter_and_column_sheet(written):
    result, files = written
    wb = openpyxl.load_workbook(files["listade_xlsx"])
    ws = wb["Listade områden"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["RegSO-kod", "Område", "Kommunkod", "Kommun"]
    assert "Svag arbetsmarknadsetablering: värde" in header and not any("_" in h for h in header)
    col = header.index("Svag arbetsmarknadsetablering: värde") + 1
    cell = ws.cell(row=2, column=col)
    assert cell.number_format == "0.0%" and 0 < cell.value < 1
    assert ws.freeze_panes == "C2"
    assert ws.tables or ws.auto_filter.ref  # an Excel table carries its own autofilter
    table = next(iter(ws.tables.values())) if ws.tables else None
    assert table is None or table.autoFilter is not None
    assert wb["Per kommun"].freeze_panes is not None
    cols = [[c.value for c in row] for row in wb["Kolumner"].iter_rows()]
    assert cols[0] == ["Kolumn", "Fältnamn (CSV)", "Beskrivning", "Källa"]
    described = {r[1]: r for r in cols[1:]}
    assert "andel_sysselsatta" in described and "SCB" in described["andel_sysselsatta"][3]
    assert "proxy" in described["andel_lag_ekonomisk_standard"][2]
    assert all(r[2] for r in cols[1:]), "varje kolumn ska ha en beskrivning"


def test_kommun_xlsx_for_the_web(result):
    table = export.areas_table(result).filter(pl.col("kommun_kod") == "0127")
    wb = openpyxl.load_workbook(io.BytesIO(export.table_xlsx(result, table, "Botkyrka")))
    assert wb.sheetnames == ["Botkyrka", "Kolumner"]
    ws = wb["Botkyrka"]
    assert ws.cell(1, 1).value == "RegSO-kod" and ws.max_row == table.height + 1 and ws.freeze_panes == "C2"
