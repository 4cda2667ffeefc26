"""Bad input gets a one-line error naming the file and the key or row, exit 2, and nothing written."""

import textwrap

import pytest
from cli_helpers import cli

GOOD_METHOD = """
id = "liten"
titel = "Liten testmetod"
version = "1"
proveniens = "syntetisk"
nyckel = "id"

[parametrar.grans]
varde = 0.5
proveniens = "syntetisk"
motivering = "testvärde"

[indata.x]
saknas = [-999]

[indata.y]

[[steg]]
namn = "p"
typ = "percentilrang"
indata = "x"

[[steg]]
namn = "f"
typ = "flagga"
indata = "p"
operator = ">="
grans = { parameter = "grans" }

[utdata]
kolumner = ["p", "f"]
"""

GOOD_DATA = "id,x,y\na,1,2\nb,2,3\nc,-999,4\n"


def setup(tmp_path, method=GOOD_METHOD, table=GOOD_DATA, name="data.csv"):
    m = tmp_path / "metod.toml"
    m.write_text(textwrap.dedent(method), encoding="utf-8")
    d = tmp_path / name
    d.write_text(table, encoding="utf-8")
    return m, d


def run_bad(tmp_path, method=GOOD_METHOD, table=GOOD_DATA):
    m, d = setup(tmp_path, method, table)
    out = tmp_path / "ut.csv"
    res = cli("berakna", m, "--data", d, "--ut", out)
    assert res.returncode == 2, res.stdout + res.stderr
    assert not out.exists(), "nothing may be written on error"
    assert list(tmp_path.glob(".ut.csv*")) == [], "no temporary file left behind"
    lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
    message = " ".join(lines)
    assert "Traceback" not in res.stderr
    return message, m, d


@pytest.mark.slow
def test_good_input_works(tmp_path):
    m, d = setup(tmp_path)
    out = tmp_path / "ut.csv"
    res = cli("berakna", m, "--data", d, "--ut", out)
    assert res.returncode == 0, res.stderr
    assert out.read_text().splitlines() == ["id,p,f", "a,0.0,0", "b,1.0,1", "c,,"]


@pytest.mark.slow
def test_bom_csv_and_parquet_inputs(tmp_path):
    import polars as pl

    m, d = setup(tmp_path, table="\ufeff" + GOOD_DATA)
    res = cli("berakna", m, "--data", d, "--ut", tmp_path / "ut.parquet")
    assert res.returncode == 0, res.stderr
    got = pl.read_parquet(tmp_path / "ut.parquet")
    assert got["id"].to_list() == ["a", "b", "c"] and got["f"].to_list() == [0, 1, None]
    pq = tmp_path / "in.parquet"
    pl.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0], "y": [1, 2]}).write_parquet(pq)
    res = cli("berakna", m, "--data", pq)
    assert res.returncode == 0 and res.stdout.splitlines()[0] == "id,p,f"


@pytest.mark.parametrize(
    "table, expected",
    [
        ("id,x\na,1\n", ["data.csv", "kolumn saknas: y"]),
        ("id,x,y\na,1,2\nb,tre,3\n", ["data.csv", "rad 3, kolumn x", "'tre' är inte ett tal"]),
        ("id,x,y\na,1,2\nb,2,3\na,3,4\n", ["data.csv", "id a förekommer mer än en gång (rad 2 och 4)"]),
        ("id,x,y\n", ["data.csv", "inga datarader"]),
        ("", ["data.csv"]),
        ("id,x,y\n,1,2\n", ["data.csv", "rad 2", "tomt värde i nyckelkolumnen id"]),
    ],
    ids=["okand-kolumn", "icke-numerisk", "dubblett", "tom", "helt-tom-fil", "tom-nyckel"],
)
@pytest.mark.slow
def test_bad_data(tmp_path, table, expected):
    message, _, _ = run_bad(tmp_path, table=table)
    for part in expected:
        assert part in message, message


def _broken(old, new):
    assert old in GOOD_METHOD
    return GOOD_METHOD.replace(old, new)


@pytest.mark.parametrize(
    "method, expected",
    [
        (_broken('indata = "p"', 'indata = "q"'), ["metod.toml", "steg[2] (f).indata", "'q' är varken indata eller namnet på ett steg"]),
        (_broken('indata = "x"', 'indata = "q"') + '\n[[steg]]\nnamn = "q"\ntyp = "vand"\nindata = "p"\n',
         ["metod.toml", "cirkelberoende", "p -> q -> p"]),
        (_broken('typ = "percentilrang"', 'typ = "percentil"'), ["metod.toml", "steg[1] (p)", "okänd stegtyp 'percentil'"]),
        (_broken('{ parameter = "grans" }', '{ parameter = "gräns" }'), ["metod.toml", "steg[2] (f).grans", "okänd parameter 'gräns'"]),
        (_broken('operator = ">="', 'operator = ">="\nlutning = 2'), ["metod.toml", "steg[2] (f).lutning", "okänd nyckel"]),
        (_broken('operator = ">="', 'operator = "=>"'), ["metod.toml", "steg[2] (f).operator", "ogiltigt värde '=>'"]),
        (_broken('kolumner = ["p", "f"]', 'kolumner = ["p", "g"]'), ["metod.toml", "utdata.kolumner", "'g'"]),
        (_broken('proveniens = "syntetisk"\nmotivering = "testvärde"', 'proveniens = "antagen"'), ["metod.toml", "parametrar.grans", "motivering"]),
        (_broken('titel = "Liten testmetod"\n', ''), ["metod.toml", "titel: nyckeln saknas"]),
        (_broken('[indata.y]', '[indata.y\n'), ["metod.toml", "ogiltig TOML"]),
        (_broken('namn = "f"', 'namn = "p"'), ["metod.toml", "steg[2] (p).namn", "används redan"]),
        (_broken('indata = "p"\noperator', 'indata = "y"\ngrupp = ["id"]\noperator'), ["metod.toml", "steg[2] (f).grupp", "kan inte grupperas"]),
    ],
    ids=["odefinierad", "cykel", "okand-stegtyp", "okand-parameter", "okand-nyckel", "ogiltig-operator",
         "okand-utdata", "antagen-utan-motivering", "saknad-nyckel", "trasig-toml", "dubbelt-namn", "fel-grupp"],
)
@pytest.mark.slow
def test_bad_method(tmp_path, method, expected):
    message, _, _ = run_bad(tmp_path, method=method)
    for part in expected:
        assert part in message, message


@pytest.mark.slow
def test_unknown_method_id_and_parameter_override(tmp_path):
    _, d = setup(tmp_path)
    res = cli("berakna", "finns-inte", "--data", d)
    assert res.returncode == 2 and "okänd metod 'finns-inte'" in res.stderr
    res = cli("berakna", "cdc-svi-2022", "--data", d, "--parameter", "flaggrans=0.8")
    assert res.returncode == 2 and "kolumn saknas" in res.stderr
    m, d = setup(tmp_path)
    res = cli("berakna", m, "--data", d, "--parameter", "okand=1")
    assert res.returncode == 2 and "okänd parameter 'okand'" in res.stderr
    res = cli("berakna", m, "--data", d, "--parameter", "grans=0.1")
    assert res.returncode == 0 and res.stdout.splitlines()[1] == "a,0.0,0"


@pytest.mark.slow
def test_numerator_above_denominator_names_file_and_area(tmp_path):
    method = GOOD_METHOD + '\n[[steg]]\nnamn = "andel"\ntyp = "kvot"\ntaljare = "x"\nnamnare = "y"\nandel = true\n'
    message, _, d = run_bad(tmp_path, method=method, table="id,x,y\na,1,2\nb,5,3\n")
    assert f"{d}: steg andel: täljaren x = 5 är större än nämnaren y = 3 för id b" in message
