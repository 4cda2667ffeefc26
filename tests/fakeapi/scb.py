"""The SCB side of the fake API: PxWebApi 2.0 endpoints over in-memory cubes.

TAB6471 is SCB's own recorded JSON-stat answer (21 län x 11 ages x 3 sexes x 4 months),
served whole or sliced; TAB0001 is a synthetic area table (kommun, DeSO, RegSO of kommun
0114 and 0115 in the 2018/2020 and 2025 vintages) with SCB's region codelists and some
'..' cells. Selection expressions are resolved here independently of the client.
"""

from __future__ import annotations

import copy
import csv
import fnmatch
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import Fault, Reply, json_reply, problem

HOST = "https://statistikdatabasen.scb.se/api/v2"


@dataclass
class Cube:
    header: dict  # JSON-stat fields other than id/size/dimension/value/status
    ids: list[str]
    codes: dict[str, list[str]]
    dims: dict[str, dict]  # JSON-stat dimension objects (category index rebuilt on output)
    values: np.ndarray  # float, NaN where no value, in the cube's shape
    symbols: dict[int, str]  # flat cell index -> status symbol


class FakeScb:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.config = json.loads((data_dir / "config.json").read_text(encoding="utf-8"))
        self.config.update(maxCallsPerTimeWindow=100, timeWindow=1)  # fast unless a test says otherwise
        self.tables_doc = json.loads((data_dir / "tables.json").read_text(encoding="utf-8"))
        self.search_doc = json.loads((data_dir / "search.json").read_text(encoding="utf-8"))
        self.cubes: dict[str, Cube] = {"TAB6471": _from_jsonstat(data_dir / "TAB6471_data.json")}
        self.codelists: dict[str, dict] = {}
        agg = json.loads((data_dir / "codelist_agg_Alder10arJ.json").read_text(encoding="utf-8"))
        self.codelists[agg["id"]] = agg
        cube, lists = _area_table(data_dir / "omraden_0114_0115.csv")
        self.cubes["TAB0001"] = cube
        self.codelists.update(lists)
        self.codelists.update(_vintage_aggregations(data_dir / "omraden_0114_0115.csv", agg))
        from .integration import cubes as integration_cubes  # SCB's integration tables (AA0003), made-up values

        self.cubes.update(integration_cubes(self.codelists))
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()
        self.rate_limited = 0
        # The server's window is this share of timeWindow: a little lenient by default (arrival
        # times here lag the client's send times); 1.0 or more for a strict (or coarse) server.
        self.rate_window_factor = 0.8

    # ---- dispatch ------------------------------------------------------------------
    def handle(self, method: str, path: str, query: list, payload: object, fault: Fault | None) -> Reply:
        if self._over_limit():
            self.rate_limited += 1
            reply = problem(429, "Too many requests")
            reply.headers["Retry-After"] = str(self.config["timeWindow"])
            return reply
        q = {k.lower(): v for k, v in query}
        if path == "config":
            return json_reply(self.config)
        if path.rstrip("/") == "tables":
            return self._tables(q)
        m = re.fullmatch(r"tables/([^/]+)/metadata", path)
        if m:
            cube = self.cubes.get(m.group(1))
            return json_reply(_metadata(cube)) if cube else problem(404, "Non-existent table")
        m = re.fullmatch(r"codelists/([^/]+)", path)
        if m:
            doc = self.codelists.get(m.group(1))
            return json_reply(doc) if doc else problem(404, "Non-existent codelist")
        m = re.fullmatch(r"tables/([^/]+)/data", path)
        if m:
            return self._data(m.group(1), method, query, payload, fault)
        return problem(404, "Not found")

    def _over_limit(self) -> bool:
        # A little lenient (0.8 of the window): arrival times here lag send times at the client.
        limit, window = int(self.config["maxCallsPerTimeWindow"]), float(self.config["timeWindow"]) * self.rate_window_factor
        with self._lock:
            now = time.monotonic()
            while self._calls and now - self._calls[0] >= window:
                self._calls.popleft()
            if limit > 0 and len(self._calls) >= limit:
                return True
            self._calls.append(now)
            return False

    def _tables(self, q: dict) -> Reply:
        source = self.search_doc if q.get("query") else self.tables_doc
        tables = source["tables"]
        size = int(q.get("pagesize", 20))
        number = int(q.get("pagenumber", 1))
        pages = max(1, math.ceil(len(tables) / size))
        if number > pages:
            return problem(404, "Non-existent page", "Non-existent page")
        doc = {
            "language": "sv",
            "tables": tables[(number - 1) * size : number * size],
            "page": {"pageNumber": number, "pageSize": size, "totalElements": len(tables), "totalPages": pages,
                     "links": [{"rel": "next", "hreflang": "sv",
                                "href": f"{HOST}/tables/?lang=sv&pagesize={size}&pageNumber={number + 1}"}]
                     if number < pages else []},
            "links": [{"rel": "self", "hreflang": "sv", "href": f"{HOST}/tables/?lang=sv&pageNumber={number}"}],
        }
        return json_reply(doc)

    # ---- data ----------------------------------------------------------------------
    def _data(self, table: str, method: str, query: list, payload: object, fault: Fault | None) -> Reply:
        cube = self.cubes.get(table)
        if cube is None:
            return problem(404, "Non-existent table")
        selection: dict[str, list[str]] = {}
        codelists: dict[str, str] = {}
        fmt, stub = "json-stat2", None
        if method == "GET":
            for key, value in query:
                low = key.lower()
                if low.startswith("valuecodes["):
                    selection[key[key.index("[") + 1 : -1]] = _split(value)
                elif low.startswith("codelist["):
                    codelists[key[key.index("[") + 1 : -1]] = value
                elif low == "outputformat":
                    fmt = value
                elif low == "stub":
                    stub = [s for s in value.split(",") if s]
        else:
            fmt = next((v for k, v in query if k.lower() == "outputformat"), fmt)
            if not isinstance(payload, dict) or not isinstance(payload.get("selection"), list):
                return problem(400, "Missing selection for mandantory variable")
            for item in payload["selection"]:
                selection[item["variableCode"]] = list(item["valueCodes"])
                if item.get("codelist"):
                    codelists[item["variableCode"]] = item["codelist"]
            stub = (payload.get("placement") or {}).get("stub")
        by_lower = {i.lower(): i for i in cube.ids}
        picked: dict[str, list[str]] = {}
        for var, values in selection.items():
            real = by_lower.get(var.lower())
            if real is None:
                return problem(400, "Non-existent variable")
            domain = cube.codes[real]
            cl = codelists.get(var)
            if cl:
                listed = [c["id"] for c in cube.dims[real].get("extension", {}).get("codelists", [])]
                if cl not in listed or cl not in self.codelists:
                    return problem(400, "Non-existent codelist")
                domain = [v["code"] for v in self.codelists[cl]["values"]]
            chosen = _pick(domain, values, real in cube.header.get("role", {}).get("time", []))
            if chosen is None:
                return problem(400, "Non-existent value")
            picked[real] = chosen
        for dim in cube.ids:
            if dim not in picked:
                ext = cube.dims[dim].get("extension", {})
                if not ext.get("elimination") or not ext.get("eliminationValueCode"):
                    return problem(400, "Missing selection for mandantory variable")
        cells = math.prod(len(v) for v in picked.values())
        if cells > int(self.config["maxDataCells"]):
            return problem(400, "Too many cells selected", "Too many cells selected")
        positions = []
        for dim in cube.ids:
            codes = picked.get(dim) or [cube.dims[dim]["extension"]["eliminationValueCode"]]
            positions.append([cube.codes[dim].index(c) for c in codes])
        flat = np.arange(cube.values.size).reshape(cube.values.shape)[np.ix_(*positions)].ravel()
        values = cube.values.ravel()[flat]
        symbols = [cube.symbols.get(int(i)) for i in flat]
        kept = [d for d in cube.ids if d in picked]
        if fmt == "csv":
            return _csv(kept, picked, values, symbols, stub)
        doc = _dataset(cube, kept, picked, values, symbols)
        if fault is not None and fault.kind == "drop_values":
            doc["value"] = doc["value"][: -fault.count]
        if fault is not None and fault.kind == "rename_code" and fault.name in doc["dimension"]:
            cat = doc["dimension"][fault.name]["category"]
            for key in ("index", "label"):
                cat[key] = {(fault.new if c == fault.old else c): v for c, v in cat[key].items()}
        if fault is not None and fault.kind == "drop_dimension" and fault.name in doc["id"]:
            i = doc["id"].index(fault.name)
            shape = doc["size"]
            keep = np.zeros(shape, dtype=bool)
            keep[(slice(None),) * i + (0,)] = True
            doc["value"] = [v for v, k in zip(doc["value"], keep.ravel(), strict=False) if k]
            doc.pop("status", None)
            del doc["id"][i], doc["size"][i]
            del doc["dimension"][fault.name]
        return json_reply(doc)


