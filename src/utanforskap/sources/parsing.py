"""Reading source files and their cells.

``read_text`` and ``read_csv`` wrap what Python and polars raise for a missing, unreadable
or malformed file in an InputError naming the file (polars' messages run over many lines;
only the first is kept). ``swedish_number`` and ``cell_status`` read the cells of SCB's
and Skolverket's tables: ``1 234,5`` is a number, ``..`` and ``.`` are symbols for a cell
without a figure.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from utanforskap.errors import InputError


def read_text(path: str | Path, where: str) -> str:
    """The file as text (UTF-8, a byte-order mark dropped)."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"{where}: filen finns inte ({path})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: kan inte läsa filen som UTF-8 ({first_line(exc)})") from exc


def read_csv(source: str | Path | io.StringIO, where: str, **options: object) -> pl.DataFrame:
    """``pl.read_csv(source, infer_schema=False, **options)``: every column as text."""
    try:
        return pl.read_csv(source, infer_schema=False, **options)  # type: ignore[arg-type]
    except FileNotFoundError as exc:
        raise InputError(f"{where}: filen finns inte ({source})") from exc
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{where}: kan inte läsa filen som CSV ({first_line(exc)})") from exc


# Symbols for a cell without a figure, as SCB and Skolverket write them -> observation status.
CELL_STATUS: dict[str, str] = {"..": "undertryckt", ".": "saknas"}


def swedish_number(cell: pl.Expr) -> pl.Expr:
    """A number written the Swedish way (``1 234,5``; any space between the thousands) as Float64.

    Null for anything that is not a number: a symbol, text, an empty cell.
    """
    digits = cell.str.replace_all(r"[\s\u00a0]", "").str.replace(",", ".", literal=True)
    return digits.cast(pl.Float64, strict=False)


def cell_status(cell: pl.Expr, symbols: Mapping[str, str] = CELL_STATUS) -> pl.Expr:
    """The status a symbol cell stands for (``..`` undertryckt, ``.`` saknas); null for any other cell."""
    return cell.str.strip_chars().replace_strict(dict(symbols), default=None, return_dtype=pl.String)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
