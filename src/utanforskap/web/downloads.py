"""Downloads: the library's own exports (CSV, Excel, GeoPackage) and the PDF reports.

National files are written once at start-up by `results.export.write_all`; a kommun's
files are the same table filtered to the kommun, made on first request. PDF reports come
from `reports.render` (a second or two each). What was made is kept in memory up to
CACHE_BYTES, the least recently asked for dropped first.

PDFs are rendered in a worker process of their own (PdfPool, PDF_WORKERS processes, started
on the first request, at lower CPU priority), never in the threads or the interpreter that
serve the pages, and each document once: requests for a report that is being rendered
wait for that rendering (single flight). The PDF routes are async and only await the
result, so a crowd of report requests holds no thread that a page needs, and WeasyPrint
never holds the pages' GIL. Beyond MAX_PDF_QUEUE reports waiting, a request is answered
503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing
import os
import pickle
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import polars as pl
from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from utanforskap.errors import InputError
from utanforskap.results import export
from utanforskap.web.maplayers import KommunPolygons
from utanforskap.web.state import AppData

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "pdf": "application/pdf",
}
NATIONAL = {
    "omraden.csv": ("omraden", "Alla områden (CSV)", "Alla 3 363 RegSO med värden, flaggor och klass. Öppnas som kolumner i Excel med svenska inställningar (semikolon, decimalkomma)."),  # noqa: E501 (Swedish text for users)
    "listade_omraden.csv": ("listade_csv", "Listade områden (CSV)", "Bara de listade områdena, ordnade efter län och kommun."),
    "listade_omraden.xlsx": ("listade_xlsx", "Listade områden (Excel)", "Listade områden, per län, per kommun, faktorer, parametrar, om data och en beskrivning av varje kolumn, i var sitt blad."),  # noqa: E501 (Swedish text for users)
    "omraden_maskinlasbar.csv": ("omraden_maskin", "Alla områden (maskinläsbar CSV)", "Samma tabell för program: komma mellan fälten, decimalpunkt, utan BOM."),
    "listade_omraden_maskinlasbar.csv": ("listade_maskin", "Listade områden (maskinläsbar CSV)", "Samma tabell för program: komma mellan fälten, decimalpunkt, utan BOM."),
    "kommuner.gpkg": ("kommuner_gpkg", "Kommuner (GeoPackage)", "Kommungränser med antal listade områden och invånare i dem, för GIS (lager kommuner, SWEREF 99 TM)."),
    "kommuner.geojson": ("kommuner_geojson", "Kommuner (GeoJSON)", "Samma kommunlager i WGS 84."),
}


PDF_WORKERS = 1  # one process: reports are rare, and the cores serve the pages
PDF_NICE = 5  # the worker's CPU priority below the server's
MAX_PDF_QUEUE = 200
CACHE_BYTES = 64 * 1024 * 1024  # a few dozen PDFs; the worst case (every file of every kommun) is some 240 MB


class BoundedCache:
    """Bytes by key, least recently used dropped first once the total passes `max_bytes`."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: tuple, body: bytes) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self.size += len(body) - (len(old) if old is not None else 0)
            self._items[key] = body
            while self.size > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped)

    def __contains__(self, key: tuple) -> bool:
        with self._lock:
            return key in self._items


# ---- the PDF worker process -----------------------------------------------------------------
_worker: dict = {}


def _init_worker(result_file: str, geometri: str | None) -> None:
    """In the worker process: the map (pickled to a file, ~1 MB) and a lower CPU priority."""
    with contextlib.suppress(OSError):  # not allowed on some systems; the priority is only a courtesy
        os.nice(PDF_NICE)
    _worker["result"] = pickle.loads(Path(result_file).read_bytes())
    _worker["geometri"] = geometri
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="pdf-vakt", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """In the worker: stop when the server is gone (killed without closing the pool), rather
    than live on as an orphan holding its memory."""
    import time

    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _render_in_worker(kind: str, code: str | None) -> bytes:
    from utanforskap.reports import render

    return render(kind, code, fmt="pdf", result=_worker["result"], geometri=_worker["geometri"])