# ---- cubes -------------------------------------------------------------------------
def _from_jsonstat(path: Path) -> Cube:
    doc = json.loads(path.read_text(encoding="utf-8"))
    codes = {}
    for dim in doc["id"]:
        index = doc["dimension"][dim]["category"]["index"]
        codes[dim] = sorted(index, key=index.get) if isinstance(index, dict) else list(index)
    values = np.array([np.nan if v is None else v for v in doc["value"]], dtype=float).reshape(doc["size"])
    symbols = {int(k): v for k, v in (doc.get("status") or {}).items()}
    header = {k: v for k, v in doc.items() if k not in ("id", "size", "dimension", "value", "status")}
    return Cube(header, list(doc["id"]), codes, copy.deepcopy(doc["dimension"]), values, symbols)


# The 2025 vintage of the test areas (MADE UP for the tests, not SCB's): 0114C1010 divided into
# 0114C1011 and 0114C1012 inside RegSO 0114R001; 0115A0010 and 0115A0020 merged into a new
# 0115A0050 in 0115R004; 0115C1080 moved from 0115R006 to 0115R007.
VINTAGE_2025 = {"split": ("0114C1010", ("0114C1011", "0114C1012")), "merge": (("0115A0010", "0115A0020"), "0115A0050"),
                "move": ("0115C1080", "0115R007")}


