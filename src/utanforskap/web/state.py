"""What the web application holds in memory: one computed map, reshaped for pages and the API.

Everything is derived once at start-up from the library's results (`results.karta`,
`results.export`, the method's own metadata); requests only look things up. Nothing here
decides which areas are listed or how a value is computed: the library does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import unicodedata
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from utanforskap.errors import InputError, UtanforskapError
from utanforskap.methods import model as m
from utanforskap.methods.loader import BOOLEAN, NUMERIC
from utanforskap.results import export
from utanforskap.results.karta import AREA_COLUMNS, Factor, MapResult, Summary, classes, summarize
from utanforskap.results.levels import level_values

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Column:
    """One output column of the method as users see it."""

    id: str
    namn: str  # short label
    beskrivning: str
    typ: str  # andel | tal | flagga | text
    faktor: str | None = None
    faktor_status: str | None = None
    low_is_bad: bool = False  # colour scales run the other way


@dataclass(frozen=True)
class SearchHit:
    typ: str  # kommun | omrade
    kod: str
    namn: str
    sammanhang: str  # e.g. "Stockholms län" or "Botkyrka, Stockholms län"
    sida: str
    api: str


@dataclass
class AppData:
    result: MapResult
    summary: Summary
    version: str  # ETag value: changes whenever the data, method or parameters change
    columns: list[Column]
    klasser: list[str]  # highest first
    areas: dict[str, dict]  # regso_kod -> record (API shape)
    area_json: dict[str, bytes]
    kommuner: dict[str, dict]  # kommun_kod -> record (API shape, without its areas)
    lan: dict[str, dict]
    riket: dict
    kommun_areas: dict[str, list[str]]  # kommun_kod -> regso codes, sorted by name
    lan_areas: dict[str, list[str]]
    all_areas: list[str]
    kommun_values: dict[str, dict[str, float | None]]
    riket_values: dict[str, float | None]
    factors: list[Factor] = field(default_factory=list)  # the method's, or read off its flag steps
    factor_counts: list[dict] = field(default_factory=list)  # flagged areas, and among the listed
    files: dict[str, Path] = field(default_factory=dict)  # export.FILES keys -> written files
    _search: list[tuple[str, str, SearchHit]] = field(default_factory=list, repr=False)
    _remove_files: weakref.finalize | None = field(default=None, repr=False)

    def close(self) -> None:
        """Remove the downloads build() wrote into a temporary directory (also done when the
        data are collected or the process exits); a directory the caller gave is kept."""
        if self._remove_files is not None:
            self._remove_files()

    # ---- metadata --------------------------------------------------------------------------
    @property
    def syntetisk(self) -> bool:
        return self.result.source.synthetic

    def meta(self) -> dict:
        """Who computed what on which data: part of every API answer."""
        method = self.result.method
        return {
            "metod": {"id": method.id, "titel": method.method.titel, "version": method.method.version},
            "ar": self.result.year,
            "datakalla": self.result.source.description,
            "syntetiska_data": self.syntetisk,
        }

    def factor_value_columns(self) -> list[Column]:
        return [c for c in self.columns if c.typ in ("andel", "tal") and c.faktor]

    def column(self, col_id: str) -> Column | None:
        return next((c for c in self.columns if c.id == col_id), None)

    # ---- search ----------------------------------------------------------------------------
    def search(self, q: str, limit: int = 20) -> list[SearchHit]:
        """Kommuner and areas whose name or code matches `q`: exact, then prefix, then substring.

        Case is ignored; a query typed without å, ä, ö (Malmo) also finds Malmö.
        """
        exact_q, loose_q = _norm(q), _fold(q)
        if not loose_q:
            return []
        ranked = []
        for order, (exact, loose, hit) in enumerate(self._search):
            for rank, ok in enumerate((
                exact == exact_q or hit.kod.casefold() == exact_q,
                exact.startswith(exact_q) or hit.kod.casefold().startswith(exact_q),
                any(w.startswith(exact_q) for w in exact.replace("-", " ").split()),
                loose.startswith(loose_q),
                exact_q in exact,
                loose_q in loose,
            )):
                if ok:
                    ranked.append((rank, 0 if hit.typ == "kommun" else 1, exact, order, hit))
                    break
        ranked.sort(key=lambda r: r[:4])
        return [r[-1] for r in ranked[:limit]]


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", _norm(text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# ---- building ----------------------------------------------------------------------------------
def build(result: MapResult, files_dir: Path | None = None) -> AppData:
    """Reshape a computed map for the web: records, per-kommun indexes, search, files.

    The national downloads go to `files_dir`, or to a temporary directory that is removed
    by AppData.close(), when the data are collected, or when the process exits."""
    summary = summarize(result)
    factors = result.factors
    columns = describe_columns(result, factors)
    klasser = classes(result)
    kommun_values, riket_values = _aggregated_values(result, columns)
    om = result.areas

    areas: dict[str, dict] = {}
    area_json: dict[str, bytes] = {}
    kommun_areas: dict[str, list[str]] = {}
    lan_areas: dict[str, list[str]] = {}
    listed_order = {k: i for i, k in enumerate(klasser)}
    for row in om.sort("regso_namn").iter_rows(named=True):
        rec = area_record(row, columns)
        code = rec["regso_kod"]
        areas[code] = rec
        area_json[code] = json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode()
        kommun_areas.setdefault(rec["kommun_kod"], []).append(code)
        lan_areas.setdefault(rec["lan_kod"], []).append(code)
    # Listed areas first (highest class first), then by name: what a kommun page leads with.
    for codes in kommun_areas.values():
        codes.sort(key=lambda c: (listed_order.get(areas[c]["klass"], len(klasser)), areas[c]["regso_namn"]))

    kommuner = {}
    for row in summary.per_kommun.iter_rows(named=True):
        code = row["kommun_kod"]
        kommuner[code] = {
            "kommun_kod": code,
            "kommun_namn": row["kommun_namn"],
            "lan_kod": row["lan_kod"],
            "lan_namn": None,
            "befolkning": row["befolkning_totalt"],
            "antal_omraden": len(kommun_areas.get(code, [])),
            "listade_omraden": row["omraden"],
            "sarskilt_stor": row["sarskilt"],
            "befolkning_i_listade": row["befolkning"],
            "barn_i_listade": row["barn"],
            "andel_befolkning_i_listade": row["andel_befolkning"],
            "indikatorer": kommun_values.get(code, {}),
            "lankar": {"api": f"/api/v1/kommuner/{code}", "sida": f"/kommun/{code}", "omraden": f"/api/v1/omraden?kommun={code}"},
        }
    lan = {}
    for row in summary.per_lan.iter_rows(named=True):
        lan[row["lan_kod"]] = {
            "lan_kod": row["lan_kod"],
            "lan_namn": row["lan_namn"],
            "listade_omraden": row["omraden"],
            "sarskilt_stor": row["sarskilt"],
            "kommuner_med_listade": row["kommuner"],
            "befolkning_i_listade": row["befolkning"],
            "barn_i_listade": row["barn"],
            "befolkning": row["befolkning_totalt"],
        }
    for rec in kommuner.values():
        rec["lan_namn"] = lan[rec["lan_kod"]]["lan_namn"] if rec["lan_kod"] in lan else None
    r = summary.riket
    riket = {
        "listade_omraden": r["omraden"],
        "sarskilt_stor": r["sarskilt"],
        "kommuner_med_listade": r["kommuner"],
        "befolkning_i_listade": r["befolkning"],
        "barn_i_listade": r["barn"],
        "befolkning": r["befolkning_totalt"],
        "andel_befolkning_i_listade": r["andel_befolkning"],
        "antal_omraden": om.height,
        "indikatorer": riket_values,
    }

    data = AppData(
        result=result,
        summary=summary,
        version=data_version(result),
        columns=columns,
        klasser=klasser,
        areas=areas,
        area_json=area_json,
        kommuner=kommuner,
        lan=lan,
        riket=riket,
        kommun_areas=kommun_areas,
        lan_areas={k: sorted(v) for k, v in lan_areas.items()},
        all_areas=sorted(areas),
        kommun_values=kommun_values,
        riket_values=riket_values,
        factors=factors,
        factor_counts=_factor_counts(summary, factors),
    )
    data._search = _search_index(data)
    if files_dir is None:
        files_dir = Path(tempfile.mkdtemp(prefix="utanforskap-webb-"))
        data._remove_files = weakref.finalize(data, shutil.rmtree, files_dir, ignore_errors=True)
    data.files = _write_files(result, summary, Path(files_dir))
    return data


def data_version(result: MapResult) -> str:
    """A short hash of everything the answers depend on: data, method, year, parameters, rows."""
    h = hashlib.sha256()
    h.update(export.data_label(result).encode())
    h.update(json.dumps(result.parameters, sort_keys=True, default=str).encode())
    h.update(str(result.source.store.root).encode())
    h.update(result.areas.hash_rows().sum().to_bytes(8, "little", signed=False) if result.areas.height else b"")
    return h.hexdigest()[:16]


def area_record(row: dict, columns: list[Column]) -> dict:
    code = row["regso_kod"]
    rec = {k: row[k] for k in AREA_COLUMNS}
    rec["indikatorer"] = {c.id: _clean(row[c.id]) for c in columns if c.typ in ("andel", "tal")}
    rec["flaggor"] = {c.id: row[c.id] for c in columns if c.typ == "flagga"}
    for c in columns:
        if c.typ == "text" and c.id != "klass":
            rec.setdefault("text", {})[c.id] = row[c.id]
    rec["klass"] = row.get("klass")
    rec["listad"] = row.get("klass") is not None
    rec["lankar"] = {"api": f"/api/v1/omraden/{code}", "sida": f"/omrade/{code}", "kommun": f"/api/v1/kommuner/{row['kommun_kod']}"}
    return rec


def _clean(value):
    """JSON has no NaN: a missing or undefined value is null."""
    if isinstance(value, float) and value != value:
        return None
    return value


def describe_columns(result: MapResult, factors: list[Factor]) -> list[Column]:
    """Label, description and kind of each output column, read from the method's own metadata."""
    method = result.method.method
    steps = {s.namn: s for s in method.steg}
    by_value = {f.varde: f for f in factors if f.varde}
    by_flag = {f.flagga: f for f in factors if f.flagga}
    columns = []
    for col in result.output_columns:
        kind = result.method.kinds.get(col)
        step = steps.get(col)
        desc = (step.beskrivning.strip() if step is not None and step.beskrivning else "")
        if col in by_value:
            f = by_value[col]
            columns.append(Column(col, f.namn, f.matt or desc, "andel" if f.andel else "tal", f.id, f.status, f.low_is_bad))
        elif col in by_flag:
            f = by_flag[col]
            columns.append(Column(col, f.namn, f"Flagga: {f.namn.lower()}", "flagga", f.id, f.status))
        elif kind == BOOLEAN:
            columns.append(Column(col, _humanise(col), desc, "flagga"))
        elif kind == NUMERIC:
            typ = "andel" if isinstance(step, m.Ratio) and step.andel else "tal"
            columns.append(Column(col, _humanise(col), desc, typ))
        else:
            columns.append(Column(col, _humanise(col), desc, "text"))
    return columns


