"""Issue 9: bad input cells, bad files and bad TOML give one Swedish line, never a wrong figure.

Each test here failed before the fix it guards (see the issue's "Silent wrong results" and
"Errors users can read").
"""

from __future__ import annotations

import textwrap

import polars as pl
import pytest

from cli_helpers import cli
from test_method_errors import GOOD_METHOD, run_bad, setup
from utanforskap.errors import InputError, MethodError
from utanforskap.methods import data, engine, loader


def _prepare(tmp_path, table: str, method: str = GOOD_METHOD, name: str = "data.csv"):
    m, d = setup(tmp_path, method, table, name)
    return data.prepare(loader.load(m), data.read_table(d), str(d))


@pytest.mark.parametrize("cell", ["inf", "-inf", "1e400", "NaN", "nan", "Infinity"])
def test_a_non_finite_csv_cell_is_an_error_naming_row_and_column(tmp_path, cell):
    with pytest.raises(InputError, match=rf"data.csv: rad 3, kolumn y: '{cell}' är inte ett ändligt tal"):
        _prepare(tmp_path, f"id,x,y\na,1,2\nb,2,{cell}\n")


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_a_non_finite_parquet_cell_is_an_error_naming_row_and_column(tmp_path, value):
    m, _ = setup(tmp_path)
    path = tmp_path / "in.parquet"
    pl.DataFrame({"id": ["a", "b", "c"], "x": [1.0, 2.0, value], "y": [1.0, 2.0, 3.0]}).write_parquet(path)
    with pytest.raises(InputError, match=r"in.parquet: rad 3, kolumn x: .* är inte ett ändligt tal"):
        data.prepare(loader.load(m), data.read_table(path), str(path))


def test_nan_is_missing_where_the_method_declares_it(tmp_path):
    method = GOOD_METHOD.replace("saknas = [-999]", 'saknas = [-999, "NaN"]')
    out = _prepare(tmp_path, "id,x,y\na,1,2\nb,NaN,3\nc,-999,4\n", method)
    assert out["x"].to_list() == [1.0, None, None]


def test_inf_over_inf_no_longer_flags_an_area(tmp_path):
    """Before: inf/inf became NaN and the area was flagged. Now the run stops."""
    message, _, _ = run_bad(tmp_path, table="id,x,y\na,1,2\nb,inf,3\nc,2,4\n")
    assert "rad 3, kolumn x" in message and "inte ett ändligt tal" in message


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_parameter_overrides_must_be_finite(tmp_path, value):
    m, d = setup(tmp_path)
    res = cli("berakna", m, "--data", d, "-p", f"grans={value}")
    assert res.returncode == 2 and "inte ett ändligt tal" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(InputError, match="inte ett ändligt tal"):
        engine.resolve_parameters(loader.load(m), {"grans": float(value)})


def test_a_duplicated_column_header_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"data.csv: rubrikraden har kolumnen 'x' två gånger \(kolumn 2 och 4\)"):
        _prepare(tmp_path, "id,x,y,x\na,1,2,9\n")


def test_ragged_rows_are_named_in_swedish(tmp_path):
    with pytest.raises(InputError, match=r"data.csv: rad 3 har 4 fält men rubrikraden 3") as err:
        _prepare(tmp_path, "id,x,y\na,1,2\nb,2,3,4\n")
    assert "truncate_ragged_lines" not in str(err.value)


def test_a_semicolon_csv_suggests_the_separator(tmp_path):
    with pytest.raises(InputError, match=r"semikolon"):
        _prepare(tmp_path, "id;x;y\na;1;2\n")


def test_cr_only_line_endings_are_read(tmp_path):
    out = _prepare(tmp_path, "id,x,y\ra,1,2\rb,2,3\r")
    assert out["id"].to_list() == ["a", "b"]


def test_a_folder_as_data_says_folder(tmp_path):
    m, _ = setup(tmp_path)
    res = cli("berakna", m, "--data", tmp_path)
    assert res.returncode == 2 and "är en mapp" in res.stderr and "finns inte" not in res.stderr


def test_a_parquet_list_column_is_one_line(tmp_path):
    m, _ = setup(tmp_path)
    path = tmp_path / "lista.parquet"
    pl.DataFrame({"id": ["a", "b"], "x": [[1.0], [2.0]], "y": [1.0, 2.0]}).write_parquet(path)
    res = cli("berakna", m, "--data", path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "kolumn x har typen" in res.stderr and "lista" in res.stderr


def test_a_negative_denominator_says_negative(tmp_path):
    method = GOOD_METHOD + '\n[[steg]]\nnamn = "andel"\ntyp = "kvot"\ntaljare = "x"\nnamnare = "y"\nandel = true\n'
    message, _, _ = run_bad(tmp_path, method=method, table="id,x,y\na,1,2\nb,3,-4\n")
    assert "nämnaren y = -4 är negativ för id b" in message and "större än" not in message
