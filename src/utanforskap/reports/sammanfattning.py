"""sammanfattning.html: one self-contained page (map embedded) that reads offline."""

from __future__ import annotations

import base64

import polars as pl

from utanforskap.reports.formatting import environment
from utanforskap.reports.maps import kommun_choropleth
from utanforskap.results.karta import STATUS_TEXT, MapResult, Summary, top_class


def map_png(result: MapResult, summary: Summary) -> bytes:
    top = int(summary.per_kommun["omraden"].max() or 0)
    bins = [-0.5, 0.5, 1.5, 3.5, max(top, 4) + 0.5]
    labels = ["inga", "1 område", "2–3 områden", f"4–{max(top, 4)} områden"]
    return kommun_choropleth(
        summary.per_kommun.select("kommun_kod", "omraden"),
        "omraden",
        f"Listade områden per kommun, {result.ar}",
        bins,
        labels,
        source_note=f"Källa: {result.kalla.beskrivning}. Metod: {result.metod.id}.",
    )


def render_summary(result: MapResult, summary: Summary, fit_table: pl.DataFrame | None) -> str:
    png = base64.b64encode(map_png(result, summary)).decode("ascii")
    listed = result.listade.sort(["lan_kod", "kommun_kod", "regso_kod"])
    value_cols = [(f.namn, f.varde) for f in result.faktorer if f.varde]
    flag_cols = [(f.namn, f.flagga) for f in result.faktorer if f.flagga]
    return environment().get_template("sammanfattning.html.j2").render(
        r=result,
        s=summary,
        fit=fit_table.to_dicts() if fit_table is not None else None,
        map_png=png,
        lan=summary.per_lan.filter(pl.col("omraden") > 0).to_dicts(),
        rows=listed.to_dicts(),
        value_cols=value_cols,
        flag_cols=flag_cols,
        faktorer=result.faktorer,
        status_text=STATUS_TEXT,
        top_class=top_class(result),
        syntetisk=result.kalla.syntetisk,
    )
