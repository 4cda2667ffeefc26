"""Read a method's input table (CSV or Parquet) and write its outputs, with clear errors."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import polars as pl

from utanforskap.atomic import atomic_path
from utanforskap.errors import InputError
from utanforskap.methods.loader import LoadedMethod

_CSV = (".csv", ".txt")
_PARQUET = (".parquet", ".pq")


def read_table(path: str | Path) -> pl.DataFrame:
    """A CSV (UTF-8, with or without BOM; every column read as text) or Parquet file.

    Refused with one line naming the file: a folder, a duplicated column name, rows with
    more fields than the header, a semicolon-separated file (says so); CR-only line endings
    (old Mac files) are read as ordinary lines.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: är en mapp; ange en CSV- eller Parquet-fil")
    if not path.is_file():
        raise InputError(f"{path}: filen finns inte")
    suffix = path.suffix.lower()
    try:
        if suffix in _CSV:
            return _read_csv(path)
        if suffix in _PARQUET:
            return pl.read_parquet(path)
    except InputError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path}: {_why_unreadable(exc, suffix in _CSV)}") from None
    raise InputError(f"{path}: okänt filformat {suffix!r}; använd .csv eller .parquet")


def _why_unreadable(exc: Exception, csv_file: bool) -> str:
    """polars' reason in Swedish, for the cases users meet; otherwise its first line."""
    text = str(exc)
    if not csv_file:
        if "out of specification" in text or "magic" in text.lower() or "footer" in text:
            return "inte en giltig Parquet-fil (trasig, avkortad eller en annan filtyp)"
        return f"kan inte läsas som Parquet ({_first_line(exc)})"
    if "empty CSV" in text or "empty data" in text:
        return "filen är tom; den behöver en rubrikrad och minst en datarad"
    if "could not parse" in text or "quote" in text.lower():
        return "kan inte tolkas som CSV (ett citattecken som inte stängs?); kontrollera raden med fältet som börjar med \""
    return f"kan inte läsas som CSV ({_first_line(exc)})"


def _read_csv(path: Path) -> pl.DataFrame:
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}: rad {line}: filen är inte UTF-8; spara den som CSV UTF-8") from None
    if b"\r" in raw and b"\n" not in raw:
        raw = raw.replace(b"\r", b"\n")  # CR-only line endings
    body = raw.removeprefix(b"\xef\xbb\xbf")
    header_bytes = body.split(b"\n", 1)[0].rstrip(b"\r")
    header_text = header_bytes.decode("utf-8")
    header = next(csv.reader([header_text]), [])
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in seen:
            raise InputError(
                f"{path}: rubrikraden har kolumnen {name!r} två gånger (kolumn {seen[name]} och {i}); "
                "varje kolumn måste ha ett eget namn"
            )
        seen[name] = i
    if len(header) == 1 and header_text.count(";") >= 1:
        raise InputError(
            f"{path}: kolumnerna verkar avgränsas med semikolon (;), inte komma; "
            "spara filen som CSV med komma som avgränsare och decimalpunkt"
        )
    try:
        return pl.read_csv(io.BytesIO(raw), infer_schema=False, encoding="utf8")
    except pl.exceptions.ComputeError as exc:
        if "truncate_ragged_lines" in str(exc) or "more fields" in str(exc):
            raise InputError(_ragged(path, raw, len(header))) from None
        raise


