"""How sure each listing is, on the web: /robusthet, /api/v1/robusthet,
/api/v1/omraden/{kod}/robusthet and /ladda-ner/robusthet.csv; and, for the area and kommun
pages, a template function `robusthet(kod)` (computed on first use, then kept)."""

from __future__ import annotations

import threading

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from utanforskap.robustness.overview import Overview, overview
from utanforskap.web import api as webapi
from utanforskap.web import schemas
from utanforskap.web.pages import Renderer
from utanforskap.web.state import AppData

NONE_DECLARED = "Metoden deklarerar ingen osäkerhet ([osakerhet] i metodfilen), så det finns ingen robusthetsanalys för den här kartan."


class Robustness:
    """The map's robustness overview, computed once on first use (thread-safe)."""

    def __init__(self, data: AppData) -> None:
        self.data = data
        self._lock = threading.Lock()

    def get(self) -> Overview | None:
        with self._lock:
            return overview(self.data.result)

    def area(self, code: str) -> dict | None:
        ov = self.get()
        return ov.area(code) if ov is not None else None

    def kommun(self, code: str) -> dict[str, dict]:
        """regso_kod -> record for a kommun's areas."""
        ov = self.get()
        if ov is None:
            return {}
        return {c: ov.records[c] for c in self.data.kommun_areas.get(code, []) if c in ov.records}


def sensitivity_rows(ov: Overview) -> list[dict]:
    return ov.sensitivity.table.to_dicts() if ov.sensitivity is not None else []


def router(data: AppData, renderer: Renderer) -> APIRouter:
    rb = Robustness(data)
    renderer.env.globals["robusthet"] = rb.area
    renderer.env.globals["robusthet_kommun"] = rb.kommun
    routes = APIRouter()
    meta = data.meta()

    def method_info(ov: Overview) -> dict:
        s = ov.summary
        return {
            "osakerhet": s["osakerhet"],
            "dragningar": s["dragningar"],
            "seed": s["seed"],
            "grans_sakert_listad": s["grans_sakert_listad"],
            "grans_sakert_ej_listad": s["grans_sakert_ej_listad"],
        }

    @routes.get(
        "/api/v1/omraden/{kod}/robusthet",
        response_model=None,
        responses={**webapi.ERRORS, 200: {"model": schemas.OmradeRobusthet}},
        summary="Hur säker är områdets listning",
        description=(
            "Sannolikheten att området listas och hamnar i högsta klassen när metodens deklarerade osäkerhet "
            "([osakerhet]: parametrarnas intervall, alternativa regler, brus i antal) dras med Monte Carlo; "
            "5–95 % av antalet flaggor, varje faktors flaggsannolikhet och avstånd till tröskeln i standardfel, "
            "den närmaste tröskeln, den bindande parametern (Sobol) och en etikett: säkert listad, osäker, säkert ej listad."
        ),
        tags=["områden"],
    )
    def area_robustness(kod: str) -> Response:
        rec = data.areas.get(kod) or data.areas.get(kod.upper())
        if rec is None:
            raise webapi.unknown_area(kod)
        ov = rb.get()
        if ov is None:
            raise webapi.not_found(NONE_DECLARED)
        return webapi.json_response({**meta, **method_info(ov), "robusthet": ov.area(rec["regso_kod"])})

    @routes.get(
        "/api/v1/robusthet",
        response_model=None,
        responses={**webapi.ERRORS, 200: {"model": schemas.Robusthet}},
        summary="Listans robusthet",
        description="Fördelningen av listans storlek över dragningarna, vilka parametrar som flyttar listan mest (Sobol och en i taget) och områdena närmast gränsen.",
        tags=["översikt"],
    )
    def overview_api() -> Response:
        ov = rb.get()
        if ov is None:
            raise webapi.not_found(NONE_DECLARED)
        return webapi.json_response(
            {
                **meta,
                **method_info(ov),
                "sammanfattning": {k: v for k, v in ov.summary.items() if k not in ("osakerhet",)},
                "listans_storlek": ov.size_counts().to_dicts(),
                "kanslighet": sensitivity_rows(ov),
                "narmast_gransen": ov.closest_to_line(20),
            }
        )

    @routes.get("/ladda-ner/robusthet.csv", include_in_schema=False)
    def download() -> Response:
        ov = rb.get()
        if ov is None:
            raise HTTPException(404, NONE_DECLARED)
        body = ov.table.write_csv().encode("utf-8")
        name = f"robusthet_{data.result.method.id}_{data.result.year}.csv"
        return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @routes.get("/robusthet", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request) -> HTMLResponse:
        ov = rb.get()
        return renderer.page(
            "robusthet.html.j2",
            request,
            ov=ov,
            s=ov.summary if ov else None,
            kanslighet=sensitivity_rows(ov) if ov else [],
            narmast=ov.closest_to_line(20) if ov else [],
            storlek=ov.size_counts().to_dicts() if ov else [],
            ingen=NONE_DECLARED,
        )

    return routes
