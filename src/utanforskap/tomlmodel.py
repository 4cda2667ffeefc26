"""TOML files described by pydantic models: one way to read them, one form of error.

    class Table(Strict): ...
    table = load_toml_model(text, "utanforskap/data/x.toml", Table)

Bad TOML and values the model refuses both raise an error (InputError unless told
otherwise) naming the file, and for a refused value its key path, e.g.
``x.toml: kolumn.0.typ: ogiltigt värde 'x'; tillåtna: 'antal', 'varde' eller 'procent'``.
"""

from __future__ import annotations

import tomllib
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from utanforskap.errors import InputError, UtanforskapError
from utanforskap.validation import key_path, swedish_message

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base of a file's models: an unknown key is an error (a typo is never ignored); frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load_toml_model(text: str, where: str, model: type[M], error: type[UtanforskapError] = InputError) -> M:
    """Parse `text` as TOML and validate it as `model`; `where` names the file in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: ogiltig TOML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise error(f"{where}: {key_path(first)}: {swedish_message(first)}") from exc