def _vintage_aggregations(path: Path, like: dict) -> dict[str, dict]:
    """agg_RegSO2020 and agg_RegSO2025 in the format of SCB's aggregation codelists (the
    recorded agg_Ålder10årJ response): each RegSO with its DeSO in valueMap."""
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    old: dict[str, list[str]] = {}
    names = {}
    for r in rows:
        old.setdefault(r["RegSOkod_2020"], []).append(r["DeSO_2018"])
        names[r["RegSOkod_2020"]] = r["RegSO_2020"]
    new = {k: list(v) for k, v in old.items()}
    split_from, parts = VINTAGE_2025["split"]
    merged, into = VINTAGE_2025["merge"]
    moved, to = VINTAGE_2025["move"]
    for k, v in new.items():
        if split_from in v:
            v[v.index(split_from):v.index(split_from) + 1] = list(parts)
        if merged[0] in v:
            new[k] = [d for d in v if d not in merged] + [into]
        if moved in v:
            v.remove(moved)
    new[to].append(moved)

    def doc(cid: str, label: str, groups: dict[str, list[str]], suffix: str) -> dict:
        base = {k: v for k, v in like.items() if k not in ("id", "label", "values", "links")}
        return {
            "id": cid, "label": label, **base,
            "values": [{"code": f"{r}{'_RegSO2025' if suffix else ''}", "label": names[r], "valueMap": [f"{d}{suffix}" for d in ds]}
                       for r, ds in groups.items()],
            "links": [{"rel": "self", "hreflang": "sv", "href": f"https://statistikdatabasen.scb.se/api/v2/codeLists/{cid}?lang=sv"}],
        }

    return {"agg_RegSO2020": doc("agg_RegSO2020", "RegSO 2020", old, ""),
            "agg_RegSO2025": doc("agg_RegSO2025", "RegSO 2025", new, "_DeSO2025")}


