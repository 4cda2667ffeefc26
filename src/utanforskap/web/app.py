"""The FastAPI application: pages, the open API (/api/v1), downloads and static files.

    data = state.build(karta.compute())     # once, at start-up
    app = create_app(data)                  # then serve with uvicorn

Errors never show a stack trace: API paths answer JSON `{"status", "fel", "detaljer"}` in
Swedish, pages answer an HTML error page.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from utanforskap import __version__
from utanforskap.validation import swedish_message
from utanforskap.web import api, apidocs, arbetsmarknad, assets, jamfor, lagesbild, maplayers, metodbank, robusthet, security, uppfoljning, valdeltagande
from utanforskap.web.caching import CachingMiddleware
from utanforskap.web.downloads import Downloads
from utanforskap.web.pages import Renderer
from utanforskap.web.pages import router as pages_router
from utanforskap.web.state import AppData

log = logging.getLogger("utanforskap.webb")

DESCRIPTION = """
Öppet API över **Utanförskapets karta**: Sveriges 3 363 RegSO-områden med metodens
indikatorer, flaggor och klass, och siffror per kommun, län och riket.

* Alla svar är JSON med svenska fältnamn. Varje svar anger metod, år och datakälla, och
  `syntetiska_data` är sant när siffrorna bygger på syntetiska data.
* Listor över områden är sidindelade med `limit` och `offset`; svaret anger `totalt` och
  länkar till nästa och föregående sida.
* Svaren har `ETag` och `Cache-Control`; skicka `If-None-Match` för att få 304 när inget ändrats.
* Fel: 404 för okända koder och 422 för ogiltiga parametrar, med ett meddelande på svenska
  (`fel`) och vid 422 vilket fält som är fel (`detaljer`).
