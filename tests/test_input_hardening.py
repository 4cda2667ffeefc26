"""Issue 9: bad input cells, bad files and bad TOML give one Swedish line, never a wrong figure.

The tests of defects here failed on the code before the fix (see the issue's "Silent wrong results" and
"Errors users can read").
"""

from __future__ import annotations

import os

import polars as pl
import pytest
from cli_helpers import cli
from test_method_errors import GOOD_METHOD, run_bad, setup

from utanforskap.errors import InputError
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


@pytest.mark.slow
def test_inf_over_inf_no_longer_flags_an_area(tmp_path):
    """Before: inf/inf became NaN and the area was flagged. Now the run stops."""
    message, _, _ = run_bad(tmp_path, table="id,x,y\na,1,2\nb,inf,3\nc,2,4\n")
    assert "rad 3, kolumn x" in message and "inte ett ändligt tal" in message


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_folder_as_data_says_folder(tmp_path):
    m, _ = setup(tmp_path)
    res = cli("berakna", m, "--data", tmp_path)
    assert res.returncode == 2 and "är en mapp" in res.stderr and "finns inte" not in res.stderr


@pytest.mark.slow
def test_a_parquet_list_column_is_one_line(tmp_path):
    m, _ = setup(tmp_path)
    path = tmp_path / "lista.parquet"
    pl.DataFrame({"id": ["a", "b"], "x": [[1.0], [2.0]], "y": [1.0, 2.0]}).write_parquet(path)
    res = cli("berakna", m, "--data", path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "kolumn x har typen" in res.stderr and "lista" in res.stderr


@pytest.mark.slow
def test_a_negative_denominator_says_negative(tmp_path):
    method = GOOD_METHOD + '\n[[steg]]\nnamn = "andel"\ntyp = "kvot"\ntaljare = "x"\nnamnare = "y"\nandel = true\n'
    message, _, _ = run_bad(tmp_path, method=method, table="id,x,y\na,1,2\nb,3,-4\n")
    assert "nämnaren y = -4 är negativ för id b" in message and "större än" not in message


# ---- errors users can read: Rich markup in user text -------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["[bold]x.csv", "[/x]a.csv"])
def test_user_text_is_printed_escaped(tmp_path, name):
    """A file named like Rich markup is shown as named; '[/x]' used to crash with MarkupError."""
    m, _ = setup(tmp_path)
    res = cli("berakna", m, "--data", tmp_path / name)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "MarkupError" not in res.stderr
    assert name in res.stderr, res.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["[bold]x.csv", "[/x]a.csv"])
def test_an_output_named_like_markup_is_shown_as_named(tmp_path, name):
    m, d = setup(tmp_path)
    res = cli("berakna", m, "--data", d, "--ut", tmp_path / name)
    assert res.returncode == 0 and name in res.stdout, res.stdout + res.stderr


@pytest.mark.slow
def test_a_hint_in_brackets_survives(tmp_path):
    message, _, _ = run_bad(tmp_path, method=GOOD_METHOD.replace('{ parameter = "grans" }', '{ parameter = "gräns" }'))
    assert "deklarera den under [parametrar.gräns]" in message


@pytest.mark.slow
def test_method_file_text_is_not_markup(tmp_path):
    m, _ = setup(tmp_path, GOOD_METHOD.replace('titel = "Liten testmetod"', 'titel = "[red]Röd[/red] [/x]"'))
    res = cli("metoder", "--visa", m)
    assert res.returncode == 0, res.stderr
    assert "[red]Röd[/red] [/x]" in res.stdout


# ---- microdata: a NaN is an error, never a published NaN ------------------------------------------
def _persons_file(tmp_path, **override):
    from microdata_helpers import persons_frame

    rows = [dict(deso="0114A0010", **override)] + [dict(deso="0114A0010")] * 20
    path = tmp_path / "personer.parquet"
    persons_frame(rows).write_parquet(path)  # polars leaves NaN out of the Parquet statistics
    return path


@pytest.mark.slow
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_aggregera_refuses_nan_sickness_days(tmp_path, value):
    path = _persons_file(tmp_path, ohalsodagar=value)
    res = cli("aggregera", "--mikrodata", path, "--ut", tmp_path / "ut.parquet")
    assert res.returncode == 2, res.stdout
    assert "ohalsodagar" in res.stderr and "rad 1" in res.stderr and "Traceback" not in res.stderr
    assert "nan dagar" not in res.stdout and not (tmp_path / "ut.parquet").exists()


