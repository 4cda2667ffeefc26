"""Reading source files: every failure is an InputError naming the file, in Swedish.

``read_text`` and ``read_csv`` wrap what Python and polars raise for a missing, unreadable
or malformed file (polars' messages run over many lines; only the first is kept).
"""

from __future__ import annotations

import io
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


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