def _area_table(path: Path) -> tuple[Cube, dict[str, dict]]:
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    kommuner = dict.fromkeys(r["Kommun"] for r in rows)
    names = {r["Kommun"]: r["Kommunnamn"] for r in rows}
    deso = [r["DeSO_2018"] for r in rows]
    regso = {r["RegSOkod_2020"]: r["RegSO_2020"] for r in rows}
    lists = {
        "vs_RegionKommun07": [(k, names[k]) for k in kommuner],
        "vs_DeSO2018": [(d, d) for d in deso],
        "vs_RegSO2020": list(regso.items()),
        "vs_DeSO2025": [(f"{d}_DeSO2025", d) for d in deso],
        "vs_RegSO2025": [(f"{r}_RegSO2025", n) for r, n in regso.items()],
    }
    region = [c for values in lists.values() for c, _ in values]
    labels = {c: n for values in lists.values() for c, n in values}
    codes = {
        "Region": region,
        "Kon": ["1", "2", "1+2"],
        "ContentsCode": ["000001AA", "000001AB"],
        "Tid": [str(y) for y in range(2019, 2025)],
    }
    dims = {
        "Region": {"label": "region", "category": {"label": labels}, "extension": {
            "elimination": False, "show": "code_value",
            "codelists": [{"id": i, "label": i, "type": "Valueset", "links": []} for i in lists]}},
        "Kon": {"label": "kön", "category": {"label": {"1": "män", "2": "kvinnor", "1+2": "totalt"}},
                "extension": {"elimination": True, "eliminationValueCode": "1+2", "show": "value", "codelists": []}},
        "ContentsCode": {"label": "tabellinnehåll", "category": {
            "label": {"000001AA": "Folkmängd", "000001AB": "Förvärvsarbetande 20-64 år"},
            "unit": {"000001AA": {"base": "antal", "decimals": 0}, "000001AB": {"base": "antal", "decimals": 0}}},
            "extension": {"elimination": False, "codelists": []}},
        "Tid": {"label": "år", "category": {"label": {t: t for t in codes["Tid"]}},
                "extension": {"elimination": False, "show": "code", "codelists": []}},
    }
    shape = [len(codes[d]) for d in codes]
    cell = np.arange(math.prod(shape))
    values = (100 + (cell * 37) % 900).astype(float)
    symbols = {int(i): ".." for i in cell if i % 17 == 5}
    values[[i for i in symbols]] = np.nan
    header = {"version": "2.0", "class": "dataset", "label": "Syntetisk testtabell per region, kön och år",
              "source": "SCB (syntetisk)", "updated": "2026-06-01T06:00:00Z",
              "role": {"time": ["Tid"], "metric": ["ContentsCode"], "geo": ["Region"]},
              "extension": {"px": {"tableid": "TAB0001", "decimals": 0}}}
    cube = Cube(header, list(codes), codes, dims, values.reshape(shape), symbols)
    codelists = {
        i: {"id": i, "label": i, "language": "sv", "type": "Valueset",
            "values": [{"code": c, "label": n} for c, n in values_], "links": []}
        for i, values_ in lists.items()
    }
    return cube, codelists


