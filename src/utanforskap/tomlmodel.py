"""TOML files described by pydantic models: the one way the project reads TOML, one form of error.

    class Table(Strict): ...
    table = load_toml_model(text, "utanforskap/data/x.toml", Table)
    table = load_toml_file(path, Table)            # reads the file too (UTF-8, named in errors)
    raw = parse_toml(text, where)                  # a dict, for readers that check by hand

Bad TOML, a file that is not UTF-8, nesting too deep to read and values the model refuses
all raise an error (InputError unless told otherwise) naming the file, and for a refused
value its key path, e.g.
``x.toml: kolumn.0.typ: ogiltigt värde 'x'; tillåtna: 'antal', 'varde' eller 'procent'``.
The text is Swedish (utanforskap.validation); pydantic's English and URLs never reach users.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from utanforskap.errors import InputError, UtanforskapError
from utanforskap.validation import TOML_MESSAGES, key_path, swedish_message

M = TypeVar("M", bound=BaseModel)

_AT = re.compile(r"\(at line (\d+), column (\d+)\)|\(at end of document\)")


class Strict(BaseModel):
    """Base of a file's models: an unknown key is an error (a typo is never ignored); frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_toml_text(path: str | os.PathLike[str], error: type[UtanforskapError] = InputError) -> str:
    """The text of a TOML file; a missing file, a folder or bytes that are not UTF-8 are one-line errors."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: är en mapp; ange en TOML-fil")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: filen finns inte") from None
    except OSError as exc:
        raise error(f"{path}: kan inte läsas ({exc.strerror})") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"{path}: rad {line}: filen är inte UTF-8; spara den som UTF-8") from None


def parse_toml(
    text: str, where: str, error: type[UtanforskapError] = InputError, hint: str = "kontrollera citattecken, hakparenteser och ="
) -> dict[str, Any]:
    """Parse TOML text; errors in Swedish with line and column, naming `where`, and `hint`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: ogiltig TOML {_position(str(exc))}; {hint}") from None
    except RecursionError:
        raise error(f"{where}: ogiltig TOML: för djupt nästlad (tusentals nivåer av [ eller {{)") from None


def load_toml_model(
    text: str,
    where: str,
    model: type[M],
    error: type[UtanforskapError] = InputError,
    describe: Callable[[Mapping[str, Any], dict[str, Any]], str] | None = None,
) -> M:
    """Parse `text` as TOML and validate it as `model`; `where` names the file in errors.

    `describe(err, raw)` may word a refused value itself (the method loader names steps);
    by default the message is ``<key path>: <Swedish text>``.
    """
    raw = parse_toml(text, where, error)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        what = describe(first, raw) if describe else f"{key_path(first) or '(filen)'}: {swedish_message(first, TOML_MESSAGES)}"
        raise error(f"{where}: {what}") from None


def load_toml_file(path: str | os.PathLike[str], model: type[M], error: type[UtanforskapError] = InputError) -> M:
    """Read and validate a TOML file (see load_toml_model)."""
    return load_toml_model(read_toml_text(path, error), str(path), model, error)


def _position(message: str) -> str:
    m = _AT.search(message)
    if m is None:
        return ""
    if m.group(1) is None:
        return "i slutet av filen"
    return f"på rad {m.group(1)}, kolumn {m.group(2)}"

