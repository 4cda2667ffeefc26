"""pydantic's validation errors in Swedish: one table for every reader (TOML files, settings, web).

    swedish_message(err)  # one entry of ValidationError.errors() -> e.g. "måste vara minst 1"

Users never see pydantic's English text or its documentation URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MESSAGES = {
    "missing": "saknas men måste anges",
    "extra_forbidden": "okänd nyckel (stavfel?)",
    "literal_error": "ogiltigt värde {input!r}; tillåtna: {expected}",
    "enum": "ogiltigt värde {input!r}; tillåtna: {expected}",
    "string_pattern_mismatch": "har fel form",
    "float_parsing": "måste vara ett tal, inte {input!r}",
    "float_type": "måste vara ett tal, inte {input!r}",
    "finite_number": "måste vara ett ändligt tal, inte {input!r}",
    "int_parsing": "måste vara ett heltal, inte {input!r}",
    "int_type": "måste vara ett heltal, inte {input!r}",
    "int_from_float": "måste vara ett heltal, inte {input!r}",
    "int_parsing_size": "är ett för stort heltal",
    "string_type": "måste vara en text, inte {input!r}",
    "bool_type": "måste vara true eller false, inte {input!r}",
    "bool_parsing": "måste vara true eller false, inte {input!r}",
    "list_type": "måste vara en lista, inte {input!r}",
    "tuple_type": "måste vara en lista, inte {input!r}",
    "set_type": "måste vara en lista, inte {input!r}",
    "dict_type": "måste vara en tabell, inte {input!r}",
    "model_type": "måste vara en tabell, inte {input!r}",
    "model_attributes_type": "måste vara en tabell, inte {input!r}",
    "date_type": "måste vara ett datum (ÅÅÅÅ-MM-DD), inte {input!r}",
    "date_parsing": "måste vara ett datum (ÅÅÅÅ-MM-DD), inte {input!r}",
    "date_from_datetime_parsing": "måste vara ett datum (ÅÅÅÅ-MM-DD), inte {input!r}",
    "greater_than_equal": "måste vara minst {ge}",
    "greater_than": "måste vara större än {gt}",
    "less_than_equal": "får vara högst {le}",
    "less_than": "måste vara mindre än {lt}",
    "string_too_short": "måste ha minst {min_length} tecken",
    "string_too_long": "får ha högst {max_length} tecken",
    "too_short": "måste ha minst {min_length} element",
    "too_long": "får ha högst {max_length} element",
    "path_type": "måste vara en sökväg, inte {input!r}",
    "url_parsing": "{input!r} är inte en giltig adress",
    "union_tag_invalid": "okänd typ {tag!r}; tillåtna: {expected_tags}",
    "union_tag_not_found": "typen ({discriminator}) saknas",
}
# Files the user writes (TOML): a missing entry is a missing key.
TOML_MESSAGES = {**MESSAGES, "missing": "nyckeln saknas"}
FALLBACK = "har ett ogiltigt värde"


def swedish_message(err: Mapping[str, Any], messages: Mapping[str, str] | None = None) -> str:
    """The Swedish text for one pydantic error; a value error keeps its own (Swedish) message.

    `messages` replaces the table (e.g. TOML_MESSAGES); an error type it lacks gets a neutral
    Swedish phrase, never pydantic's English text or its documentation URL.
    """
    kind = str(err.get("type", ""))
    if kind in ("value_error", "assertion_error"):
        return str(err.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = (messages or MESSAGES).get(kind)
    if template is None:
        return FALLBACK
    ctx = {k: _english_or(v) for k, v in dict(err.get("ctx") or {}).items()}
    ctx.setdefault("input", _short(err.get("input")))
    ctx.setdefault("expected", "")
    ctx["expected"] = str(ctx["expected"]).replace(" or ", " eller ")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return FALLBACK


def _english_or(value: Any) -> Any:
    """pydantic joins alternatives with ' or '; say 'eller'."""
    return value.replace(" or ", " eller ") if isinstance(value, str) else value


def _short(value: Any) -> Any:
    """A refused value as shown in a message: long values are cut (a file may hold anything)."""
    text = repr(value)
    return value if len(text) <= 60 else _Cut(text[:57] + "…")


class _Cut(str):
    def __repr__(self) -> str:
        return str(self)


def key_path(err: Mapping[str, Any]) -> str:
    """The key path of one error as dotted text, e.g. ``kolumn.0.typ``."""
    return ".".join(str(p) for p in err.get("loc", ()))