def _metadata(cube: Cube) -> dict:
    doc = {**cube.header, "id": list(cube.ids), "size": [len(cube.codes[d]) for d in cube.ids], "dimension": {}}
    for dim in cube.ids:
        obj = copy.deepcopy(cube.dims[dim])
        obj["category"]["index"] = {c: i for i, c in enumerate(cube.codes[dim])}
        obj["category"]["label"] = {c: obj["category"].get("label", {}).get(c, c) for c in cube.codes[dim]}
        doc["dimension"][dim] = obj
    doc["value"] = []
    return doc


def _dataset(cube: Cube, kept: list[str], picked: dict[str, list[str]], values, symbols) -> dict:
    doc = {**cube.header, "id": kept, "size": [len(picked[d]) for d in kept], "dimension": {}}
    for dim in kept:
        obj = copy.deepcopy(cube.dims[dim])
        cat = obj["category"]
        cat["index"] = {c: i for i, c in enumerate(picked[dim])}
        cat["label"] = {c: cat.get("label", {}).get(c, c) for c in picked[dim]}
        if "unit" in cat:
            cat["unit"] = {c: u for c, u in cat["unit"].items() if c in picked[dim]}
        obj.get("extension", {}).pop("codelists", None)
        doc["dimension"][dim] = obj
    doc["value"] = [None if math.isnan(v) else (int(v) if float(v).is_integer() else float(v)) for v in values]
    status = {str(i): s for i, s in enumerate(symbols) if s is not None}
    if status:
        doc["status"] = status
    return doc


def _csv(kept: list[str], picked: dict[str, list[str]], values, symbols, stub) -> Reply:
    order = list(stub) if stub else kept
    grids = np.meshgrid(*[np.arange(len(picked[d])) for d in kept], indexing="ij")
    index = [g.ravel() for g in grids]
    lines = [";".join(f'"{d}"' for d in order) + ';"värde"']
    for n in range(len(values)):
        cells = {d: picked[d][index[i][n]] for i, d in enumerate(kept)}
        value = symbols[n] if symbols[n] is not None else (
            str(int(values[n])) if float(values[n]).is_integer() else str(values[n]))
        lines.append(";".join(f'"{cells[d]}"' for d in order) + f";{value}")
    return Reply(200, ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"), "text/csv; charset=utf-8")


def _pick(domain: list[str], values: list[str], is_time: bool) -> list[str] | None:
    """PxWebApi's selection, done our own way: None when a plain code is unknown."""
    chosen: set[str] = set()
    lower = [c.lower() for c in domain]
    for raw in values:
        v = raw.strip()
        m = re.fullmatch(r"(?i)(top|bottom|from|to|range)\((.*)\)", v)
        if m:
            fn, args = m.group(1).lower(), [a.strip() for a in m.group(2).split(",")]
            if fn in ("top", "bottom"):
                n, off = int(args[0]), int(args[1]) if len(args) > 1 else 0
                latest_first = list(reversed(domain))
                seq = (latest_first if is_time else domain) if fn == "top" else (domain if is_time else latest_first)
                chosen.update(seq[off : off + n])
                continue
            idx = [lower.index(a.lower()) if a.lower() in lower else None for a in args]
            if None in idx:
                return None
            if fn == "from":
                chosen.update(domain[idx[0] :])
            elif fn == "to":
                chosen.update(domain[: idx[0] + 1])
            else:
                lo, hi = sorted(idx)
                chosen.update(domain[lo : hi + 1])
        elif "*" in v or "?" in v:
            chosen.update(c for c in domain if fnmatch.fnmatchcase(c.lower(), v.lower()))
        elif v.lower() in lower:
            chosen.add(domain[lower.index(v.lower())])
        else:
            return None
    return [c for c in domain if c in chosen] or None


def _split(text: str) -> list[str]:
    """A GET value list: commas separate, except inside [brackets] and (parentheses)."""
    out, buf, depth = [], "", 0
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(buf)
            buf = ""
        else:
            buf += ch
    out.append(buf)
    return [s[1:-1] if s.startswith("[") and s.endswith("]") else s for s in out]
