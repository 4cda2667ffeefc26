"""The labour-market follow-up by sex and birth region in the web app (labourmarket.followup).

Pages ``/arbetsmarknad`` (the country) and ``/kommun/{kod}/arbetsmarknad``; the API
``/api/v1/arbetsmarknad?kommun=KOD`` as JSON, or as CSV with ``format=csv`` (the export).
The figures are ratios of summed counts where the data source has counts by sex and birth
region (microdata, the synthetic population) and SCB's own percentages per listed area where
the store holds SCB's integration table IntGr1RegSOBASN.
"""

from __future__ import annotations

from typing import Annotated, Literal

import polars as pl
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from utanforskap.formatting import format_percent
from utanforskap.labourmarket import followup as fu
from utanforskap.results.karta import memo
from utanforskap.web import api as webapi
from utanforskap.web import schemas
from utanforskap.web.api import KOMMUN_KOD, json_response, unknown_kommun
from utanforskap.web.state import AppData

GROUP_LABELS = {"listade": "Listade områden", "ovriga": "Övriga områden", "kommun": "Hela kommunen", "riket": "Riket"}


def _followup(data: AppData, kod: str | None) -> fu.Followup:
    result = data.result
    loaded = memo(result, "labourmarket.loaded", lambda: fu.load(result.source.store))
    listed = result.areas.filter(pl.col("klass").is_not_null())["regso_kod"].to_list()
    return fu.followup(loaded, kod, listed, data.syntetisk)


def _tables(f: fu.Followup) -> list[dict]:
    """One table per measure and type: rows = (år, indelning), columns = groups or areas."""
    out = []
    for matt in f.measures:
        part = f.rows.filter(f.rows["matt"] == matt)
        for typ in part["typ"].unique(maintain_order=True).to_list():
            rows = part.filter(part["typ"] == typ)
            cols = list(dict.fromkeys(rows["omrade" if typ != "kvot av summor" else "grupp"].to_list()))
            key = "omrade" if typ != "kvot av summor" else "grupp"
            body = []
            for (ar, indelning), g in rows.group_by(["ar", "indelning"], maintain_order=True):
                values = dict(zip(g[key].to_list(), g["varde"].to_list(), strict=False))
                body.append({"ar": ar, "indelning": indelning, "values": [format_percent(values.get(c)) for c in cols]})
            body.sort(key=lambda r: (r["ar"], list(fu.GROUPS.values()).index(r["indelning"])))
            out.append({"caption": f"{fu.MEASURE_LABELS[matt]} ({typ})", "columns": [GROUP_LABELS.get(c, c) for c in cols], "rows": body})
    return out


def router(renderer, data: AppData) -> APIRouter:
    r = APIRouter()

    @r.get("/api/v1/arbetsmarknad", tags=["arbetsmarknad"], response_model=None,
           responses={**webapi.ERRORS, 200: {"model": schemas.Arbetsmarknad}},
           summary="Uppföljning av arbetsmarknaden efter kön och födelseregion: listade områden mot resten av kommunen och riket")
    def api_followup(
        kommun: Annotated[str | None, Query(pattern=KOMMUN_KOD, description="Kommunkod; utan: hela riket")] = None,
        format: Annotated[Literal["json", "csv"], Query(description="json eller csv")] = "json",
    ):
        if kommun is not None and kommun not in data.kommuner:
            raise unknown_kommun(kommun)
        f = _followup(data, kommun)
        if format == "csv":
            name = f"arbetsmarknad_{kommun or 'riket'}.csv"
            return Response(fu.to_csv(f), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        return json_response({
            "kommun": kommun, "syntetisk": f.synthetic, "ar": f.years, "anmarkningar": f.notes,
            "rader": f.rows.to_dicts(),
        })

    def page(request: Request, kod: str | None, title: str) -> HTMLResponse:
        f = _followup(data, kod)
        return renderer.page("arbetsmarknad.html.j2", request, titel=title, kod=kod, f=f, tabeller=_tables(f),
                             csv=f"/api/v1/arbetsmarknad?{'kommun=' + kod + '&' if kod else ''}format=csv")

    @r.get("/arbetsmarknad", response_class=HTMLResponse, include_in_schema=False)
    def national(request: Request) -> HTMLResponse:
        return page(request, None, "Arbetsmarknaden i listade områden: riket")

    @r.get("/kommun/{kod}/arbetsmarknad", response_class=HTMLResponse, include_in_schema=False)
    def kommun_page(request: Request, kod: str) -> HTMLResponse:
        k = data.kommuner.get(kod)
        if k is None:
            raise HTTPException(404, f"Det finns ingen kommun med koden {kod}. En kommunkod är fyra siffror, t.ex. 0180 för Stockholm.")
        return page(request, kod, f"Arbetsmarknaden i listade områden: {k['kommun_namn']}")

    return r