class PdfPool:
    """PDF reports rendered in PDF_WORKERS processes of their own (spawned, not forked: the
    server has threads), started on the first report asked for and stopped at exit."""

    def __init__(self, result, geometri: str | None, workers: int = PDF_WORKERS) -> None:
        self._result = result
        self._geometri = str(geometri) if geometri else None
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._result_file: str | None = None

    def submit(self, kind: str, code: str | None) -> Future:
        with self._lock:
            for _ in range(2):
                if self._executor is None:
                    self._executor = self._start()
                try:
                    return self._executor.submit(_render_in_worker, kind, code)
                except BrokenProcessPool:  # the worker died (killed, out of memory): start anew
                    self._executor = None
            raise HTTPException(503, "Rapporterna kan inte göras just nu; försök igen om en stund.")

    def _start(self) -> ProcessPoolExecutor:
        # The map goes by a file: as an argument it would be written down a pipe that the new
        # process reads only after its imports, holding up the server's event loop meanwhile.
        if self._result_file is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="utanforskap-pdf-")
            path = Path(self._tmp.name) / "karta.pickle"
            path.write_bytes(pickle.dumps(self._result))
            self._result_file = str(path)
            atexit.register(self.close)
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._result_file, self._geometri),
        )

    def close(self) -> None:
        """Drop the reports still waiting and stop the worker (at exit: no waiting for them)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()


def normal_area_code(code: str) -> str:
    """A RegSO code as written in the data: upper case (0180r036 is 0180R036)."""
    return code.strip().upper()


def _attachment(body: bytes, filename: str, kind: str) -> Response:
    return Response(body, media_type=MEDIA[kind], headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class Downloads:
    def __init__(self, data: AppData, regso: KommunPolygons) -> None:
        self.data = data
        self.regso = regso
        self.prefix = "syntetiska_data_" if data.syntetisk else ""
        self.table = export.areas_table(data.result)
        self._cache = BoundedCache()
        self.pdf_pool = PdfPool(data.result, regso.geometri)
        self._pdf_inflight: dict[tuple, Future] = {}
        self._pdf_lock = threading.RLock()
        self.pdf_renders = 0  # how many reports were sent to be rendered (statistics; the tests read it)

    # ---- links shown on pages --------------------------------------------------------------
    def national(self) -> list[dict]:
        links = []
        for name, (key, title, desc) in NATIONAL.items():
            path = self.data.files.get(key)
            size = path.stat().st_size if path and path.exists() else None
            links.append(self._link(f"/ladda-ner/{name}", title, desc, name.rsplit(".", 1)[1], size))
        # No size: the layer is made on first request.
        links.append(self._link("/ladda-ner/regso.gpkg", "RegSO-områden (GeoPackage)", "Områdesgränser med värden och klass för de kommuner som en egen geometrifil eller geometrin som följer med programmet (Uppsala län) täcker, för GIS.", "gpkg"))  # noqa: E501 (Swedish text for users)
        links.append(self._link("/ladda-ner/rapport/riket.pdf", "Rapport för riket (PDF)", "Lägesbilden för hela landet.", "pdf"))
        return links

    def kommun(self, kod: str) -> list[dict]:
        links = [
            self._link(f"/ladda-ner/kommun/{kod}/omraden.csv", "Kommunens områden (CSV)", "Alla RegSO i kommunen med värden, flaggor och klass; semikolon och decimalkomma för Excel med svenska inställningar.", "csv"),  # noqa: E501 (Swedish text for users)
            self._link(f"/ladda-ner/kommun/{kod}/omraden.xlsx", "Kommunens områden (Excel)", "Samma tabell som Excel-fil, med ett blad som beskriver varje kolumn.", "xlsx"),
            self._link(f"/ladda-ner/kommun/{kod}/omraden_maskinlasbar.csv", "Kommunens områden (maskinläsbar CSV)", "Samma tabell för program: komma mellan fälten, decimalpunkt.", "csv"),  # noqa: E501 (Swedish text for users)
            self._link(f"/ladda-ner/rapport/kommun/{kod}.pdf", "Rapport för kommunen (PDF)", "Lägesbilden för kommunen.", "pdf"),
            self._link("/ladda-ner/kommuner.gpkg", "Alla kommuner (GeoPackage)", "Kommunlagret för hela landet.", "gpkg"),
        ]
        if self.regso(kod):
            links.insert(2, self._link(f"/ladda-ner/kommun/{kod}/regso.gpkg", "Kommunens områden (GeoPackage)", "Områdesgränser med värden och klass, för GIS.", "gpkg"))
        return links

    def omrade(self, kod: str) -> list[dict]:
        return [self._link(f"/ladda-ner/rapport/omrade/{kod}.pdf", "Rapport för området (PDF)", "Områdets värden, flaggor och jämförelse med kommunen och riket.", "pdf")]

    def _link(self, href: str, title: str, desc: str, fmt: str, size: int | None = None) -> dict:
        return {"href": href, "titel": title, "beskrivning": desc, "format": fmt.upper(), "storlek": size, "filnamn": self.prefix + href.rsplit("/", 1)[1]}

    # ---- files -----------------------------------------------------------------------------
    def _cached(self, key: tuple, make) -> bytes:
        body = self._cache.get(key)
        if body is None:
            body = make()
            self._cache.put(key, body)
        return body

    def kommun_table(self, kod: str) -> pl.DataFrame:
        order = {c: i for i, c in enumerate(self.data.kommun_areas.get(kod, []))}
        return self.table.filter(pl.col("kommun_kod") == kod).sort(pl.col("regso_kod").replace_strict(order, default=len(order)))

    def regso_kommuner(self) -> list[str]:
        """The kommuner the national RegSO layer holds: those a local geometry covers (the
        user's file, the bundled Uppsala län), found without asking SCB's WFS for all 290."""
        from utanforskap.geography import polygons as geometry

        return [k for k in geometry.local_kommuner(self.regso.geometri) if k in self.data.kommuner and self.regso(k)]

    def regso_gpkg(self, kommuner: list[str]) -> bytes:
        import pandas as pd

        from utanforskap.geography import shapes

        frames = [self.regso.frame(k).to_crs(shapes.SWEREF99TM)[["regso_kod", "geometry"]] for k in kommuner]
        g = pd.concat(frames, ignore_index=True)
        g = g.merge(self.table.to_pandas(), on="regso_kod", how="left")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "regso.gpkg"
            g.to_file(path, layer="regso", driver="GPKG")
            return path.read_bytes()

    def pdf_future(self, kind: str, code: str | None) -> Future:
        """The report's PDF bytes: at once from the cache, else the one rendering of it that
        is under way or queued in the PDF pool (started now if there is none)."""
        key = ("pdf", kind, code)
        with self._pdf_lock:
            body = self._cache.get(key)
            if body is not None:
                done: Future = Future()
                done.set_result(body)
                return done
            future = self._pdf_inflight.get(key)
            if future is None:
                if len(self._pdf_inflight) >= MAX_PDF_QUEUE:
                    raise HTTPException(503, "Många rapporter görs just nu; försök igen om en minut.", headers={"Retry-After": "60"})
                future = self.pdf_pool.submit(kind, code)
                self.pdf_renders += 1
                self._pdf_inflight[key] = future
            else:
                return future
        future.add_done_callback(lambda f: self._pdf_done(key, f))
        return future

    def _pdf_done(self, key: tuple, future: Future) -> None:
        with self._pdf_lock:
            if not future.cancelled() and future.exception() is None:
                self._cache.put(key, future.result())
            self._pdf_inflight.pop(key, None)

    def pending_pdfs(self) -> int:
        """Reports asked for and not yet made."""
        with self._pdf_lock:
            return len(self._pdf_inflight)

    async def pdf_async(self, kind: str, code: str | None) -> bytes:
        future = self.pdf_future(kind, code)
        try:
            # shield: a request that goes away must not cancel the rendering others wait for
            return await asyncio.shield(asyncio.wrap_future(future))
        except InputError as exc:
            raise HTTPException(404, str(exc)) from exc
        except BrokenProcessPool:
            raise HTTPException(503, "Rapporten avbröts innan den blev klar; försök igen.") from None
        except (asyncio.CancelledError, CancelledError):
            # Dropped by PdfPool.close, or the server is stopping: a short answer, not a trace.
            raise HTTPException(503, "Rapporten avbröts innan den blev klar; försök igen.") from None

    def pdf(self, kind: str, code: str | None) -> bytes:
        """pdf_async for callers outside the event loop."""
        try:
            return self.pdf_future(kind, code).result()
        except InputError as exc:
            raise HTTPException(404, str(exc)) from exc

    # ---- routes ----------------------------------------------------------------------------
    def router(self) -> APIRouter:
        r = APIRouter(prefix="/ladda-ner", include_in_schema=False)
        data = self.data

        def need_kommun(kod: str) -> None:
            if kod not in data.kommuner:
                raise HTTPException(404, f"Det finns ingen kommun med koden {kod}. En kommunkod är fyra siffror, t.ex. 0180.")

        # async: they only await the PDF pool, holding no thread of the page pool.
        @r.get("/rapport/riket.pdf")
        async def rapport_riket() -> Response:
            return _attachment(await self.pdf_async("riket", None), f"{self.prefix}rapport_riket.pdf", "pdf")

        @r.get("/rapport/lan/{kod}.pdf")
        async def rapport_lan(kod: str) -> Response:
            if kod not in data.lan:
                raise HTTPException(404, f"Det finns inget län med koden {kod}. En länskod är två siffror, t.ex. 01.")
            return _attachment(await self.pdf_async("lan", kod), f"{self.prefix}rapport_lan_{kod}.pdf", "pdf")

        @r.get("/rapport/kommun/{kod}.pdf")
        async def rapport_kommun(kod: str) -> Response:
            need_kommun(kod)
            return _attachment(await self.pdf_async("kommun", kod), f"{self.prefix}rapport_{kod}.pdf", "pdf")

        @r.get("/rapport/omrade/{kod}.pdf")
        async def rapport_omrade(kod: str) -> Response:
            kod = normal_area_code(kod)  # 0180r036 as 0180R036, like the page and the API
            if kod not in data.areas:
                raise HTTPException(404, f"Det finns inget område med koden {kod}. En RegSO-kod ser ut som 0180R024.")
            return _attachment(await self.pdf_async("omrade", kod), f"{self.prefix}rapport_{kod}.pdf", "pdf")

        @r.get("/kommun/{kod}/omraden.csv")
        def kommun_csv(kod: str) -> Response:
            need_kommun(kod)
            body = self._cached(("csv", kod), lambda: export.swedish_csv(self.kommun_table(kod)))
            return _attachment(body, f"{self.prefix}omraden_{kod}.csv", "csv")

        @r.get("/kommun/{kod}/omraden_maskinlasbar.csv")
        def kommun_machine_csv(kod: str) -> Response:
            need_kommun(kod)
            body = self._cached(("csv-maskin", kod), lambda: export.machine_csv(self.kommun_table(kod)))
            return _attachment(body, f"{self.prefix}omraden_{kod}_maskinlasbar.csv", "csv")

        @r.get("/kommun/{kod}/omraden.xlsx")
        def kommun_xlsx(kod: str) -> Response:
            need_kommun(kod)

            def make() -> bytes:
                return export.table_xlsx(data.result, self.kommun_table(kod), data.kommuner[kod]["kommun_namn"])

            return _attachment(self._cached(("xlsx", kod), make), f"{self.prefix}omraden_{kod}.xlsx", "xlsx")

        @r.get("/kommun/{kod}/regso.gpkg")
        def kommun_gpkg(kod: str) -> Response:
            need_kommun(kod)
            if not self.regso(kod):
                raise HTTPException(404, f"RegSO-gränser saknas för {data.kommuner[kod]['kommun_namn']}; kommunlagret finns under /ladda-ner/kommuner.gpkg.")
            return _attachment(self._cached(("gpkg", kod), lambda: self.regso_gpkg([kod])), f"{self.prefix}regso_{kod}.gpkg", "gpkg")

        @r.get("/regso.gpkg")
        def all_regso_gpkg() -> Response:
            kommuner = self.regso_kommuner()
            if not kommuner:
                raise HTTPException(404, "RegSO-gränser finns inte för någon kommun i denna körning.")
            return _attachment(self._cached(("gpkg", "alla"), lambda: self.regso_gpkg(kommuner)), f"{self.prefix}regso.gpkg", "gpkg")

        @r.get("/{name}")
        def national(name: str) -> Response:
            if name not in NATIONAL:
                raise HTTPException(404, f"Filen {name} finns inte; se sidan Ladda ner för de filer som finns.")
            path = data.files[NATIONAL[name][0]]
            return _attachment(path.read_bytes(), self.prefix + name, name.rsplit(".", 1)[1])

        return r
