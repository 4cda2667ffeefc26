"""Write a map's outputs: CSV, Excel, GeoPackage/GeoJSON and, given a renderer, a one-page
HTML summary (the caller passes reports.sammanfattning.render_summary: results does not
depend on the reports built on it).

Everything is written into a fresh staging directory first, which then replaces the output
directory in one atomic swap (utanforskap.atomic.atomic_dir): a failure or a kill leaves it as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from utanforskap.atomic import atomic_dir
from utanforskap.results.karta import MapResult, Summary, output_frame

FILES = {
    "omraden": "omraden.csv",
    "listade_csv": "listade_omraden.csv",
    "listade_xlsx": "listade_omraden.xlsx",
    "kommuner_gpkg": "kommuner.gpkg",
    "kommuner_geojson": "kommuner.geojson",
    "sammanfattning": "sammanfattning.html",
}
# What write_all reports to its progress callback, in order (the last only with a summary page).
WRITE_STEPS = ("omraden.csv", "listade_omraden.csv", "listade_omraden.xlsx", "kommuner.gpkg och kommuner.geojson", "sammanfattning.html")


def data_label(result: MapResult) -> str:
    return f"{result.source.description}; metod {result.method.id} ({result.method.method.version}); år {result.year}"


def areas_table(result: MapResult) -> pl.DataFrame:
    """omraden.csv: every RegSO, with a column naming the data (SYNTETISKA DATA when so)."""
    return output_frame(result).with_columns(pl.lit(data_label(result)).alias("datakalla"))


SummaryPage = Callable[[MapResult, Summary, pl.DataFrame | None], str]


def write_all(
    result: MapResult,
    summary: Summary,
    fit_table: pl.DataFrame | None,
    out_dir: str | Path,
    step: Callable[[str], None] = lambda _: None,
    summary_page: SummaryPage | None = None,
) -> dict[str, Path]:
    """Write every output into `out_dir`; `step(name)` is called before each of WRITE_STEPS.

    `summary_page(result, summary, fit_table)` gives sammanfattning.html; without it that
    file is not written (and not returned).
    """
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as stage:
        table = areas_table(result)
        step(WRITE_STEPS[0])
        table.write_csv(stage / FILES["omraden"])
        listed = table.filter(pl.col("klass").is_not_null()).sort(["lan_kod", "kommun_kod", "regso_kod"])
        step(WRITE_STEPS[1])
        listed.write_csv(stage / FILES["listade_csv"])
        step(WRITE_STEPS[2])
        _excel(result, summary, fit_table, listed, stage / FILES["listade_xlsx"])
        step(WRITE_STEPS[3])
        _kommun_layer(result, summary, stage)
        if summary_page is not None:
            step(WRITE_STEPS[4])
            (stage / FILES["sammanfattning"]).write_text(summary_page(result, summary, fit_table), encoding="utf-8")
    return {k: out_dir / v for k, v in FILES.items() if k != "sammanfattning" or summary_page is not None}


def _excel(result: MapResult, summary: Summary, fit_table, listed: pl.DataFrame, path: Path) -> None:
    import xlsxwriter

    about = pl.DataFrame(
        {
            "uppgift": ["Data", "Metod", "Metodversion", "År", "Listade områden", "Kommuner", "Invånare", "Barn 0–19 år"],
            "värde": [
                result.source.description,
                f"{result.method.method.titel} ({result.method.id})",
                result.method.method.version,
                str(result.year),
                str(summary.riket["omraden"]),
                str(summary.riket["kommuner"]),
                str(summary.riket["befolkning"]),
                str(summary.riket["barn"]),
            ],
        }
    )
    factors = pl.DataFrame(
        [
            {"faktor": f.namn, "status": f.status, "mått": f.matt, "ersätter": f.proxy_for}
            for f in result.factors
        ]
    )
    params = pl.DataFrame(
        [
            {"parameter": k, "värde": float(v) if not isinstance(v, list) else None, "proveniens": p.proveniens, "motivering": p.motivering or p.kalla}
            for k, p in result.method.method.parametrar.items()
            for v in [result.parameters[k]]
        ]
    )
    with xlsxwriter.Workbook(str(path)) as wb:
        listed.write_excel(wb, worksheet="Listade områden", autofit=True, freeze_panes=(1, 2))
        summary.per_lan.write_excel(wb, worksheet="Per län", autofit=True)
        summary.per_kommun.filter(pl.col("omraden") > 0).write_excel(wb, worksheet="Per kommun", autofit=True)
        factors.write_excel(wb, worksheet="Faktorer", autofit=True)
        params.write_excel(wb, worksheet="Parametrar", autofit=True)
        if fit_table is not None:
            fit_table.write_excel(wb, worksheet="Passning mot publicerat", autofit=True)
        about.write_excel(wb, worksheet="Om data", autofit=True)


def _kommun_layer(result: MapResult, summary: Summary, stage: Path) -> None:
    from utanforskap.geography import shapes

    per = summary.per_kommun.select(
        "kommun_kod",
        "lan_kod",
        pl.col("omraden").alias("listade_omraden"),
        pl.col("sarskilt").alias("sarskilt_stor"),
        pl.col("befolkning").alias("befolkning_listade"),
        pl.col("barn").alias("barn_listade"),
        "befolkning_totalt",
        pl.col("andel_befolkning").alias("andel_befolkning_listade"),
    ).with_columns(pl.lit(data_label(result)).alias("datakalla"))
    g = shapes.kommun_polygons().merge(per.to_pandas(), on="kommun_kod", how="left")
    g.to_file(stage / FILES["kommuner_gpkg"], layer="kommuner", driver="GPKG")
    g.to_crs(shapes.WGS84).to_file(stage / FILES["kommuner_geojson"], driver="GeoJSON")
