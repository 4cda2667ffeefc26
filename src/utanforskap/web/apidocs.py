"""/docs: interactive documentation of the open API (Swagger UI), served from our own files.

FastAPI's own /docs loads Swagger UI from a CDN and starts it with an inline script, which
the Content-Security-Policy (web/security.py) forbids. Here Swagger UI comes from the npm
install (swagger-ui-dist, copied to static/vendor/swagger-ui by `npm run bygg`) and is
started by static/docs.js; the page itself is a template without script of its own.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from utanforskap.web.pages import Renderer

SWAGGER_JS = "/static/vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = "/static/vendor/swagger-ui/swagger-ui.css"


def router(renderer: Renderer) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/docs", response_class=HTMLResponse)
    async def docs(request: Request) -> HTMLResponse:
        return renderer.page("docs.html.j2", request, swagger_js=SWAGGER_JS, swagger_css=SWAGGER_CSS, openapi_url="/openapi.json")

    return r
