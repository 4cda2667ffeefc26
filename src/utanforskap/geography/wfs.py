"""Fetch SCB's area boundaries (WFS) once into a folder, with provenance: `hamta --geometri`.

SCB's geodata server is a GeoServer (`https://geodata.scb.se/geoserver/stat/wfs`). This
module asks it as a WFS 2.0.0 client: GetCapabilities (is the layer there?), then GetFeature
per layer in pages (`count`, `startIndex`) with `outputFormat=application/json` and
`srsName=EPSG:3006`. GeoServer's GeoJSON carries `numberMatched` and `numberReturned`; a
layer counts as fetched only when every one of its `numberMatched` features arrived.

Field names differ between SCB's layers and vintages (`regsokod`, `desokod`, `deso` …), so
the code column is found by its values (geography.polygons._code_column), never by name.

The folder (`<lager>/geometri/`) is written whole or not at all (atomic.atomic_dir): one
GeoParquet file per layer in EPSG:3006 and `manifest.json` naming, per layer, the address,
the time, the number of features, the code column and the file's sha256. A failed fetch
raises SourceError and leaves the folder as it was. geography.polygons reads it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx

from utanforskap import atomic
from utanforskap.errors import InputError, SourceError
from utanforskap.geography.polygons import find_code_column
from utanforskap.geography.shapes import SWEREF99TM

# Layers `hamta --geometri` fetches: the vintages the map's codes use (RegSO 2020, DeSO 2018).
DEFAULT_LAYERS = ("stat:RegSO_2020", "stat:DeSO_2018")
KNOWN_LAYERS = ("stat:RegSO_2020", "stat:DeSO_2018", "stat:RegSO_2025", "stat:DeSO_2025")
PAGE_SIZE = 1000
MANIFEST = "manifest.json"
LICENCE = "CC0 1.0 (SCB)"

Progress = Callable[[str, int, int], None]  # layer, features so far, numberMatched (0: unknown)


@dataclass(frozen=True)
class FetchedLayer:
    layer: str  # e.g. "stat:RegSO_2020"
    level: str  # "regso" | "deso"
    count: int
    file: str  # file name inside the folder
    code_column: str


def layer_file(layer: str) -> str:
    return layer.split(":")[-1] + ".parquet"


def fetch_layers(
    folder: str | Path,
    url: str,
    layers: Sequence[str] = DEFAULT_LAYERS,
    *,
    timeout: float = 60.0,
    page_size: int = PAGE_SIZE,
    progress: Progress | None = None,
) -> list[FetchedLayer]:
    """Fetch `layers` from the WFS at `url` into `folder` (atomic; SourceError leaves it as it was)."""
    if not url:
        raise InputError("UTANFORSKAP_GEOMETRI_WFS är tom; ange adressen till SCB:s WFS (https://geodata.scb.se/geoserver/stat/wfs)")
    unknown = [name for name in layers if name not in KNOWN_LAYERS]
    if unknown:
        raise InputError(f"okänt WFS-lager {unknown[0]}; välj bland {', '.join(KNOWN_LAYERS)}")
    folder = Path(folder)
    with httpx.Client(timeout=timeout, headers={"User-Agent": "utanforskap (hamta --geometri)"}) as client:
        offered = capabilities(client, url)
        missing = [name for name in layers if name not in offered]
        if missing:
            raise SourceError(f"{url}: WFS-tjänsten har inget lager {missing[0]} (GetCapabilities listar {len(offered)} lager)")
        frames = {name: get_features(client, url, name, page_size=page_size, progress=progress) for name in layers}
    old = read_manifest(folder)
    fetched: list[FetchedLayer] = []
    with atomic.atomic_dir(folder) as staging:
        entries = dict(old.get("lager", {}))
        for name, (frame, matched) in frames.items():
            try:
                level, column = find_code_column(frame, f"{url} ({name})")
            except InputError as exc:
                raise SourceError(str(exc)) from exc
            # Paging without a stable order can repeat one area and skip another.
            repeated = frame[column][frame[column].duplicated()]
            if len(repeated):
                raise SourceError(f"{url} ({name}): området {repeated.iloc[0]} kom {int((frame[column] == repeated.iloc[0]).sum())} gånger; sidorna överlappar, försök igen")
            file = layer_file(name)
            frame.to_parquet(staging / file)
            entries[name] = {
                "fil": file,
                "niva": level,
                "kodkolumn": column,
                "antal": matched,
                "kalla": url,
                "hamtad": datetime.now(UTC).isoformat(timespec="seconds"),
                "licens": LICENCE,
                "sha256": atomic.sha256_file(staging / file),
            }
            fetched.append(FetchedLayer(name, level, matched, file, column))
        (staging / MANIFEST).write_text(json.dumps({"lager": entries}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return fetched


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The folder's manifest ({"lager": {...}}), or {} when nothing was fetched there."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: kan inte läsa geometrins manifest ({exc}); kör utanforskap hamta --geometri igen") from exc
    return manifest


def capabilities(client: httpx.Client, url: str) -> list[str]:
    """The feature type names the WFS offers (GetCapabilities, WFS 2.0.0)."""
    r = _get(client, url, {"service": "WFS", "version": "2.0.0", "request": "GetCapabilities"})
    try:
        root = ET.fromstring(r.content)
    except ET.ParseError as exc:
        raise SourceError(f"{url}: GetCapabilities gav ingen XML ({exc})") from exc
    names = [
        child.text.strip()
        for el in root.iter()
        if _local(el.tag) == "FeatureType"
        for child in el
        if _local(child.tag) == "Name" and child.text
    ]
    if not names:
        raise SourceError(f"{url}: GetCapabilities listar inga lager (FeatureTypeList saknas)")
    return names


def get_features(
    client: httpx.Client, url: str, layer: str, *, page_size: int = PAGE_SIZE, progress: Progress | None = None
) -> tuple[gpd.GeoDataFrame, int]:
    """Every feature of `layer` (EPSG:3006), paged; SourceError unless all numberMatched arrived."""
    features: list[dict[str, Any]] = []
    matched: int | None = None
    start = 0
    while True:
        params = {
            "service": "WFS",
            "version": "2.0.0",
            "request": "GetFeature",
            "typeNames": layer,
            "outputFormat": "application/json",
            "srsName": SWEREF99TM,
            "count": str(page_size),
            "startIndex": str(start),
        }
        r = _get(client, url, params)
        try:
            page = r.json()
        except ValueError as exc:
            raise SourceError(f"{url} ({layer}, från {start}): svaret är inte GeoJSON ({_snippet(r.text)})") from exc
        if not isinstance(page, dict) or page.get("type") != "FeatureCollection" or not isinstance(page.get("features"), list):
            raise SourceError(f"{url} ({layer}, från {start}): svaret är ingen FeatureCollection ({_snippet(r.text)})")
        got = page["features"]
        total = page.get("numberMatched", page.get("totalFeatures"))
        if isinstance(total, int):
            matched = total
        features.extend(got)
        if progress is not None:
            progress(layer, len(features), matched or 0)
        start += len(got)
        if not got or len(got) < page_size or (matched is not None and len(features) >= matched):
            break
    if matched is None:
        raise SourceError(f"{url} ({layer}): svaret saknar numberMatched; kan inte avgöra om alla områden kom")
    if len(features) != matched:
        raise SourceError(f"{url} ({layer}): fick {len(features)} av {matched} områden; försök igen senare")
    if not features:
        raise SourceError(f"{url} ({layer}): lagret är tomt")
    if any(f.get("geometry") is None for f in features):
        raise SourceError(f"{url} ({layer}): {sum(f.get('geometry') is None for f in features)} områden saknar geometri")
    frame = gpd.GeoDataFrame.from_features(features, crs=SWEREF99TM)
    return frame, matched


def _get(client: httpx.Client, url: str, params: dict[str, str]) -> httpx.Response:
    what = params.get("typeNames") or params["request"]
    try:
        r = client.get(url, params=params)
    except httpx.HTTPError as exc:
        raise SourceError(f"{url}: SCB:s WFS svarade inte ({what}: {type(exc).__name__}); kontrollera nätet eller UTANFORSKAP_GEOMETRI_WFS") from exc
    if r.status_code != 200:
        raise SourceError(f"{url}: SCB:s WFS svarade HTTP {r.status_code} ({what}); försök igen senare")
    if "ExceptionReport" in r.text[:500]:
        raise SourceError(f"{url}: SCB:s WFS svarade med ett fel ({what}: {_snippet(r.text)})")
    return r


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _snippet(text: str) -> str:
    return " ".join(text.split())[:120]