"""

TAGS = [
    {"name": "översikt", "description": "Vad tjänsten visar och rikets siffror"},
    {"name": "områden", "description": "RegSO-områdena med värden, flaggor och klass"},
    {"name": "kommuner", "description": "Kommuner och län"},
    {"name": "metoder", "description": "Metoderna med parametrar och deras proveniens"},
    {"name": "sök", "description": "Sök kommun eller område"},
    {"name": "geodata", "description": "Gränser som GeoJSON för kartor"},
    {"name": "metodbank", "description": "Insatser mot utanförskap: läs publicerade utan inloggning, skriv med API-token"},
    {"name": "uppföljning", "description": "Förändringar mellan år och varje områdes serie"},
]

_HINTS = {
    "kommun": "en kommunkod är fyra siffror, t.ex. 0180",
    "lan": "en länskod är två siffror, t.ex. 01",
}
_PLACE = {"query": "frågeparameter", "path": "sökväg", "header": "rubrik", "body": "innehåll"}


def validation_details(exc: RequestValidationError) -> list[dict]:
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        place, field = (loc[0], ".".join(loc[1:])) if len(loc) > 1 else ("query", ".".join(loc))
        message = swedish_message(err)
        if err.get("type") == "string_pattern_mismatch" and field in _HINTS:
            message += f" ({_HINTS[field]})"
        item = {"falt": field, "plats": _PLACE.get(place, place), "meddelande": f"{field} {message}"}
        if "input" in err and err.get("type") != "missing":
            item["angivet"] = err["input"]
        details.append(item)
    return details


def create_app(data: AppData, *, geometri: str | Path | None = None, static_dir: Path = assets.STATIC_DIR, database=None) -> FastAPI:
    """The web application over one computed map. Fails if the front-end files are missing.

    `geometri`: a user's GeoPackage with RegSO or DeSO polygons (see geography.polygons).
    `database`: the metodbank's database (a metodbank.db.Database or URL); default
    UTANFORSKAP_DATABAS or the SQLite file in the user's data directory, opened on first use.
    """
    assets.check(static_dir)
    app = FastAPI(
        title="Utanförskapets karta – öppet API",
        description=DESCRIPTION,
        version=f"1 (utanforskap {__version__})",
        openapi_tags=TAGS,
        docs_url=None,  # FastAPI's Swagger UI loads from a CDN with an inline script: web/apidocs.py serves /docs
        redoc_url=None,
    )
    app.state.data = data
    renderer = Renderer(data)
    regso = maplayers.KommunPolygons(data, str(geometri) if geometri else None)
    downloads = Downloads(data, regso)
    app.state.downloads = downloads
    app.state.on_shutdown = [downloads.pdf_pool.close]  # web.server.serve calls these when it stops
    kommun_legends = maplayers.kommun_legends(data)
    regso_legends = maplayers.regso_legends(data)
    kommun_geojson = maplayers.kommun_geojson(data)
    bounds = maplayers.kommun_bounds(data)

    methods = api.methods_info(data)
    app.include_router(api.router(data, kommun_geojson, regso.geojson, methods))
    app.include_router(robusthet.router(data, renderer))
    make_openapi = app.openapi
    app.openapi = lambda: api.tidy_openapi(make_openapi())  # type: ignore[method-assign]
    app.include_router(lagesbild.lan_router(data, renderer))
    app.include_router(jamfor.router(data, renderer))
    app.include_router(downloads.router())
    app.include_router(uppfoljning.router(data, renderer))
    app.include_router(valdeltagande.router(data))
    app.include_router(arbetsmarknad.router(renderer, data))
    app.include_router(pages_router(renderer, data, kommun_legends, regso_legends, bounds, regso, downloads, methods))
    app.include_router(apidocs.router(renderer))
    metodbank_ctx = metodbank.Context(data, renderer, database)
    app.include_router(metodbank.router(data, renderer, ctx=metodbank_ctx))
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _ours(exc):
            message = exc.detail
        else:
            message = _DEFAULT_MESSAGES.get(exc.status_code, "Förfrågan kunde inte besvaras.").format(path=request.url.path, method=request.method)
        if is_api(request):
            response = api.json_response({"status": exc.status_code, "fel": message}, exc.status_code)
        else:
            response = renderer.error(request, exc.status_code, message)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(exc)
        message = "Ogiltig förfrågan: " + "; ".join(d["meddelande"] for d in details) + "."
        if is_api(request):
            return api.json_response({"status": 422, "fel": message, "detaljer": details}, 422)
        return renderer.error(request, 422, message)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("fel vid %s %s", request.method, request.url.path)
        message = "Ett internt fel uppstod. Felet är loggat på servern; försök igen eller kontakta den som driver tjänsten."
        if is_api(request):
            return api.json_response({"status": 500, "fel": message}, 500)
        return renderer.error(request, 500, message)

    # Innermost: the public's repeated metodbank reads, answered before routing.
    app.add_middleware(metodbank.PublicHits, ctx=metodbank_ctx)
    # Outermost: it sees the final status of every answer, errors included.
    app.add_middleware(CachingMiddleware, version=f"{data.version}-{_code_version(static_dir)}", skip_prefixes=("/static/", *metodbank.PREFIXES))
    # Around everything, a 500 included: HEAD, security headers, CORS, Allow, gzip.
    security.install(app)
    return app


def _code_version(static_dir: Path) -> str:
    """The program's version and a hash of the templates and our static files: an upgrade
    that changes a page must not be answered with 304 for the old one."""
    import hashlib
    from importlib import resources

    h = hashlib.sha256(__version__.encode())
    templates = Path(str(resources.files("utanforskap.web").joinpath("templates")))
    for path in sorted([*templates.glob("*.j2"), *static_dir.glob("*.css"), *static_dir.glob("*.js")]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:8]


_DEFAULT_MESSAGES = {
    404: "Sidan {path} finns inte.",
    405: "Metoden {method} går inte att använda här; tjänsten tar bara emot GET och HEAD (och OPTIONS för API:t).",
}


def _ours(exc: StarletteHTTPException) -> bool:
    """Our own errors carry a Swedish message; Starlette's default ones its English phrase."""
    return isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase
