"""`utanforskap syntetisk` and `utanforskap aggregera`, run as a user runs them."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq
import pytest
from cli_helpers import cli

from utanforskap.formatting import format_number


@pytest.mark.slow
def test_draw_then_aggregate_says_synthetic_everywhere(tmp_path):
    persons = tmp_path / "syntetisk.parquet"
    drawn = cli("syntetisk", "--personer", "30000", "--seed", "4", "--ut", persons)
    assert drawn.returncode == 0, drawn.stderr
    assert "SYNTETISKA DATA" in drawn.stdout
    assert f"{format_number(30_000)} personer" in drawn.stdout
    assert pq.read_schema(persons).metadata[b"utanforskap.kalla"].startswith(b"SYNTETISKA DATA")

    out = tmp_path / "obs.parquet"
    store = tmp_path / "lager"
    result = cli("aggregera", "--mikrodata", persons, "--niva", "regso", "--ut", out, "--lager", store)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("SYNTETISKA DATA") >= 2
    assert "Röjandekontroll (N = 5)" in result.stdout
    assert "HiGHS" not in result.stdout.replace("(LP, HiGHS)", "")  # no licence banner
    # 30 000 persons spread over the country: most RegSO and kommun figures rest on fewer than 5
    # persons, so those levels are not published at all (rojandekontroll.toml: hogsta_primarandel).
    assert "Publiceras inte alls: regso, kommun" in result.stdout
    assert "Granskningen (LP, HiGHS): godkänd" in result.stdout
    obs = pl.read_parquet(out)
    assert set(obs["niva"]) == {"lan", "riket"}
    assert obs["kalla"].str.starts_with("SYNTETISKA DATA").all()
    assert obs.filter(pl.col("status").is_not_null())["varde"].null_count() == obs.filter(pl.col("status").is_not_null()).height
    assert (store / "manifest.json").exists()
    # What aggregera wrote passes the intruder's audit of the published file (no true values).
    audited = cli("rojandekontroll", "granska", out)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "Godkänd" in audited.stdout

    csv = tmp_path / "obs.csv"
    unprotected = cli("aggregera", "--mikrodata", persons, "--niva", "kommun", "--ut", csv, "--utan-rojandekontroll",
                      "--min-antal", "3")
    assert unprotected.returncode == 0, unprotected.stderr
    assert "utan röjandekontroll" in unprotected.stderr
    written = pl.read_csv(csv, infer_schema=False)
    assert written["status"].null_count() == written.height


@pytest.mark.slow
def test_errors_are_one_swedish_line(tmp_path):
    bad = tmp_path / "personer.parquet"
    pl.DataFrame({"ar": [2022]}).write_parquet(bad)
    result = cli("aggregera", "--mikrodata", bad, "--ut", tmp_path / "ut.parquet")
    assert result.returncode == 2
    assert "Fel:" in result.stderr and "kolumn saknas i mikrodata" in result.stderr
    assert not (tmp_path / "ut.parquet").exists()  # nothing half-written
    result = cli("aggregera", "--mikrodata", bad)
    assert result.returncode == 2 and "ange --ut" in result.stderr


@pytest.mark.slow
def test_the_sql_can_be_shown():
    result = cli("aggregera", "--mikrodata", "x.parquet", "--visa-sql", "--bistand-minst-manader", "3")
    assert result.returncode == 0, result.stderr
    assert "GROUP BY" in result.stdout and '"bistand_manader" >= 3' in result.stdout


def _published(tmp_path, values: dict[str, float | None]):
    """A published table (riket only) in the columns `granska` reads; None is a suppressed cell."""
    rows = [{"omrade": "00", "niva": "riket", "period": "2022", "variabel": v, "varde": x, "enhet": "antal",
             "taljare": None, "status": None if x is not None else "skyddad"} for v, x in values.items()]
    path = tmp_path / "publicerat.parquet"
    pl.DataFrame(rows, schema={"omrade": pl.String, "niva": pl.String, "period": pl.String, "variabel": pl.String,
                               "varde": pl.Float64, "enhet": pl.String, "taljare": pl.Float64,
                               "status": pl.String}).write_parquet(path)
    return path


@pytest.mark.slow  # three runs of the command (the hierarchy loads in each)
def test_granska_finds_an_undeclared_group_and_passes_a_protected_table(tmp_path):
    """Exactly 15-year-olds = befolkning_15_19 - (befolkning_16_64 - befolkning_20_64): 3 here, computable."""
    leaky = _published(tmp_path, {"befolkning_15_19": 40.0, "befolkning_16_64": 300.0, "befolkning_20_64": 263.0})
    out = cli("rojandekontroll", "granska", leaky, "--intervall", tmp_path / "intervall.csv")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "befolkning_15" in out.stdout and "kan räknas fram exakt" in out.stdout
    assert "underkänd av röjandekontrollen: 1 brister" in out.stderr and "Traceback" not in out.stderr
    intervals = pl.read_csv(tmp_path / "intervall.csv")
    assert intervals.filter(pl.col("variabel") == "befolkning_15")[["lo", "hi"]].row(0) == (3.0, 3.0)
    safe = _published(tmp_path, {"befolkning_15_19": None, "befolkning_16_64": 300.0, "befolkning_20_64": 263.0})
    ok = cli("rojandekontroll", "granska", safe)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Godkänd" in ok.stdout
    missing = cli("rojandekontroll", "granska", tmp_path / "finns_inte.parquet")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "finns inte" in missing.stderr
