"""Uppföljning in the web app: a page of changes between two chosen years, each area's
series (on its page), and the API routes /api/v1/omraden/{kod}/tidsserie and
/api/v1/forandringar?fran=&till=. Thin over followup.service (computed once, on first use)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from utanforskap.errors import InputError
from utanforskap.followup.series import year_span
from utanforskap.followup.service import FollowUpService
from utanforskap.web import schemas
from utanforskap.web.api import ERRORS, json_response, unknown_area
from utanforskap.web.state import AppData


def _records(df) -> list[dict] | None:
    return None if df is None else df.to_dicts()


def router(data: AppData, renderer) -> APIRouter:
    result = data.result
    builtin = result.method.source.startswith("utanforskap/methods/builtin/")
    service = FollowUpService(result.method.id if builtin else result.method.source, result.source)
    meta = data.meta()
    r = APIRouter()

    def area_code(kod: str) -> str:
        a = data.areas.get(kod) or data.areas.get(kod.upper())
        if a is None:
            raise unknown_area(kod)
        return a["regso_kod"]

    def series(kod: str) -> dict:
        s = service.area_series(kod)
        return {**s, "ar_karta": service.years(), "anmarkning": service.note}

    renderer.env.globals["uppfoljning_serie"] = series

    @r.get(
        "/api/v1/omraden/{kod}/tidsserie",
        response_model=None,
        responses={**ERRORS, 200: {"model": schemas.Tidsserie}},
        summary="Ett områdes värden över åren",
        description=(
            "För varje år som kartan finns: klass, antal flaggor och varje faktors värde, flagga och tröskel. "
            "Dessutom de verkliga serierna i paketet: kriminalitet per år (sex brottskoder, per 1 000 invånare, "
            "flagga mot årets och mot basårets riksnivå) och områdestyp."
        ),
        tags=["uppföljning"],
    )
    def tidsserie(kod: str) -> Response:
        code = area_code(kod)
        return json_response({**meta, "regso_kod": code, **series(code)})

    @r.get(
        "/api/v1/forandringar",
        response_model=None,
        responses={**ERRORS, 200: {"model": schemas.Forandringar}},
        summary="Områden som kom in på eller lämnade listan mellan två år",
        description=(
            "`lista`: kartans förändringar (in, ut, upp, ned) med ändrade flaggor, marginal till varje tröskel och orsak; "
            "`kriminalitet`: RegSO vars brottsflagga tändes eller släcktes; `omradestyp`: in i eller ut ur områdestyp 1. "
            "Ett fält är null när data saknas för något av åren."
        ),
        tags=["uppföljning"],
    )
    def forandringar(
        fran: Annotated[int, Query(ge=1990, le=2100, description="Första året, t.ex. 2022")],
        till: Annotated[int, Query(ge=1990, le=2100, description="Andra året, t.ex. 2023")],
    ) -> Response:
        try:
            ch = service.changes(fran, till)
        except InputError as exc:
            raise HTTPException(422, f"Ogiltig förfrågan: {exc}.") from None
        return json_response({
            **meta, "fran": fran, "till": till, "ar_karta": service.years(), "ar_kriminalitet": service.crime_years(),
            "ar_omradestyp": service.type_years(),
            "lista": _records(ch["lista"]), "kriminalitet": _records(ch["kriminalitet"]), "omradestyp": _records(ch["omradestyp"]),
        })

    @r.get("/uppfoljning", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, fran: int | None = None, till: int | None = None) -> HTMLResponse:
        years = service.all_years()
        if len(years) < 2:
            return renderer.page("uppfoljning.html.j2", request, ar=years, fran=None, till=None, ch=None, fel=service.note or "Data finns bara för ett år.", service=service, span=year_span)  # noqa: E501 (Swedish text for users)
        fran = years[0] if fran is None else fran
        till = years[-1] if till is None else till
        try:
            ch = service.changes(fran, till)
            fel = None
        except InputError as exc:
            ch, fel = None, str(exc)
        return renderer.page("uppfoljning.html.j2", request, ar=years, fran=fran, till=till, ch=ch, fel=fel, service=service, span=year_span)

    return r
