"""The reports API: one report as bytes, or every kommun's report into a directory.

    render("riket", None, "pdf")                      # national report, default map
    render("kommun", "0180", "html", result=result)   # one kommun, a map computed earlier
    render("omrade", "0180R001", "pdf")               # one area's profile
    render_all_kommuner("html", "ut/", result=result, progress=callback)

HTML is self-contained (images as data URIs, no external requests); PDF is WeasyPrint's
rendering of the same HTML with print styles (A4, page numbers, SYNTETISKA DATA on every
page when the data are synthetic).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.reports import content
from utanforskap.reports.formatting import environment
from utanforskap.results import karta
from utanforskap.results.karta import DEFAULT_YEAR, MapResult, memo

Kind = Literal["riket", "kommun", "omrade"]
Format = Literal["html", "pdf"]
KINDS = ("riket", "kommun", "omrade")
FORMATS = ("html", "pdf")

def prepared(
    result: MapResult | None = None,
    handelser: str | os.PathLike[str] | None = None,
    geometri: str | os.PathLike[str] | None = None,
) -> content.Prepared:
    """The Prepared for `result` (default map when None): made once per map, events file and
    geometry, and kept with the map (the web app and the batch render many reports from it)."""
    result = result if result is not None else default_result()
    key = ("reports.prepared", str(handelser) if handelser else None, str(geometri) if geometri else None)
    return memo(result, key, lambda: content.prepare(result, handelser=handelser, geometri=geometri))


@lru_cache(maxsize=1)
def default_result() -> MapResult:
    """karta.compute() with its defaults (bundled open data), computed once per process."""
    return karta.compute()


def render(
    kind: Kind,
    code: str | None,
    fmt: Format,
    result: MapResult | None = None,
    *,
    handelser: str | os.PathLike[str] | None = None,
    geometri: str | os.PathLike[str] | None = None,
) -> bytes:
    """A complete report: HTML (UTF-8) or PDF bytes.

    kind: "riket" (code ignored), "kommun" (code = kommunkod, e.g. "0180") or "omrade"
    (code = RegSO 2020 code, e.g. "0180R001"). An unknown code raises InputError with a
    Swedish message naming it. `handelser`: a user's events file; `geometri`: a user's
    RegSO/DeSO polygon file (otherwise UTANFORSKAP_REGSO_GEOMETRI, SCB's WFS, the bundle).
    """
    if kind not in KINDS:
        raise InputError(f"okänd rapporttyp {kind!r}; välj riket, kommun eller omrade")
    if fmt not in FORMATS:
        raise InputError(f"okänt format {fmt!r}; välj html eller pdf")
    prep = prepared(result, handelser, geometri)
    html = render_html(prep, kind, code)
    return html.encode("utf-8") if fmt == "html" else html_to_pdf(html)


def render_html(prep: content.Prepared, kind: Kind, code: str | None) -> str:
    from utanforskap.reports import views  # charts and maps: matplotlib, geopandas

    if kind == "riket":
        ctx = views.riket(prep)
    elif kind == "kommun":
        ctx = views.kommun(prep, code or "")
    else:
        ctx = views.omrade(prep, code or "")
    return environment().get_template(f"{kind}.html.j2").render(**ctx)


def html_to_pdf(html: str) -> bytes:
    import logging

    from weasyprint import HTML

    # WeasyPrint warns about CSS it ignores (e.g. screen-only grid details); not the user's concern.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return HTML(string=html).write_pdf()


# ---- file names and the batch -----------------------------------------------------------------------------------------
def slug(text: str) -> str:
    """Malmö -> malmo, Upplands Väsby -> upplands-vasby."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def file_name(kind: Kind, code: str | None, fmt: Format, result: MapResult | None = None) -> str:
    """riket-2022.pdf, kommun-0180-stockholm.pdf, omrade-0180R001-<name>.pdf.

    Needs no prepared map: names come from the geography (the area's from `result` when
    given), the year from `result` (or the default map's year). An unknown code raises
    InputError as render() does.
    """
    if kind == "riket":
        return f"riket-{result.year if result is not None else DEFAULT_YEAR}.{fmt}"
    if kind == "kommun":
        k = content.kommun_row(geography.areas("kommun"), code)
        return f"kommun-{k['kommun_kod']}-{slug(k['kommun_namn'])}.{fmt}"
    a = content.area_row(result.areas if result is not None else geography.areas("regso"), code)
    return f"omrade-{a['regso_kod']}-{slug(a['regso_namn'])}.{fmt}"


def render_all_kommuner(
    fmt: Format,
    out_dir: str | os.PathLike[str],
    result: MapResult | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    *,
    handelser: str | os.PathLike[str] | None = None,
    geometri: str | os.PathLike[str] | None = None,
    kommuner: list[str] | None = None,
) -> list[Path]:
    """Write every kommun's report into `out_dir` (each file atomically); return the paths.

    The map is prepared once and reused for all 290. `progress(done, total, kommun_namn)`
    is called after each report. `kommuner` restricts the batch to those codes.
    """
    from utanforskap.atomic import atomic_path

    if fmt not in FORMATS:
        raise InputError(f"okänt format {fmt!r}; välj html eller pdf")
    prep = prepared(result, handelser, geometri)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = prep.kommuner.sort("kommun_kod").to_dicts()
    if kommuner is not None:
        rows = [content.kommun_row(prep.kommuner, code) for code in kommuner]
    written = []
    for i, k in enumerate(rows, start=1):
        html = render_html(prep, "kommun", k["kommun_kod"])
        data = html.encode("utf-8") if fmt == "html" else html_to_pdf(html)
        path = out / file_name("kommun", k["kommun_kod"], fmt, prep.result)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        written.append(path)
        if progress is not None:
            progress(i, len(rows), k["kommun_namn"])
    return written
