"""The column-wise xlsx writer: what goes in comes back out through openpyxl and fastexcel."""

import math

import openpyxl
import polars as pl

from utanforskap.followup import workbook


def test_values_round_trip(tmp_path):
    df = pl.DataFrame({
        "RegSO-kod": ["0114R001", "0180R024", None],
        "Text & <tecken>": ["a & b", "<x>\x01", "åäö"],
        "Antal": [1, None, 3],
        "Andel": [0.25, float("nan"), float("inf")],
        "Flagga": [True, False, None],
    })
    path = tmp_path / "b.xlsx"
    workbook.write(path, [("Områden per år", df), ("Tom", df.head(0)), ("Namn [med] / tecken: som är för långt för ett blad", df)])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Områden per år", "Tom", "Namn -med- - tecken- som är för"]
    ws = wb["Områden per år"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("RegSO-kod", "Text & <tecken>", "Antal", "Andel", "Flagga")
    assert rows[1] == ("0114R001", "a & b", 1, 0.25, True)
    assert rows[2] == ("0180R024", "<x>", None, None, False)  # NaN is an empty cell, the control character dropped
    assert rows[3] == (None, "åäö", 3, None, None)  # so is inf
    assert ws["A1"].font.b and ws.freeze_panes == "A2"
    back = pl.read_excel(path, sheet_name="Områden per år")
    assert back.height == 3 and back["Antal"].to_list() == [1, None, 3]
    assert [x for x in back["Andel"].to_list() if x is not None and not math.isnan(x)] == [0.25]
    assert list(wb["Tom"].iter_rows(values_only=True)) == [tuple(df.columns)]
