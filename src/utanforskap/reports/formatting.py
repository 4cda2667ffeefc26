"""The Jinja environment shared by every report (number formats: utanforskap.formatting)."""

from __future__ import annotations

import base64
from functools import lru_cache
from importlib import resources

import jinja2

from utanforskap.formatting import format_number, format_percent

# Short factor names for narrow table columns (soft hyphens where a word may break).
SHORT_NAMES = {
    "arbetsmarknadsetablering": "Syssel\u00adsättning",
    "bidragsberoende": "Bidrag",
    "skolresultat": "Skola",
    "kriminalitet": "Brott",
    "trangboddhet": "Trång\u00adboddhet",
    "valdeltagande": "Val\u00addeltagande",
    "ohalsa": "Ohälsa",
}


def data_uri(image: bytes) -> str:
    """An image (PNG or SVG bytes) as a data URI for self-contained HTML."""
    kind = "image/png" if image[:8] == b"\x89PNG\r\n\x1a\n" else "image/svg+xml"
    return f"data:{kind};base64," + base64.b64encode(image).decode("ascii")


def short_name(factor) -> str:
    """A results.karta.Factor's short name for narrow table columns."""
    return SHORT_NAMES.get(factor.id, factor.namn)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """One environment per process: it compiles each template once (a new one per report cost
    some 30 ms, eight seconds over the 290 kommun reports). Rendering from it is thread-safe."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("utanforskap.reports").joinpath("templates", name).read_text("utf-8")
        ),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tal"] = format_number
    env.filters["procent"] = format_percent
    env.filters["kort"] = short_name
    return env
