"""The open REST API, version 1 (/api/v1). Answers are JSON in Swedish field names.

Area records are serialised once at start-up; a request joins the bytes of the page it asks
for, so the area list answers in well under a millisecond of handler time.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from utanforskap.methods import engine, loader
from utanforskap.results.karta import factors
from utanforskap.web import schemas
from utanforskap.web.state import AppData

JSON = "application/json"
GEOJSON = "application/geo+json"
KOMMUN_KOD = r"^\d{4}$"
LAN_KOD = r"^\d{2}$"
MAX_LIMIT = 1000


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class GeoJSONResponse(Response):
    media_type = GEOJSON


# Every /api/v1 route documents the errors it really answers with (schemas.Fel), not
# FastAPI's default 422 schema.
ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": schemas.Fel, "description": "Okänd kod eller adress (svar på svenska)"},
    422: {"model": schemas.Fel, "description": "Ogiltig parameter: `detaljer` anger fält, plats och orsak"},
}


def tidy_openapi(schema: dict) -> dict:
    """The GeoJSON routes answer errors as JSON, like every route, and their 200 is only the
    GeoJSON schema (FastAPI files both under the route's media type). Idempotent."""
    for path, item in schema.get("paths", {}).items():
        if not path.endswith(".geojson"):
            continue
        for op in item.values():
            for status, resp in op.get("responses", {}).items():
                content = resp.get("content", {})
                if status == "200" and GEOJSON in content:
                    content[GEOJSON]["schema"] = {"$ref": "#/components/schemas/GeoJSON"}
                elif GEOJSON in content:
                    resp["content"] = {JSON: content[GEOJSON]}
    return schema


def json_response(obj, status: int = 200) -> Response:
    return Response(dumps(obj), status_code=status, media_type=JSON)


def not_found(message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=message)


def unknown_kommun(code: str) -> HTTPException:
    return not_found(f"Okänd kommunkod {code!r}. En kommunkod är fyra siffror, t.ex. 0180 för Stockholm; alla koder finns under /api/v1/kommuner.")


def unknown_area(code: str) -> HTTPException:
    return not_found(f"Okänt område {code!r}. En RegSO-kod ser ut som 0180R024; sök på namn med /api/v1/sok?q=namn eller lista en kommuns områden med /api/v1/omraden?kommun=0180.")


def methods_info(data: AppData) -> list[dict]:
    """Every shipped method (and the one in use, if it is a file) with parameters and provenance."""
    used = data.result.method
    loaded = {mid: loader.load(mid) for mid in loader.builtin_ids()}
    if used.id not in loaded:
        loaded[used.id] = used
    out = []
    for mid, lm in loaded.items():
        meth = lm.method
        out.append(
            {
                "id": mid,
                "titel": meth.titel,
                "version": meth.version,
                "beskrivning": " ".join(meth.beskrivning.split()),
                "kalla": meth.kalla,
                "proveniens": engine.provenance_summary(meth),
                "anvands": mid == used.id,
                "kan_koras_pa_kartan": meth.nyckel == "regso_kod",
                "parametrar": engine.describe_parameters(lm),
                "faktorer": [
                    {"id": f.id, "namn": f.namn, "status": f.status, "matt": f.matt, "proxy_for": f.proxy_for}
                    for f in factors(lm)
                ],
            }
        )
    out.sort(key=lambda m: (not m["anvands"], m["id"]))
    return out


def router(data: AppData, kommun_geojson: bytes, regso_geojson, methods: list[dict]) -> APIRouter:
    """The /api/v1 routes over `data`; `regso_geojson(kommun_kod)` gives bytes or None;
    `methods` is methods_info(data), made once for the API and the pages."""
    api = APIRouter(prefix="/api/v1", responses=ERRORS)
    meta = data.meta()
    _overview_routes(api, meta)
    _area_routes(api, data, meta)
    _level_routes(api, data, meta)
    _method_routes(api, methods)
    _search_routes(api, data)
    _geo_routes(api, data, kommun_geojson, regso_geojson)
    return api


def _overview_routes(api: APIRouter, meta: dict) -> None:
    @api.get(
        "",
        response_model=None,
        responses={200: {"model": schemas.Oversikt}},
        summary="Översikt över API:t",
        description="Vilken karta tjänsten visar (metod, år, data) och adresserna till API:ts resurser.",
        tags=["översikt"],
    )
    async def index() -> Response:
        return json_response(
            {
                **meta,
                "version": "v1",
                "resurser": {
                    "riket": "/api/v1/riket",
                    "lan": "/api/v1/lan",
                    "kommuner": "/api/v1/kommuner",
                    "kommun": "/api/v1/kommuner/{kommunkod}",
                    "omraden": "/api/v1/omraden?kommun={kommunkod}&limit=100&offset=0",
                    "omrade": "/api/v1/omraden/{regsokod}",
                    "metoder": "/api/v1/metoder",
                    "sok": "/api/v1/sok?q={namn}",
                    "kommungranser": "/api/v1/geo/kommuner.geojson",
                    "openapi": "/openapi.json",
                },
            }
        )


def _area_routes(api: APIRouter, data: AppData, meta: dict) -> None:
    area_lists: dict[tuple, list[str]] = {}

    def area_codes(kommun: str | None, lan: str | None, listade: bool | None) -> list[str]:
        key = (kommun, lan, listade)
        codes = area_lists.get(key)
        if codes is None:
            if kommun is not None:
                codes = data.kommun_areas.get(kommun, [])
                if lan is not None and data.kommuner[kommun]["lan_kod"] != lan:
                    codes = []
            elif lan is not None:
                codes = data.lan_areas.get(lan, [])
            else:
                codes = data.all_areas
            if listade is not None:
                codes = [c for c in codes if data.areas[c]["listad"] is listade]
            area_lists[key] = codes
        return codes

    @api.get(
        "/omraden",
        response_model=None,
        responses={200: {"model": schemas.OmradeLista}},
        summary="Områden (RegSO) med indikatorer, flaggor och klass",
        description=(
            "Alla 3 363 RegSO, eller en kommuns eller ett läns, sidindelade med `limit` och `offset`. "
            "Svaret anger `totalt` (antal som matchar) och länkar till första, föregående, nästa och sista sida. "
            "Ordning: i en kommun de listade områdena först (högsta klassen först), sedan efter namn; annars efter kod."
        ),
        tags=["områden"],
    )
    async def omraden(
        kommun: Annotated[str | None, Query(pattern=KOMMUN_KOD, description="Kommunkod, fyra siffror, t.ex. 0180")] = None,
        lan: Annotated[str | None, Query(pattern=LAN_KOD, description="Länskod, två siffror, t.ex. 01")] = None,
        listade: Annotated[bool | None, Query(description="true: bara listade områden; false: bara områden som inte är listade")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Antal områden per sida (1–{MAX_LIMIT})")] = 100,
        offset: Annotated[int, Query(ge=0, description="Hur många områden som hoppas över (0 = första sidan)")] = 0,
    ) -> Response:
        if kommun is not None and kommun not in data.kommuner:
            raise unknown_kommun(kommun)
        if lan is not None and lan not in data.lan:
            raise not_found(f"Okänd länskod {lan!r}. En länskod är två siffror, t.ex. 01 för Stockholms län; alla koder finns under /api/v1/lan.")
        codes = area_codes(kommun, lan, listade)
        total = len(codes)
        page = codes[offset : offset + limit]
        filters = {k: v for k, v in (("kommun", kommun), ("lan", lan), ("listade", None if listade is None else str(listade).lower())) if v is not None}

        def link(off: int) -> str:
            return "/api/v1/omraden?" + urlencode({**filters, "limit": limit, "offset": off})

        last = max(0, (total - 1) // limit * limit)
        envelope = {
            **meta,
            "totalt": total,
            "limit": limit,
            "offset": offset,
            "antal": len(page),
            "lankar": {
                "sjalv": link(offset),
                "forsta": link(0),
                "sista": link(last),
                "nasta": link(offset + limit) if offset + limit < total else None,
                "foregaende": link(max(0, offset - limit)) if offset > 0 else None,
            },
        }
        head = dumps(envelope)[:-1]
        body = head + b',"omraden":[' + b",".join(data.area_json[c] for c in page) + b"]}"
        return Response(body, media_type=JSON)

    @api.get(
        "/omraden/{kod}",
        response_model=None,
        responses={200: {"model": schemas.OmradeSvar}},
        summary="Ett område (RegSO)",
        description="Områdets indikatorer, flaggor och klass, och faktorernas värden för området, kommunen och riket.",
        tags=["områden"],
    )
    async def omrade(kod: str) -> Response:
        rec = data.areas.get(kod) or data.areas.get(kod.upper())
        if rec is None:
            raise unknown_area(kod)
        kv = data.kommun_values.get(rec["kommun_kod"], {})
        comparison = {
            c.id: {"omrade": rec["indikatorer"].get(c.id), "kommun": kv.get(c.id), "riket": data.riket_values.get(c.id)}
            for c in data.factor_value_columns()
        }
        return json_response({**meta, "omrade": rec, "jamforelse": comparison})


def _level_routes(api: APIRouter, data: AppData, meta: dict) -> None:
    @api.get(
        "/kommuner",
        response_model=None,
        responses={200: {"model": schemas.KommunLista}},
        summary="Alla kommuner med kartans siffror",
        tags=["kommuner"],
    )
    async def kommuner(
        lan: Annotated[str | None, Query(pattern=LAN_KOD, description="Bara kommunerna i detta län (två siffror)")] = None,
        listade: Annotated[bool | None, Query(description="true: bara kommuner med minst ett listat område")] = None,
    ) -> Response:
        rows = [
            k for k in data.kommuner.values()
            if (lan is None or k["lan_kod"] == lan) and (listade is None or (k["listade_omraden"] > 0) is listade)
        ]
        return json_response({**meta, "totalt": len(rows), "kommuner": rows})

    @api.get(
        "/kommuner/{kod}",
        response_model=None,
        responses={200: {"model": schemas.KommunSvar}},
        summary="En kommun",
        description="Kommunens siffror, faktorernas värden för kommunen och riket, och kommunens områden.",
        tags=["kommuner"],
    )
    async def kommun(kod: str) -> Response:
        rec = data.kommuner.get(kod)
        if rec is None:
            raise unknown_kommun(kod)
        areas = [
            {k: data.areas[c][k] for k in ("regso_kod", "regso_namn", "befolkning", "klass", "listad", "lankar")}
            for c in data.kommun_areas.get(kod, [])
        ]
        return json_response({**meta, "kommun": rec, "riket": data.riket_values, "omraden": areas})

    @api.get("/lan", response_model=None, responses={200: {"model": schemas.LanLista}}, summary="Alla län med kartans siffror", tags=["kommuner"])
    async def lan_list() -> Response:
        return json_response({**meta, "totalt": len(data.lan), "lan": list(data.lan.values())})

    @api.get("/riket", response_model=None, responses={200: {"model": schemas.RiketSvar}}, summary="Rikets siffror", description="Listade områden, invånare och barn i dem, och faktorernas värden för riket.", tags=["översikt"])  # noqa: E501 (Swedish text for users)
    async def riket() -> Response:
        return json_response({**meta, "riket": data.riket})


def _method_routes(api: APIRouter, methods: list[dict]) -> None:
    methods_json = dumps({"totalt": len(methods), "metoder": methods})
    method_json = {m["id"]: dumps(m) for m in methods}

    @api.get(
        "/metoder",
        response_model=None,
        responses={200: {"model": schemas.MetodLista}},
        summary="Metoderna som följer med programmet",
        description="Varje metod med parametrar (värde, enhet, proveniens och motivering) och faktorer. `anvands` är sant för kartans metod.",
        tags=["metoder"],
    )
    async def metoder() -> Response:
        return Response(methods_json, media_type=JSON)

    @api.get(
        "/metoder/{metod_id}",
        response_model=None,
        responses={200: {"model": schemas.MetodInfo}},
        summary="En metod",
        tags=["metoder"],
    )
    async def metod(metod_id: str) -> Response:
        body = method_json.get(metod_id)
        if body is None:
            raise not_found(f"Okänd metod {metod_id!r}. Metoderna som finns: {', '.join(method_json)}.")
        return Response(body, media_type=JSON)


def _search_routes(api: APIRouter, data: AppData) -> None:
    @api.get(
        "/sok",
        response_model=None,
        responses={200: {"model": schemas.SokSvar}},
        summary="Sök kommun eller område på namn eller kod",
        description="Skiftläget spelar ingen roll, och en sökning utan å, ä och ö (Malmo) hittar också Malmö. Kommuner kommer före områden.",
        tags=["sök"],
    )
    async def sok(
        q: Annotated[str, Query(min_length=1, max_length=100, description="Namn eller kod, hela eller början")],
        limit: Annotated[int, Query(ge=1, le=100, description="Högst så många träffar (1–100)")] = 20,
    ) -> Response:
        hits = data.search(q, limit)
        return json_response({"q": q, "antal": len(hits), "traffar": [h.__dict__ for h in hits]})


def _geo_routes(api: APIRouter, data: AppData, kommun_geojson: bytes, regso_geojson) -> None:
    @api.get(
        "/geo/kommuner.geojson",
        summary="Kommungränser med kartans siffror (GeoJSON)",
        description="De 290 kommunerna, förenklade, i WGS 84, med antal listade områden, andel invånare i dem och faktorernas kommunvärden.",
        tags=["geodata"],
        response_class=GeoJSONResponse,
        responses={200: {"model": schemas.GeoJSON}},
    )
    async def geo_kommuner() -> Response:
        return Response(kommun_geojson, media_type=GEOJSON)

    @api.get(
        "/geo/regso.geojson",
        summary="RegSO-gränser i en kommun (GeoJSON), där geometri finns",
        description="Områdenas klass och faktorernas värden. Geometri finns bara för en del av landet (se kartans bildtext); annars 404.",
        tags=["geodata"],
        response_class=GeoJSONResponse,
        responses={200: {"model": schemas.GeoJSON}},
    )
    def geo_regso(kommun: Annotated[str, Query(pattern=KOMMUN_KOD, description="Kommunkod, fyra siffror")]) -> Response:
        if kommun not in data.kommuner:
            raise unknown_kommun(kommun)
        body = regso_geojson(kommun)
        if body is None:
            raise not_found(f"RegSO-gränser saknas för {data.kommuner[kommun]['kommun_namn']} ({kommun}); kommungränsen finns under /api/v1/geo/kommuner.geojson.")
        return Response(body, media_type=GEOJSON)
