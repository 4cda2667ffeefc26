"""The Jinja environment shared by every report (number formats: utanforskap.formatting)."""

from __future__ import annotations

from importlib import resources

import jinja2

from utanforskap.formatting import format_number, format_percent


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