def test_the_store_refuses_a_non_finite_value():
    from utanforskap.observations import schema

    row = dict(omrade="0114A0010", niva="deso", period="2022", variabel="x", varde=float("nan"), taljare=None,
               namnare=None, enhet="antal", status=None, kalla="test")
    with pytest.raises(InputError, match="varde = nan är inte ett ändligt tal"):
        schema.conform(pl.DataFrame([row]), "test")


# ---- outputs that cannot be written: one line, before the work ------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["karta", "--ut", "{fil}"],
        ["karta", "--ut", "{fil}/under"],
        ["rapport", "--riket", "--ut", "{fil}"],
        ["syntetisk", "--personer", "100", "--ut", "{fil}/p.parquet"],
        ["berakna", "{metod}", "--data", "{data}", "--ut", "{fil}/ut.csv"],
        ["berakna", "{metod}", "--data", "{data}", "--ut", "/proc/self/ut.csv"],
        ["aggregera", "--mikrodata", "{personer}", "--lager", "{fil}"],
        ["aggregera", "--mikrodata", "{personer}", "--lager", "{fil}/lager"],
        ["kalibrera", "--ut", "{fil}/x.toml"],
    ],
    ids=["karta-fil", "karta-under-fil", "rapport-fil", "syntetisk-under-fil", "berakna-under-fil", "berakna-proc",
         "aggregera-lager-fil", "aggregera-lager-under-fil", "kalibrera-under-fil"],
)
@pytest.mark.slow
def test_an_output_that_cannot_be_written_is_one_line(tmp_path, args):
    m, d = setup(tmp_path)
    (tmp_path / "fil").write_text("en fil, inte en mapp")
    values = dict(fil=tmp_path / "fil", metod=m, data=d, personer=_persons_file(tmp_path))
    res = cli(*[a.format(**values) for a in args])
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Fel: ") and "Traceback" not in res.stderr, res.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to read-only folders")
def test_a_read_only_output_folder_is_one_line(tmp_path):
    m, d = setup(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    res = cli("berakna", m, "--data", d, "--ut", ro / "ut.csv")
    assert res.returncode == 2 and "skrivbehörighet" in res.stderr and "Traceback" not in res.stderr


# ---- syntetisk: memory is estimated before drawing -------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("personer", ["1000000000000", "200000000"])
def test_syntetisk_refuses_what_the_machine_cannot_hold(tmp_path, personer):
    """Before: 10^12 ended in MemoryError, 200 000 000 grew to 24 GB and was killed."""
    from utanforskap.microdata import synthetic

    if synthetic.available_memory() is None or synthetic.memory_needed(int(personer)) < synthetic.available_memory():
        pytest.skip("this machine could hold them")
    res = cli("syntetisk", "--personer", personer, "--ut", tmp_path / "p.parquet", timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "MemoryError" not in res.stderr
    assert "GB minne" in res.stderr and "välj högst omkring" in res.stderr
    assert not (tmp_path / "p.parquet").exists()


def test_the_memory_estimate_gives_the_figures():
    from utanforskap.microdata import synthetic

    synthetic.check_memory(1_000_000, available=8 * 2**30)  # fits
    with pytest.raises(InputError, match=r"10 000 000 000 syntetiska personer behöver omkring 1 863,\d GB minne, men datorn har 8,0 GB"):
        synthetic.check_memory(10_000_000_000, available=8 * 2**30)


@pytest.mark.slow
def test_karta_refuses_a_nan_parameter_before_writing(tmp_path):
    """Before: `karta -p flaggor_stor=nan` ended in an xlsxwriter traceback."""
    res = cli("karta", "-p", "multipel_brott=nan", "--ut", tmp_path / "ut")
    assert res.returncode == 2 and "inte ett ändligt tal" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "ut").exists()


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("latin1.csv", "id,x,y\na,1,2\nb,ä,3\n".encode("latin-1"), "rad 3: filen är inte UTF-8"),
        ("trasig.parquet", b"inte parquet", "inte en giltig Parquet-fil"),
        ("tom.csv", b"", "filen är tom"),
        ("citat.csv", b'id,x,y\r\na,"1,2\r\n', "citattecken som inte stängs"),
    ],
)
def test_unreadable_files_are_explained_in_swedish(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected) as err:
        data.read_table(path)
    assert "invalid" not in str(err.value) and "out of specification" not in str(err.value)
