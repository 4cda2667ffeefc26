"""Turnout per kommun and valdistrikt in the web app: the API route and the page section's data.

Real data from the bundled Valmyndigheten files (reports/valdeltagande.py), independent of the
map's data source: ``GET /api/v1/kommuner/{kod}/valdeltagande``; the kommun page shows the same
through ``_valdeltagande.html.j2``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from utanforskap.reports import valdeltagande
from utanforskap.web import schemas
from utanforskap.web.api import ERRORS, KOMMUN_KOD, json_response, unknown_kommun
from utanforskap.web.state import AppData


def section(kod: str, namn: str) -> dict | None:
    """The kommun page's section (None when the package has no election data)."""
    return valdeltagande.section(kod, namn)


def router(data: AppData) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["valdeltagande"])

    @r.get(
        "/kommuner/{kod}/valdeltagande",
        response_model=None,
        responses={**ERRORS, 200: {"model": schemas.Valdeltagande}},
        summary="Valdeltagande i riksdagsvalen 2018 och 2022 för en kommun och dess valdistrikt med lägst valdeltagande",
    )
    def kommun_turnout(kod: Annotated[str, Path(pattern=KOMMUN_KOD)], antal: int = 5):
        if kod not in data.kommuner:
            raise unknown_kommun(kod)
        if not 1 <= antal <= 50:
            raise HTTPException(422, "antal måste vara mellan 1 och 50")
        out = valdeltagande.turnout(kod, lowest=antal)
        if out is None:
            raise HTTPException(404, "Paketet saknar valdata; bygg om det med utanforskap importera --fran ../shared/data.")
        return json_response(out)

    return r
