"""Read a method's input table (CSV or Parquet) and write its outputs, with clear errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from utanforskap.atomic import atomic_path
from utanforskap.errors import InputError
from utanforskap.methods.loader import LoadedMethod

_CSV = (".csv", ".txt")
_PARQUET = (".parquet", ".pq")


def read_table(path: str | Path) -> pl.DataFrame:
    """A CSV (UTF-8, with or without BOM; every column read as text) or Parquet file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: filen finns inte")
    suffix = path.suffix.lower()
    try:
        if suffix in _CSV:
            return pl.read_csv(path, infer_schema=False, encoding="utf8")
        if suffix in _PARQUET:
            return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path}: kan inte läsas: {exc}") from exc
    raise InputError(f"{path}: okänt filformat {suffix!r}; använd .csv eller .parquet")


def prepare(loaded: LoadedMethod, table: pl.DataFrame, source: str) -> pl.DataFrame:
    """Check and type the columns the method declares; missing codes become nulls.

    Errors name `source`, the row (as a line number for CSV: header = line 1) and column.
    """
    method = loaded.method
    if table.height == 0:
        raise InputError(f"{source}: filen har inga datarader")
    ids = [method.nyckel] + ([method.period] if method.period else [])
    needed = ids + list(method.indata)
    absent = [c for c in needed if c not in table.columns]
    if absent:
        raise InputError(
            f"{source}: kolumn saknas: {', '.join(absent)} (metoden {method.id} behöver den; "
            f"filen har {_preview(table.columns)})"
        )
    table = table.select(needed)
    key = pl.col(method.nyckel).cast(pl.String)
    empty_key = key.is_null() | (key.str.strip_chars() == "")
    if table.select(empty_key.any()).item():
        raise InputError(f"{source}: rad {_line(table, empty_key)}: tomt värde i nyckelkolumnen {method.nyckel}")
    columns = [key.str.strip_chars().alias(method.nyckel)]
    if method.period:
        columns.append(_numeric(table, method.period, [], source).cast(pl.Int64).alias(method.period))
    for name, spec in method.indata.items():
        if spec.typ == "text":
            columns.append(pl.col(name).cast(pl.String))
        else:
            columns.append(_numeric(table, name, spec.saknas, source).alias(name))
    prepared = table.select(columns)
    dup = prepared.select(ids).is_duplicated()
    if dup.any():
        row = prepared.filter(dup).row(0, named=True)
        lines = [str(i + 2) for i in dup.arg_true().head(2).to_list()]
        what = " ".join(f"{c} {row[c]}" for c in ids)
        raise InputError(f"{source}: {what} förekommer mer än en gång (rad {' och '.join(lines)})")
    return prepared


def _numeric(table: pl.DataFrame, name: str, missing: list, source: str) -> pl.Expr:
    """The column as Float64; a cell that is not a number is an error naming its line."""
    s = table[name]
    if s.dtype.is_numeric():
        values = s.cast(pl.Float64)
    else:
        text = s.cast(pl.String).str.strip_chars()
        blanks = [""] + [str(c) for c in missing if not _is_number(c)]
        text = pl.Series(name, text).replace(blanks, None)
        values = text.cast(pl.Float64, strict=False)
        bad = values.is_null() & text.is_not_null()
        if bad.any():
            i = int(bad.arg_max())
            raise InputError(
                f"{source}: rad {i + 2}, kolumn {name}: {text[i]!r} är inte ett tal "
                "(använd decimalpunkt; lämna tomt eller ange metodens kod för saknat värde)"
            )
    codes = [float(c) for c in missing if _is_number(c)]
    if codes:
        values = values.set(values.is_in(codes).fill_null(False), None)
    if values.is_nan().any():
        values = values.fill_nan(None)
    return pl.lit(values)


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _line(table: pl.DataFrame, predicate: pl.Expr) -> int:
    return int(table.select(predicate.arg_max()).item()) + 2


def _preview(columns: list[str]) -> str:
    shown = ", ".join(columns[:8])
    return shown + (f" … ({len(columns)} kolumner)" if len(columns) > 8 else "")


def write_table(df: pl.DataFrame, path: str | Path) -> None:
    """Write CSV or Parquet (by suffix) atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _CSV + _PARQUET:
        raise InputError(f"{path}: okänt filformat {suffix!r}; använd .csv eller .parquet")
    with atomic_path(path) as tmp:
        if suffix in _CSV:
            df.write_csv(tmp)
        else:
            df.write_parquet(tmp)
