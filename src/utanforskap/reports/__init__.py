"""Reports: the national, kommun and area lägesbild in Swedish, as HTML or PDF.

    from utanforskap import reports
    pdf = reports.render("kommun", "0180", "pdf", result=None)
    reports.render_all_kommuner("html", "ut/", result=result, progress=callback)

See reports.api for the API and docs/rapporter.md for what each report contains.

Names are imported on first use (PEP 562): `from utanforskap.reports import events` or
`reports.file_name(...)` does not load matplotlib and geopandas; drawing a report does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from utanforskap.reports.api import (
        FORMATS,
        KINDS,
        Format,
        Kind,
        default_result,
        file_name,
        prepared,
        render,
        render_all_kommuner,
        slug,
    )

_API = ("FORMATS", "KINDS", "Format", "Kind", "default_result", "file_name", "prepared", "render", "render_all_kommuner", "slug")
_SUBMODULES = ("api", "content", "events", "figures", "formatting", "maps", "sammanfattning", "views")

__all__ = [
    "FORMATS", "KINDS", "Format", "Kind", "default_result", "file_name", "prepared", "render", "render_all_kommuner", "slug",
]


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module("utanforskap.reports.api"), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"utanforskap.reports.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API, *_SUBMODULES})
