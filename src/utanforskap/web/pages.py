"""The HTML pages (Swedish; WCAG 2.1 AA). Each page works without JavaScript; the map and
search suggestions are added on top by static/karta.js and static/sok.js."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from typing import Annotated

import jinja2
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from utanforskap.formatting import format_number, format_percent
from utanforskap.geography import shapes
from utanforskap.results import ranking
from utanforskap.results.karta import STATUS_TEXT, class_label, top_class
from utanforskap.web import jamfor, valdeltagande
from utanforskap.web.downloads import Downloads
from utanforskap.web.lagesbild import AreaFacts
from utanforskap.web.maplayers import START_LAN, KommunPolygons, Legend, start_bounds
from utanforskap.web.state import AppData, Column

SEARCH_PAGE_LIMIT = 100
NAV = [
    ("/", "Karta"),
    ("/sok", "Sök"),
    ("/metoder", "Metoder"),
    ("/robusthet", "Robusthet"),
    ("/metodbank", "Metodbank"),
    ("/uppfoljning", "Uppföljning"),
    ("/ladda-ner", "Ladda ner"),
    ("/api", "API"),
    ("/tillganglighet", "Tillgänglighet"),
]


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("utanforskap.web").joinpath("templates", name).read_text("utf-8")
        ),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tal"] = format_number
    env.filters["procent"] = format_percent
    env.filters["varde"] = format_value
    env.globals["STATUS"] = STATUS_TEXT
    env.globals["NAV"] = NAV
    return env


def format_value(value, col: Column) -> str:
    if value is None:
        return "–"
    if col.typ == "andel":
        return format_percent(value)
    if col.typ == "flagga":
        return "ja" if value else "nej"
    return format_number(value)


class Renderer:
    """Renders a template with what every page shows (data source, synthetic banner, nav)."""

    def __init__(self, data: AppData) -> None:
        self.env = environment()
        # (value column, its flag column) per measured factor: the kommun page's area table
        value_flag = [
            (vc, next((fc.id for fc in data.columns if fc.typ == "flagga" and fc.faktor == vc.faktor), None))
            for vc in data.factor_value_columns()
        ]
        self.common = {
            "data": data,
            "r": data.result,
            "syntetisk": data.syntetisk,
            "class_label": class_label,
            "top_class": top_class(data.result),
            "klasser": data.klasser,
            "factor_cols": data.factor_value_columns(),
            "flag_cols": [c for c in data.columns if c.typ == "flagga" and c.faktor],
            "varde_flagga": value_flag,
            "f_of": {vc.id: fc for vc, fc in value_flag if fc},  # the compare page marks flagged values
            "faktorer": data.factors,
        }

    def page(self, template: str, request: Request, status: int = 200, **ctx) -> HTMLResponse:
        html = self.env.get_template(template).render(**self.common, path=request.url.path, **ctx)
        return HTMLResponse(html, status_code=status)

    def error(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.page("fel.html.j2", request, status=status, status_code=status, message=message)


class PageCache:
    """Rendered pages by what they depend on (path and the chosen map layer).

    The app serves one computed map that never changes while it runs, so a kommun or area
    page is the same bytes every time it is asked for: render it once, then answer from
    here. Least recently used pages go first when the pages held pass `max_bytes`.
    """

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            body = self._pages.get(key)
            if body is not None:
                self._pages.move_to_end(key)
            return body

    def put(self, key: tuple, body: bytes) -> None:
        with self._lock:
            if key in self._pages:
                return
            self._pages[key] = body
            self.bytes += len(body)
            while self.bytes > self.max_bytes and len(self._pages) > 1:
                _, old = self._pages.popitem(last=False)
                self.bytes -= len(old)

    def __len__(self) -> int:
        return len(self._pages)


def _html(body: bytes) -> HTMLResponse:
    return HTMLResponse(body)


async def _cached(cache: PageCache, key: tuple, build: Callable[[], HTMLResponse]) -> HTMLResponse:
    """The page under `key`, built in the thread pool the first time (it may read polygon
    files or ask SCB's WFS, which must not hold up other requests)."""
    body = cache.get(key)
    if body is None:
        response = await run_in_threadpool(build)
        if response.status_code != 200:  # pragma: no cover - build raises for errors
            return response
        body = bytes(response.body)
        cache.put(key, body)
    return _html(body)


def router(
    renderer: Renderer,
    data: AppData,
    kommun_legends: list[Legend],
    regso_legends: list[Legend],
    bounds: dict,
    regso_available: KommunPolygons,
    download_links: Downloads,
    methods: list[dict],
) -> APIRouter:
    """Page routes over `data`; `methods` is web.api.methods_info(data), shared with the API."""
    pages = APIRouter(include_in_schema=False)
    render = renderer.page
    facts = AreaFacts(data.result)
    ranks = {row["regso_kod"]: row for row in ranking.within_kommun(data.result).iter_rows(named=True)}
    ranked = [
        (f, ranking.rank_column(f.varde), ranking.count_column(f.varde))
        for f in data.result.factors
        if f.measured and f.varde and ranking.rank_column(f.varde) in next(iter(ranks.values()), {})
    ]

    cache = PageCache()
    south_box, sweden_box = start_bounds()
    pages.page_cache = cache  # type: ignore[attr-defined]  # for tests and the benchmark
    def pick(legends: list[Legend], variabel: str | None) -> Legend:
        return next((lg for lg in legends if lg.variabel == variabel), legends[0])

    def unknown_variable(legends: list[Legend], variabel: str | None) -> str | None:
        """A visible note when ?variabel= names no layer (the default layer is shown instead)."""
        if variabel is None or any(lg.variabel == variabel for lg in legends):
            return None
        return f"Det finns inget kartlager som heter {variabel!r}; kartan visar {legends[0].rubrik.lower()} i stället. Välj lager i listan nedan."

    def map_config(legends, chosen, **extra) -> dict:
        return {
            "kommuner": "/api/v1/geo/kommuner.geojson",
            "lager": [lg.as_dict() for lg in legends],
            "vald": chosen.variabel,
            **extra,
        }

    @pages.get("/", response_class=HTMLResponse)
    async def start(request: Request, variabel: str | None = None) -> HTMLResponse:
        chosen = pick(kommun_legends, variabel)
        kommuner = sorted(
            (k for k in data.kommuner.values() if k["listade_omraden"] > 0),
            key=lambda k: (-k["listade_omraden"], k["kommun_namn"]),
        )
        return render(
            "start.html.j2",
            request,
            legends=kommun_legends,
            chosen=chosen,
            meddelande=unknown_variable(kommun_legends, variabel),
            karta=map_config(kommun_legends, chosen, bounds=south_box, hela=sweden_box, lagertyp="kommun"),
            utanfor_utsnitt=sum(k["listade_omraden"] for k in data.kommuner.values() if k["lan_kod"] not in START_LAN),
            geometri=shapes.GEOMETRY_NOTE["kommun"],
            kommuner=kommuner,
            lan=[row for row in data.lan.values()],
        )

    @pages.get("/sok", response_class=HTMLResponse)
    async def sok(request: Request, q: Annotated[str, Query(max_length=100)] = "") -> Response:
        hits = data.search(q, SEARCH_PAGE_LIMIT + 1) if q.strip() else []
        exact = [h for h in hits if h.typ == "kommun" and h.namn.casefold() == q.strip().casefold()]
        if len(exact) == 1:  # "Botkyrka" typed in full goes to Botkyrka
            return RedirectResponse(f"/kommun/{exact[0].kod}", status_code=303)
        return render(
            "sok.html.j2",
            request,
            q=q,
            kommuner=[h for h in hits[:SEARCH_PAGE_LIMIT] if h.typ == "kommun"],
            omraden=[h for h in hits[:SEARCH_PAGE_LIMIT] if h.typ == "omrade"],
            antal=min(len(hits), SEARCH_PAGE_LIMIT),
            fler=len(hits) > SEARCH_PAGE_LIMIT,
        )

    @pages.get("/kommun/{kod}", response_class=HTMLResponse)
    async def kommun(request: Request, kod: str, variabel: str | None = None) -> HTMLResponse:
        k = data.kommuner.get(kod)
        if k is None:
            raise HTTPException(404, f"Det finns ingen kommun med koden {kod}. En kommunkod är fyra siffror, t.ex. 0180 för Stockholm.")
        # The page depends on the kommun and the layer shown; an unknown variabel shows the first.
        # The layers depend on whether the kommun has RegSO polygons: known after the first look-up.
        layers = [lg.variabel for lg in regso_legends] + [lg.variabel for lg in kommun_legends]
        if variabel is not None and variabel not in layers:  # the page says the layer is unknown: not cached
            return await run_in_threadpool(kommun_page, request, kod, k, variabel)
        return await _cached(cache, ("kommun", request.url.path, variabel), lambda: kommun_page(request, kod, k, variabel))

    def kommun_page(request: Request, kod: str, k: dict, variabel: str | None) -> HTMLResponse:
        has_regso = regso_available(kod)
        legends = regso_legends if has_regso else kommun_legends
        chosen = pick(legends, variabel)
        extra = {"bounds": (has_regso and regso_available.focus_bounds(kod)) or bounds.get(kod), "markera_kommun": kod, "lagertyp": "regso" if has_regso else "kommun"}
        if has_regso:
            extra["regso"] = f"/api/v1/geo/regso.geojson?kommun={kod}"
        areas = [data.areas[c] for c in data.kommun_areas.get(kod, [])]
        return render(
            "kommun.html.j2",
            request,
            k=k,
            areas=areas,
            listed=[a for a in areas if a["listad"]],
            values=data.kommun_values.get(kod, {}),
            legends=legends,
            meddelande=unknown_variable(legends, variabel),
            chosen=chosen,
            has_regso=has_regso,
            karta=map_config(legends, chosen, **extra),
            geometri=(regso_available.note(kod) if has_regso else shapes.GEOMETRY_NOTE["kommun"]),
            downloads=download_links.kommun(kod),
            valdeltagande=valdeltagande.section(kod, k["kommun_namn"]),
            rangordning=ranked,
            jamfor_lank=jamfor.link(jamfor.kommun_suggestion(data, kod)),
            rang={a["regso_kod"]: ranks.get(a["regso_kod"], {}) for a in areas},
        )

    @pages.get("/omrade/{kod}", response_class=HTMLResponse)
    async def omrade(request: Request, kod: str) -> HTMLResponse:
        a = data.areas.get(kod) or data.areas.get(kod.upper())
        if a is None:
            raise HTTPException(404, f"Det finns inget område med koden {kod}. En RegSO-kod ser ut som 0180R024; sök på områdets namn i stället.")
        return await _cached(cache, ("omrade", request.url.path), lambda: omrade_page(request, a))

    def omrade_page(request: Request, a: dict) -> HTMLResponse:
        kod = a["regso_kod"]
        k = data.kommuner[a["kommun_kod"]]
        has_regso = regso_available(a["kommun_kod"])
        karta = None
        if has_regso:
            chosen = regso_legends[0]
            karta = map_config(
                [chosen], chosen, bounds=regso_available.focus_bounds(a["kommun_kod"], kod) or bounds.get(a["kommun_kod"]), markera_kommun=a["kommun_kod"],
                regso=f"/api/v1/geo/regso.geojson?kommun={a['kommun_kod']}", markera_omrade=kod, lagertyp="regso",
            )
        return render(
            "omrade.html.j2",
            request,
            a=a,
            k=k,
            kv=data.kommun_values.get(a["kommun_kod"], {}),
            faktorrader=facts.factor_rows(a),
            referens=facts.reference(kod),
            rv=data.riket_values,
            karta=karta,
            legend=regso_legends[0] if has_regso else None,
            geometri=regso_available.note(a["kommun_kod"]) if has_regso else None,
            downloads=download_links.omrade(kod),
            jamfor_lank=jamfor.link(jamfor.area_suggestion(data, kod)),
        )

    @pages.get("/metoder", response_class=HTMLResponse)
    async def metoder(request: Request) -> HTMLResponse:
        return render("metoder.html.j2", request, metoder=methods)

    @pages.get("/ladda-ner", response_class=HTMLResponse)
    async def ladda_ner(request: Request) -> HTMLResponse:
        return render("ladda_ner.html.j2", request, downloads=download_links.national())

    @pages.get("/api", response_class=HTMLResponse)
    async def api_page(request: Request) -> HTMLResponse:
        example = next((k for k, v in sorted(data.kommuner.items()) if v["listade_omraden"] > 0), next(iter(data.kommuner)))
        area = data.kommun_areas[example][0]
        return render("api.html.j2", request, exempel_kommun=example, exempel_omrade=area)

    @pages.get("/tillganglighet", response_class=HTMLResponse)
    async def tillganglighet(request: Request) -> HTMLResponse:
        return render("tillganglighet.html.j2", request)

    return pages