def _ragged(path: Path, raw: bytes, width: int) -> str:
    """Name the first line with more fields than the header."""
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if len(row) > width:
            return (
                f"{path}: rad {line_no} har {len(row)} fält men rubrikraden {width}; "
                "kontrollera avgränsare och citattecken (ett kommatecken i ett värde kräver \"...\")"
            )
    return f"{path}: en rad har fler fält än rubrikraden ({width}); kontrollera avgränsare och citattecken"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


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
    for name in needed:
        dtype = table[name].dtype
        if dtype.is_nested() or dtype == pl.Binary or dtype == pl.Object:
            raise InputError(
                f"{source}: kolumn {name} har typen {dtype} (t.ex. en lista per rad); metoden behöver ett tal eller en text per cell"
            )
    key = pl.col(method.nyckel).cast(pl.String)
    empty_key = key.is_null() | (key.str.strip_chars() == "")
    numbers = {name: _Number(table, name, spec.saknas) for name, spec in method.indata.items() if spec.typ != "text"}
    if method.period:
        numbers = {method.period: _Number(table, method.period, []), **numbers}
    # Each number column is parsed once into two columns (its text and its float), then every
    # check runs in one query over those; the row of a problem is looked up only when there
    # is one. Nesting the parse inside each check made polars plan it again per check (3x slower).
    table = table.with_columns(e for n in numbers.values() for e in n.parsed)
    found = table.select(
        empty_key.any().alias("nyckel"),
        *(e.any().alias(f"{i}{j}") for i, n in enumerate(numbers.values()) for j, e in enumerate((n.not_a_number, n.not_finite))),
    ).row(0)
    if found[0]:
        raise InputError(f"{source}: rad {_line(table, empty_key, source)}: tomt värde i nyckelkolumnen {method.nyckel}")
    for i, number in enumerate(numbers.values()):
        for problem, flagged in zip(("not_a_number", "not_finite"), found[1 + 2 * i : 3 + 2 * i], strict=True):
            if flagged:
                raise InputError(number.message(table, problem, source))
    columns = [key.str.strip_chars().alias(method.nyckel)]
    if method.period:
        columns.append(numbers[method.period].values.cast(pl.Int64).alias(method.period))
    for name, spec in method.indata.items():
        if spec.typ == "text":
            columns.append(pl.col(name).cast(pl.String))
        else:
            columns.append(numbers[name].values.alias(name))
    prepared = table.select(columns)
    dup = prepared.select(ids).is_duplicated()
    if dup.any():
        row = prepared.filter(dup).row(0, named=True)
        lines = [str(i + _row_offset(source)) for i in dup.arg_true().head(2).to_list()]
        what = " ".join(f"{c} {row[c]}" for c in ids)
        raise InputError(f"{source}: {what} förekommer mer än en gång (rad {' och '.join(lines)})")
    return prepared


class _Number:
    """A column read as Float64: its values, and what makes a cell an error, as expressions.

    `missing` are the method's codes for a missing value (e.g. -999, "..", "NaN"); a cell that
    is not a number is an error, and so are inf, -inf, NaN and values too large for a float
    (1e400) unless declared there. Declared codes become missing values. `parsed` adds the
    column's text and float under names no input has; the other expressions read those.
    """

    def __init__(self, table: pl.DataFrame, name: str, missing: list[Any]):
        self.name = name
        numeric_codes = [float(c) for c in missing if _is_number(c)]
        allowed_nan = any(math.isnan(c) for c in numeric_codes)
        allowed_inf = [c for c in dict.fromkeys(numeric_codes) if math.isinf(c)]
        finite_codes = [c for c in numeric_codes if math.isfinite(c)]
        text_name, float_name = f"\0text\0{name}", f"\0float\0{name}"
        if table.schema[name].is_numeric():
            floats = pl.col(name).cast(pl.Float64)
            self.parsed = [floats.alias(float_name), floats.cast(pl.String).alias(text_name)]
            self.not_a_number = pl.lit(False)
        else:
            blanks = [""] + [str(c) for c in missing if not _is_number(c)]
            text = pl.col(name).cast(pl.String).str.strip_chars().replace(blanks, None)
            self.parsed = [text.alias(text_name), text.cast(pl.Float64, strict=False).alias(float_name)]
            self.not_a_number = pl.col(float_name).is_null() & pl.col(text_name).is_not_null()
        self.text = pl.col(text_name)
        values = pl.col(float_name)
        declared = values.is_nan().fill_null(False) & allowed_nan
        if allowed_inf:
            declared = declared | values.is_in(allowed_inf).fill_null(False)
        values = pl.when(declared).then(None).otherwise(values)
        self.not_finite = (values.is_nan() | values.is_infinite()).fill_null(False)
        if finite_codes:
            values = pl.when(values.is_in(finite_codes).fill_null(False)).then(None).otherwise(values)
        self.values = values

    def message(self, table: pl.DataFrame, problem: str, source: str) -> str:
        """The error for the first row with `problem` (not_a_number or not_finite)."""
        i = int(table.select(getattr(self, problem).arg_max()).item())
        text = table.select(self.text.gather(i)).item()
        if problem == "not_a_number":
            return (
                f"{source}: rad {i + _row_offset(source)}, kolumn {self.name}: {text!r} är inte ett tal "
                "(använd decimalpunkt; lämna tomt eller ange metodens kod för saknat värde)"
            )
        return (
            f"{source}: rad {i + _row_offset(source)}, kolumn {self.name}: {text!r} är inte ett ändligt tal "
            "(inf, NaN och tal över 1e308 godtas inte; lämna tomt för saknat värde, "
            "eller deklarera koden under saknas i metoden)"
        )


def _row_offset(source: str) -> int:
    """Row numbers in messages: a CSV line (header = line 1) or a Parquet row (first = 1)."""
    return 1 if source.lower().endswith(_PARQUET) else 2


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _line(table: pl.DataFrame, predicate: pl.Expr, source: str) -> int:
    return int(table.select(predicate.arg_max()).item()) + _row_offset(source)


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
