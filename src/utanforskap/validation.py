"""pydantic's validation errors in Swedish: one table for every reader (TOML files, settings, web).

    swedish_message(err)  # one entry of ValidationError.errors() -> e.g. "måste vara minst 1"

Users never see pydantic's English text or its documentation URLs.
"""

from __future__ import annotations

from typing import Any

MESSAGES = {
    "missing": "saknas men måste anges",
    "extra_forbidden": "okänd nyckel (stavfel?)",
    "literal_error": "ogiltigt värde {input!r}; tillåtna: {expected}",
    "enum": "ogiltigt värde {input!r}; tillåtna: {expected}",
    "string_pattern_mismatch": "har fel form",
    "float_parsing": "{input!r} är inte ett tal",
    "float_type": "{input!r} är inte ett tal",
    "finite_number": "{input!r} är inte ett ändligt tal",
    "int_parsing": "{input!r} är inte ett heltal",
    "int_type": "{input!r} är inte ett heltal",
    "int_from_float": "{input!r} är inte ett heltal",
    "string_type": "{input!r} är inte en text",
    "bool_type": "{input!r} är inte sant eller falskt",
    "bool_parsing": "{input!r} är inte sant eller falskt",
    "list_type": "{input!r} är inte en lista",
    "dict_type": "{input!r} är inte en tabell",
    "model_type": "{input!r} är inte en tabell",
    "greater_than_equal": "måste vara minst {ge}",
    "greater_than": "måste vara större än {gt}",
    "less_than_equal": "får vara högst {le}",
    "less_than": "måste vara mindre än {lt}",
    "string_too_short": "måste ha minst {min_length} tecken",
    "string_too_long": "får ha högst {max_length} tecken",
    "too_short": "måste ha minst {min_length} element",
    "too_long": "får ha högst {max_length} element",
    "path_type": "{input!r} är inte en sökväg",
    "url_parsing": "{input!r} är inte en giltig adress",
}


def swedish_message(err: dict[str, Any]) -> str:
    """The Swedish text for one pydantic error; a value error keeps its own (Swedish) message."""
    kind = str(err.get("type", ""))
    if kind == "value_error":
        return str(err.get("msg", "")).removeprefix("Value error, ")
    template = MESSAGES.get(kind)
    if template is None:
        return "ogiltigt värde"
    ctx = dict(err.get("ctx") or {})
    ctx.setdefault("input", err.get("input"))
    ctx.setdefault("expected", "")
    ctx["expected"] = str(ctx["expected"]).replace(" or ", " eller ")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return "ogiltigt värde"


def key_path(err: dict[str, Any]) -> str:
    """The key path of one error as dotted text, e.g. ``kolumn.0.typ``."""
    return ".".join(str(p) for p in err.get("loc", ()))
