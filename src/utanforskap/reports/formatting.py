"""Swedish number formats and the Jinja environment shared by every report."""

from __future__ import annotations

from importlib import resources

import jinja2


def format_number(value) -> str:
    """Swedish number format: 710 000 (narrow no-break space), 0,5."""
    if value is None or value != value:  # None or NaN
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{int(value):,}".replace(",", "\u202f")


def format_percent(value, decimals: int = 1) -> str:
    if value is None or value != value:
        return "–"
    return f"{100 * value:.{decimals}f}".replace(".", ",").replace("-", "−") + "\u00a0%"


def environment() -> jinja2.Environment:
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
    return env
