"""Reports: the national, kommun and area lägesbild in Swedish, as HTML or PDF.

    from utanforskap import reports
    pdf = reports.render("kommun", "0180", "pdf", result=None)
    reports.render_all_kommuner("html", "ut/", result=result, progress=callback)
    reports.geometry.regso_polygons("0380")   # RegSO polygons a kommun map can use, or None

See reports.api for the API and docs/rapporter.md for what each report contains.
"""

from utanforskap.reports import geometry
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

__all__ = [
    "FORMATS",
    "KINDS",
    "Format",
    "Kind",
    "default_result",
    "file_name",
    "geometry",
    "prepared",
    "render",
    "render_all_kommuner",
    "slug",
]
