"""sammanfattning.html: one self-contained page (map embedded) that reads offline."""

from __future__ import annotations

import polars as pl

from utanforskap.reports.figures import data_uri
from utanforskap.reports.formatting import environment
from utanforskap.reports.maps import listed_per_kommun, listed_per_kommun_alt
from utanforskap.results.karta import STATUS_TEXT, MapResult, Summary, top_class


def map_png(result: MapResult, summary: Summary) -> bytes:
    return listed_per_kommun(summary.per_kommun, result.year, f"Källa: {result.source.description}. Metod: {result.method.id}.")


def render_summary(result: MapResult, summary: Summary, fit_table: pl.DataFrame | None) -> str:
    png = data_uri(map_png(result, summary))
    listed = result.listed.sort(["lan_kod", "kommun_kod", "regso_kod"])
    return environment().get_template("sammanfattning.html.j2").render(
        r=result,
        s=summary,
        fit=fit_table.to_dicts() if fit_table is not None else None,
        map_png=png,
        map_alt=listed_per_kommun_alt(summary.per_kommun, summary.riket, result.year),
        lan=summary.per_lan.filter(pl.col("omraden") > 0).to_dicts(),
        rows=listed.to_dicts(),
        value_factors=[f for f in result.factors if f.varde],  # each value formatted by its kind (Factor.format)
        faktorer=result.factors,
        status_text=STATUS_TEXT,
        top_class=top_class(result),
        syntetisk=result.source.synthetic,
    )