def _factor_counts(summary: Summary, factors: list[Factor]) -> list[dict]:
    """summary.faktorer (flagged areas, and among the listed) beside each Factor."""
    counts = {row["faktor"]: row for row in summary.faktorer.iter_rows(named=True)}
    return [{"faktor": f, "flaggade": counts[f.id]["flaggade"], "bland_listade": counts[f.id]["bland_listade"]} for f in factors]


def _humanise(col: str) -> str:
    text = col.replace("_", " ")
    return text[:1].upper() + text[1:]


def _aggregated_values(result: MapResult, columns: list[Column]) -> tuple[dict[str, dict], dict]:
    """Each factor's value for every kommun and for riket (results.levels: the method run on
    the store's kommun and riket rows); a store without those levels gives no values."""
    wanted = [c.id for c in columns if c.typ in ("andel", "tal") and c.faktor]
    if not wanted:
        return {}, {}
    kommun, riket = (
        {row["omrade"]: {c: _clean(row.get(c)) for c in wanted} for row in level_values(result, level).iter_rows(named=True)}
        for level in ("kommun", "riket")
    )
    return kommun, next(iter(riket.values()), {c: None for c in wanted})


def _search_index(data: AppData) -> list[tuple[str, str, SearchHit]]:
    index = []
    for k in data.kommuner.values():
        hit = SearchHit("kommun", k["kommun_kod"], k["kommun_namn"], k["lan_namn"] or "", f"/kommun/{k['kommun_kod']}", f"/api/v1/kommuner/{k['kommun_kod']}")
        index.append((_norm(hit.namn), _fold(hit.namn), hit))
    for a in data.areas.values():
        hit = SearchHit("omrade", a["regso_kod"], a["regso_namn"], f"{a['kommun_namn']}, {a['lan_namn']}", f"/omrade/{a['regso_kod']}", f"/api/v1/omraden/{a['regso_kod']}")
        index.append((_norm(hit.namn), _fold(hit.namn), hit))
    return index


def _write_files(result: MapResult, summary: Summary, out: Path) -> dict[str, Path]:
    """The national downloads, written once by the library's own exporter (no summary page:
    the web pages are the summary)."""
    from utanforskap.results import calibrate

    try:
        fit = calibrate.published_fit(result)
    except (UtanforskapError, pl.exceptions.PolarsError) as exc:
        # A method the calibration targets do not fit: the workbook lacks that sheet, and the log says why.
        log.info("passningen mot publicerade totaler utelämnas för %s: %s", result.method.id, exc)
        fit = None
    try:
        return export.write_all(result, summary, fit, out)
    except OSError as exc:
        raise InputError(f"kunde inte skriva nedladdningsfilerna till {out}: {exc}") from exc
