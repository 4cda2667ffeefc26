"""Bad microdata: every error names the file, the column and (for values) the first bad row."""

from __future__ import annotations

import polars as pl
import pytest
from microdata_helpers import persons_frame

from utanforskap.errors import InputError
from utanforskap.microdata import aggregate as ag
from utanforskap.microdata.schema import COLUMNS
from utanforskap.settings import load as load_settings

DESO = "0114A0010"


def good(n: int = 4) -> pl.DataFrame:
    return persons_frame([dict(deso=DESO) for _ in range(n)])


def write(df: pl.DataFrame, tmp_path, name: str = "personer.parquet"):
    path = tmp_path / name
    df.write_parquet(path)
    return path


def test_the_good_file_passes(tmp_path):
    counts, _ = ag.count(write(good(), tmp_path), "kommun")
    assert counts.filter(pl.col("niva") == "riket")["befolkning"].item() == 4


def test_missing_column_names_file_and_column(tmp_path):
    path = write(good().drop("ohalsodagar"), tmp_path)
    with pytest.raises(InputError, match=r"personer\.parquet: kolumn saknas i mikrodata: ohalsodagar"):
        ag.count(path)


def test_wrong_type_names_the_column(tmp_path):
    path = write(good().with_columns(pl.col("alder").cast(pl.String)), tmp_path)
    with pytest.raises(InputError, match=r"personer\.parquet: kolumnen alder har typen text \(large_string\); förväntade heltal"):
        ag.count(path)


def test_unknown_category_names_row_and_value(tmp_path):
    df = good().with_columns(kon=pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("okänt")).otherwise(pl.col("kon")))
    with pytest.raises(InputError) as err:
        ag.count(write(df, tmp_path))
    msg = str(err.value)
    assert "personer.parquet: kolumnen kon: tomt eller ogiltigt värde (tillåtna: man, kvinna)" in msg
    assert "1 rader (första: rad 3, värde 'okänt')" in msg


def test_value_out_of_range(tmp_path):
    df = good().with_columns(bistand_manader=pl.Series([0, 0, 0, 13], dtype=pl.Int8))
    with pytest.raises(InputError, match=r"kolumnen bistand_manader: tomt eller utanför 0–12: 1 rader \(första: rad 4, värde 13\)"):
        ag.count(write(df, tmp_path))


def test_empty_required_value(tmp_path):
    df = good().with_columns(rostat=pl.Series([True, None, True, True]))
    with pytest.raises(InputError, match=r"kolumnen rostat: tomt värde: 1 rader \(första: rad 2"):
        ag.count(write(df, tmp_path))


def test_inconsistent_rows(tmp_path):
    df = good().with_columns(fodelseregion=pl.Series(["sverige", "europa", "sverige", "sverige"]))
    with pytest.raises(InputError, match=r"svensk bakgrund men född utomlands.*1 rader \(första: rad 2\)"):
        ag.count(write(df, tmp_path))
    df = good().with_columns(rostberattigad=pl.Series([True, True, False, True]))
    with pytest.raises(InputError, match=r"rostat är sant men rostberattigad falskt: 1 rader \(första: rad 3\)"):
        ag.count(write(df, tmp_path))


def test_unknown_deso_code(tmp_path):
    df = good().with_columns(deso=pl.Series([DESO, "9999A0001", "9999A0001", DESO]))
    with pytest.raises(InputError, match=r"kolumnen deso: okänd DeSO 2018-kod '9999A0001' \(2 personer; 1 okända koder"):
        ag.count(write(df, tmp_path))


def test_several_files_name_the_file_with_the_bad_row(tmp_path):
    folder = tmp_path / "mapp"
    folder.mkdir()
    write(good(), folder, "a.parquet")
    write(good().with_columns(alder=pl.Series([1, 2, 200, 4], dtype=pl.Int16)), folder, "b.parquet")
    with pytest.raises(InputError, match=r"kolumnen alder: tomt eller utanför 0–130: 1 rader \(första: rad 3 i b\.parquet"):
        ag.count(folder)


def test_every_file_of_a_folder_is_checked_and_named(tmp_path):
    folder = tmp_path / "mapp"
    folder.mkdir()
    write(good(), folder, "a.parquet")
    write(good(), folder, "b.parquet")
    write(good().drop("ohalsodagar"), folder, "c.parquet")
    with pytest.raises(InputError) as err:
        ag.count(folder)
    assert str(err.value) == f"{folder / 'c.parquet'}: kolumn saknas i mikrodata: ohalsodagar (se docs/mikrodata.md för alla kolumner)"
    (folder / "c.parquet").unlink()
    write(good().with_columns(pl.col("rostat").cast(pl.Int8)), folder, "d.parquet")
    with pytest.raises(InputError, match=r"d\.parquet: kolumnen rostat har typen heltal \(int8\); förväntade sant/falskt"):
        ag.count(folder)


def test_not_parquet_and_missing_file(tmp_path):
    bad = tmp_path / "personer.parquet"
    bad.write_text("inte parquet")
    with pytest.raises(InputError, match="kan inte läsas som Parquet"):
        ag.count(bad)
    with pytest.raises(InputError, match="filen finns inte"):
        ag.count(tmp_path / "saknas.parquet")


def test_bad_level_and_motor(tmp_path):
    path = write(good(), tmp_path)
    with pytest.raises(InputError, match="okänd nivå 'lan'"):
        ag.count(path, "lan")
    with pytest.raises(InputError, match="okänd motor"):
        ag.count(path, motor="postgres")
    with pytest.raises(InputError, match="BISTAND_MIN_MANADER: måste vara minst 1"):
        ag.count(path, settings=load_settings(bistand_min_manader=0))


@pytest.mark.parametrize("column", [c.name for c in COLUMNS if not c.nullable and c.name not in ("deso",)])
def test_every_required_column_rejects_empty_values(tmp_path, column):
    df = good().with_columns(pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col(column)).alias(column))
    with pytest.raises(InputError, match=rf"kolumnen {column}: .*\(första: rad 2"):
        ag.count(write(df, tmp_path))
