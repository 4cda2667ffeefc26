"""Downloads: the library's own exports (CSV, Excel, GeoPackage) and the PDF reports.

National files are written once at start-up by `results.export.write_all`; a kommun's
files are the same table filtered to the kommun, made on first request. PDF reports come
from `reports.render` (a second or two each). What was made is kept in memory up to
CACHE_BYTES, the least recently asked for dropped first.
"""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
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
    "omraden.csv": ("omraden", "Alla områden (CSV)", "Alla 3 363 RegSO med värden, flaggor och klass. Öppnas som kolumner i Excel med svenska inställningar (semikolon, decimalkomma)."),
    "listade_omraden.csv": ("listade_csv", "Listade områden (CSV)", "Bara de listade områdena, ordnade efter län och kommun."),
    "listade_omraden.xlsx": ("listade_xlsx", "Listade områden (Excel)", "Listade områden, per län, per kommun, faktorer, parametrar, om data och en beskrivning av varje kolumn, i var sitt blad."),
    "omraden_maskinlasbar.csv": ("omraden_maskin", "Alla områden (maskinläsbar CSV)", "Samma tabell för program: komma mellan fälten, decimalpunkt, utan BOM."),
    "listade_omraden_maskinlasbar.csv": ("listade_maskin", "Listade områden (maskinläsbar CSV)", "Samma tabell för program: komma mellan fälten, decimalpunkt, utan BOM."),
    "kommuner.gpkg": ("kommuner_gpkg", "Kommuner (GeoPackage)", "Kommungränser med antal listade områden och invånare i dem, för GIS (lager kommuner, SWEREF 99 TM)."),
    "kommuner.geojson": ("kommuner_geojson", "Kommuner (GeoJSON)", "Samma kommunlager i WGS 84."),
}


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


def _attachment(body: bytes, filename: str, kind: str) -> Response:
    return Response(body, media_type=MEDIA[kind], headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class Downloads:
    def __init__(self, data: AppData, regso: KommunPolygons) -> None:
        self.data = data
        self.regso = regso
        self.prefix = "syntetiska_data_" if data.syntetisk else ""
        self.table = export.areas_table(data.result)
        self._cache = BoundedCache()
        self._pdf_lock = threading.Lock()  # one WeasyPrint render at a time

    # ---- links shown on pages --------------------------------------------------------------
    def national(self) -> list[dict]:
        links = []
        for name, (key, title, desc) in NATIONAL.items():
            path = self.data.files.get(key)
            size = path.stat().st_size if path and path.exists() else None
            links.append(self._link(f"/ladda-ner/{name}", title, desc, name.rsplit(".", 1)[1], size))
        # No size: the layer is made on first request.
        links.append(self._link("/ladda-ner/regso.gpkg", "RegSO-områden (GeoPackage)", "Områdesgränser med värden och klass för de kommuner som en egen geometrifil eller geometrin som följer med programmet (Uppsala län) täcker, för GIS.", "gpkg"))
        links.append(self._link("/ladda-ner/rapport/riket.pdf", "Rapport för riket (PDF)", "Lägesbilden för hela landet.", "pdf"))
        return links

    def kommun(self, kod: str) -> list[dict]:
        links = [
            self._link(f"/ladda-ner/kommun/{kod}/omraden.csv", "Kommunens områden (CSV)", "Alla RegSO i kommunen med värden, flaggor och klass; semikolon och decimalkomma för Excel med svenska inställningar.", "csv"),
            self._link(f"/ladda-ner/kommun/{kod}/omraden.xlsx", "Kommunens områden (Excel)", "Samma tabell som Excel-fil, med ett blad som beskriver varje kolumn.", "xlsx"),
            self._link(f"/ladda-ner/kommun/{kod}/omraden_maskinlasbar.csv", "Kommunens områden (maskinläsbar CSV)", "Samma tabell för program: komma mellan fälten, decimalpunkt.", "csv"),
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

    def pdf(self, kind: str, code: str | None) -> bytes:
        from utanforskap.reports import render

        def make() -> bytes:
            with self._pdf_lock:
                return render(kind, code, fmt="pdf", result=self.data.result, geometri=self.regso.geometri)

        try:
            return self._cached(("pdf", kind, code), make)
        except InputError as exc:
            raise HTTPException(404, str(exc)) from exc

    # ---- routes ----------------------------------------------------------------------------
    def router(self) -> APIRouter:
        r = APIRouter(prefix="/ladda-ner", include_in_schema=False)
        data = self.data

        def need_kommun(kod: str) -> None:
            if kod not in data.kommuner:
                raise HTTPException(404, f"Det finns ingen kommun med koden {kod}. En kommunkod är fyra siffror, t.ex. 0180.")

        @r.get("/rapport/riket.pdf")
        def rapport_riket() -> Response:
            return _attachment(self.pdf("riket", None), f"{self.prefix}rapport_riket.pdf", "pdf")

        @r.get("/rapport/kommun/{kod}.pdf")
        def rapport_kommun(kod: str) -> Response:
            need_kommun(kod)
            return _attachment(self.pdf("kommun", kod), f"{self.prefix}rapport_{kod}.pdf", "pdf")

        @r.get("/rapport/omrade/{kod}.pdf")
        def rapport_omrade(kod: str) -> Response:
            if kod not in data.areas:
                raise HTTPException(404, f"Det finns inget område med koden {kod}. En RegSO-kod ser ut som 0180R024.")
            return _attachment(self.pdf("omrade", kod), f"{self.prefix}rapport_{kod}.pdf", "pdf")

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
