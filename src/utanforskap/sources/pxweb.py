"""Client for SCB's PxWebApi 2.0 (https://statistikdatabasen.scb.se/api/v2).

Reads `GET /config` for its limits and keeps within them: a sliding window of calls
shared by every request of the client, Retry-After on HTTP 429, exponential backoff on
5xx and timeouts (sources/http.py). A data query larger than `maxDataCells` is
split along its largest dimension, recursively, and the parts are merged and checked
cell by cell count. Every response is checked for completeness before it is used.

    client = PxWebClient()
    ds = client.data("TAB1234", {"Region": "*", "ContentsCode": "000001AB", "Tid": ["2022", "2023"]},
                     codelists={"Region": "vs_RegSO2020"})
    obs = jsonstat.to_observations(ds, niva="regso", region="Region", time="Tid", ...).observationer
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from utanforskap.errors import InputError, SourceError
from utanforskap.settings import Settings
from utanforskap.sources import jsonstat
from utanforskap.sources.http import Response, ServiceClient, short_list

# The region codelists that select every area of a level (valuesets on SCB's Region variable).
AREA_CODELISTS: dict[str, tuple[str, str]] = {
    "vs_DeSO2018": ("deso", "DeSO 2018 (till och med referensår 2023)"),
    "vs_DeSO2025": ("deso", "DeSO 2025 (från referensår 2024)"),
    "vs_RegSO2020": ("regso", "RegSO 2020 (till och med referensår 2023)"),
    "vs_RegSO2025": ("regso", "RegSO 2025 (från referensår 2024)"),
}

FIRST_2025_VINTAGE_YEAR = 2024  # SCB's 2025 area vintages start with reference year 2024


def area_codelist(niva: str, year: int | str) -> str:
    """The codelist selecting every area of `niva` ('deso' or 'regso') for reference `year`."""
    if niva not in ("deso", "regso"):
        raise InputError(f"områdeskodlistor finns för deso och regso, inte {niva!r}")
    new = int(year) >= FIRST_2025_VINTAGE_YEAR
    return {("deso", False): "vs_DeSO2018", ("deso", True): "vs_DeSO2025",
            ("regso", False): "vs_RegSO2020", ("regso", True): "vs_RegSO2025"}[(niva, new)]


MAX_GET_URL = 2000  # PxWebApi rejects longer URLs (its guide: about 2 100 characters)
MAX_PARTS = 5000  # a split into more parts than this is surely a mistake


@dataclass(frozen=True)
class Limits:
    max_cells: int
    max_calls: int
    window: float


@dataclass(frozen=True)
class TableVariable:
    code: str
    label: str
    codes: tuple[str, ...]
    labels: dict[str, str]
    elimination: bool
    elimination_code: str | None
    is_time: bool
    is_contents: bool
    codelists: tuple[str, ...]


@dataclass(frozen=True)
class TableMetadata:
    table: str
    label: str
    variables: dict[str, TableVariable]  # in the table's order
    updated: str | None = None

    @classmethod
    def from_jsonstat(cls, doc: Mapping[str, Any], table: str) -> TableMetadata:
        where = f"SCB-tabell {table} (metadata)"
        if not isinstance(doc, Mapping) or "id" not in doc or "dimension" not in doc:
            raise SourceError(f"{where}: metadata saknar 'id' eller 'dimension'")
        role = doc.get("role") or {}
        times, metrics = set(role.get("time") or []), set(role.get("metric") or [])
        variables: dict[str, TableVariable] = {}
        for code in doc["id"]:
            dim = (doc["dimension"] or {}).get(code)
            if dim is None:
                raise SourceError(f"{where}: variabeln {code!r} saknas under 'dimension'")
            category = dim.get("category") or {}
            ext = dim.get("extension") or {}
            lists = ext.get("codelists", ext.get("codeLists")) or []
            variables[code] = TableVariable(
                code=code,
                label=str(dim.get("label", code)),
                codes=jsonstat._category_order(category, code, where),
                labels={str(k): str(v) for k, v in (category.get("label") or {}).items()},
                elimination=bool(ext.get("elimination", False)),
                elimination_code=ext.get("eliminationValueCode"),
                is_time=code in times,
                is_contents=code in metrics,
                codelists=tuple(str(c.get("id")) for c in lists if isinstance(c, Mapping) and c.get("id")),
            )
        return cls(table, str(doc.get("label", "")), variables, doc.get("updated"))

    def variable(self, name: str) -> TableVariable:
        """The variable called `name` (case-insensitive, as the API matches)."""
        if name in self.variables:
            return self.variables[name]
        for code, var in self.variables.items():
            if code.lower() == name.lower():
                return var
        raise InputError(
            f"SCB-tabell {self.table} har ingen variabel {name!r}; finns: {', '.join(self.variables)}"
        )


@dataclass(frozen=True)
class Codelist:
    id: str
    label: str
    type: str
    codes: tuple[str, ...]
    labels: dict[str, str]
    value_map: dict[str, tuple[str, ...]]


class PxWebClient(ServiceClient):
    """See the module docstring. One client, one rate limit: share it between threads.

    Options as for every service client (sources.http.ServiceClient): settings, offline,
    cache_dir, transport, clock, sleep.
    """

    service = "scb"
    setting = "UTANFORSKAP_SCB_URL"

    def __init__(self, base_url: str | None = None, *, language: str = "sv", **options: Any):
        super().__init__(base_url, **options)
        self.language = language
        self._config: dict[str, Any] | None = None
        self._metadata: dict[str, TableMetadata] = {}
        self._codelists: dict[str, Codelist] = {}

    @staticmethod
    def default_url(settings: Settings) -> str:
        return settings.scb_url

    # ---- configuration -------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """`GET /config`, read once; sets the client's rate limit from it."""
        if self._config is None:
            doc = self.http.get("config", what="SCB /config").json("SCB /config")
            if not isinstance(doc, dict):
                raise SourceError("SCB /config: svaret är inget JSON-objekt")
            missing = [k for k in ("maxDataCells", "maxCallsPerTimeWindow", "timeWindow") if k not in doc]
            if missing:
                raise SourceError(f"SCB /config: fält saknas: {', '.join(missing)}")
            version = str(doc.get("apiVersion", "0"))
            if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 2:
                raise SourceError(f"SCB /config: API-version {version} stöds inte (kräver 2.x)")
            self._config = doc
            limits = self.limits
            # The config request itself is already in the window: acquire() records every call.
            self.http.limiter.configure(limits.max_calls, limits.window)
        return self._config

    @property
    def limits(self) -> Limits:
        doc = self.config() if self._config is None else self._config
        try:
            return Limits(int(doc["maxDataCells"]), int(doc["maxCallsPerTimeWindow"]), float(doc["timeWindow"]))
        except (TypeError, ValueError) as exc:
            raise SourceError(f"SCB /config: ogiltiga gränser ({exc})") from exc

    # ---- metadata ------------------------------------------------------------------
    def tables(
        self,
        query: str | None = None,
        *,
        past_days: int | None = None,
        include_discontinued: bool = False,
        page_size: int | None = None,
    ) -> list[dict[str, Any]]:
        """All tables matching `query` (every page), as the API describes them."""
        self.config()
        out: list[dict[str, Any]] = []
        page, total_pages, total = 1, 1, None
        while page <= total_pages:
            params = [("lang", self.language), ("pageNumber", str(page))]
            if query:
                params.append(("query", query))
            if past_days is not None:
                params.append(("pastDays", str(past_days)))
            if include_discontinued:
                params.append(("includeDiscontinued", "true"))
            if page_size is not None:
                params.append(("pageSize", str(page_size)))
            what = f"SCB tabellsökning {query!r}" if query else "SCB tabellista"
            doc = self.http.get("tables", params, what=what).json(what)
            if not isinstance(doc, dict) or not isinstance(doc.get("tables"), list) or "page" not in doc:
                raise SourceError(f"{what}: svaret saknar 'tables' eller 'page' (sida {page})")
            out.extend(doc["tables"])
            total_pages = int(doc["page"].get("totalPages", 1))
            total = doc["page"].get("totalElements", total)
            page += 1
        if total is not None and len(out) != int(total):
            raise SourceError(f"SCB tabellista: sidorna gav {len(out)} tabeller men totalElements är {total}")
        return out

    def metadata(self, table: str) -> TableMetadata:
        """`GET /tables/{table}/metadata` (JSON-stat2), parsed; read once per client."""
        if table not in self._metadata:
            what = f"SCB-tabell {table} (metadata)"
            self.config()
            doc = self.http.get(f"tables/{table}/metadata", [("lang", self.language)], what=what).json(what)
            self._metadata[table] = TableMetadata.from_jsonstat(doc, table)
        return self._metadata[table]

    def codelist(self, codelist_id: str) -> Codelist:
        """`GET /codelists/{id}`: a valueset (vs_) or an aggregation (agg_)."""
        if codelist_id not in self._codelists:
            what = f"SCB-kodlista {codelist_id}"
            self.config()
            doc = self.http.get(f"codelists/{codelist_id}", [("lang", self.language)], what=what).json(what)
            values = doc.get("values") if isinstance(doc, dict) else None
            if not isinstance(values, list) or not all(isinstance(v, dict) and "code" in v for v in values):
                raise SourceError(f"{what}: svaret saknar 'values' med koder")
            self._codelists[codelist_id] = Codelist(
                id=str(doc.get("id", codelist_id)),
                label=str(doc.get("label", "")),
                type=str(doc.get("type", "")),
                codes=tuple(str(v["code"]) for v in values),
                labels={str(v["code"]): str(v.get("label", "")) for v in values},
                value_map={str(v["code"]): tuple(map(str, v.get("valueMap") or [])) for v in values},
            )
        return self._codelists[codelist_id]

    # ---- data ----------------------------------------------------------------------
    def cells(self, table: str, selection: Mapping[str, str | Sequence[str]], codelists: Mapping[str, str] | None = None) -> int:
        """The number of cells a query selects (eliminated variables count once)."""
        _, codes = self._codes(self._query(table, selection, codelists))
        return math.prod(len(c) for c in codes.values())

    def data(
        self,
        table: str,
        selection: Mapping[str, str | Sequence[str]],
        codelists: Mapping[str, str] | None = None,
        *,
        method: Literal["GET", "POST"] = "POST",
        output_format: Literal["json-stat2", "csv"] = "json-stat2",
    ) -> jsonstat.Dataset:
        """Data for `selection` (variable -> value codes or selection expressions).

        `codelists` names a codelist per variable (e.g. {"Region": "vs_RegSO2025"}); the
        value codes of that variable are then codes of the codelist. A query over
        maxDataCells is split and reassembled. Raises SourceError on any partial answer.
        """
        if method not in ("GET", "POST"):
            raise InputError(f"okänd HTTP-metod {method!r}; använd GET eller POST")
        if output_format not in ("json-stat2", "csv"):
            raise InputError(f"okänt utdataformat {output_format!r}; använd json-stat2 eller csv")
        query = self._query(table, selection, codelists)
        _, codes = self._codes(query)
        max_cells = self.limits.max_cells
        overrides: list[dict[str, list[str]]] = [{}]
        if math.prod(len(c) for c in codes.values()) > max_cells:
            overrides = split(codes, max_cells, where=f"SCB-tabell {table}")
        parts = []
        for override in overrides:
            part = {**query.selection, **override}
            # Every code is checked, also those of `*` in a codelist (from the codelist itself):
            # a wrong code with the right count must not replace a real area's rows.
            expected = {var: override.get(var, codes[var]) for var in part}
            sizes = {var: len(override.get(var, codes[var])) for var in part}
            parts.append(self._fetch(query, part, expected, sizes, method, output_format))
        return jsonstat.merge(parts, f"SCB-tabell {table}")

    # ---- internals -----------------------------------------------------------------
    def _query(self, table: str, selection: Mapping[str, Any], codelists: Mapping[str, str] | None) -> _Query:
        meta = self.metadata(table)
        sel: dict[str, list[str]] = {}
        for name, values in selection.items():
            var = meta.variable(name)
            vals = [values] if isinstance(values, str) else [str(v) for v in values]
            if not vals or any(not v.strip() for v in vals):
                raise InputError(f"SCB-tabell {table}: tomt urval för {var.code}")
            sel[var.code] = vals
        lists: dict[str, str] = {}
        for name, cl in (codelists or {}).items():
            var = meta.variable(name)
            if var.code not in sel:
                raise InputError(f"SCB-tabell {table}: kodlistan {cl} för {var.code} kräver ett urval för {var.code}")
            if var.codelists and cl not in var.codelists:
                raise InputError(
                    f"SCB-tabell {table}: variabeln {var.code} har ingen kodlista {cl}; finns: {', '.join(var.codelists)}"
                )
            lists[var.code] = cl
        mandatory = [v.code for v in meta.variables.values() if not v.elimination and v.code not in sel]
        if mandatory:
            raise InputError(f"SCB-tabell {table}: urval saknas för obligatoriska variabler: {', '.join(mandatory)}")
        return _Query(meta, sel, lists)

    def _domain(self, query: _Query, var: str) -> tuple[str, ...]:
        cl = query.codelists.get(var)
        return self.codelist(cl).codes if cl else query.meta.variables[var].codes

    def _known(self, query: _Query, var: str) -> list[str] | None:
        """Explicit codes of `var` if known without fetching a codelist, else None."""
        values = query.selection[var]
        if var in query.codelists and any(_is_expression(v) for v in values):
            return None
        if var in query.codelists:
            return list(dict.fromkeys(values))
        return self._expand(query, var)

    def _codes(self, query: _Query) -> tuple[dict[str, list[str] | None], dict[str, list[str]]]:
        """Per variable, once: its codes known without a codelist fetch (or None), and its codes."""
        known = {var: self._known(query, var) for var in query.selection}
        return known, {var: k if k is not None else self._expand(query, var) for var, k in known.items()}

    def _expand(self, query: _Query, var: str) -> list[str]:
        v = query.meta.variables[var]
        where = f"SCB-tabell {query.meta.table}, variabel {var}"
        if query.codelists.get(var):
            where += f" (kodlista {query.codelists[var]})"
        return expand(query.selection[var], self._domain(query, var), is_time=v.is_time, where=where)

    def _fetch(
        self,
        query: _Query,
        part: dict[str, list[str]],
        expected: Mapping[str, list[str] | None],
        sizes: dict[str, int],
        method: str,
        output_format: str,
    ) -> jsonstat.Dataset:
        table = query.meta.table
        order = [v for v in query.meta.variables if v in part]
        path = f"tables/{table}/data"
        params: list[tuple[str, str]] = [("lang", self.language), ("outputFormat", output_format)]
        if output_format == "csv":
            params.append(("outputFormatParams", "SeparatorSemicolon,UseCodes"))
        summary = "; ".join(f"{v}={short_list(part[v])}" for v in order)
        what = f"SCB-tabell {table} (urval {summary})"
        response: Response | None = None
        if method == "GET":
            get_params = list(params)
            for var in order:
                get_params.append((f"valueCodes[{var}]", ",".join(_quote(c) for c in part[var])))
                if var in query.codelists:
                    get_params.append((f"codelist[{var}]", query.codelists[var]))
            if output_format == "csv":
                get_params += [("stub", ",".join(order)), ("heading", "")]
            if len(str(httpx.URL(self.http.url(path), params=get_params))) <= MAX_GET_URL:
                response = self.http.get(path, get_params, what=what)
        if response is None:  # POST, or a GET whose URL would be too long for the server
            body: dict[str, Any] = {"selection": []}
            for var in order:
                item: dict[str, Any] = {"variableCode": var, "valueCodes": part[var]}
                if var in query.codelists:
                    item["codelist"] = query.codelists[var]
                body["selection"].append(item)
            if output_format == "csv":
                body["placement"] = {"stub": order, "heading": []}
            response = self.http.post(path, body, params, what=what)
        where = f"SCB-tabell {table}: {response.method} {response.url} (urval {summary})"
        if response.cache_file is not None:
            where += f" (rått svar: {response.cache_file})"
        if output_format == "csv":
            ds = jsonstat.parse_csv(response.body, order, where)
        else:
            ds = jsonstat.parse(response.json(where), where)
        _check(ds, query, expected, sizes, where)
        return ds


@dataclass(frozen=True)
class _Query:
    meta: TableMetadata
    selection: dict[str, list[str]]
    codelists: dict[str, str]


def _check(
    ds: jsonstat.Dataset,
    query: _Query,
    expected: Mapping[str, list[str] | None],
    sizes: Mapping[str, int],
    where: str,
) -> None:
    """Fail unless the answer holds exactly the cells asked for."""
    for var, size in sizes.items():
        if var not in ds.ids:
            raise SourceError(f"{where}: dimensionen {var} saknas i svaret")
        got = len(ds.codes[var])
        if got != size:
            raise SourceError(f"{where}: {var} har {got} värden i svaret men {size} begärdes")
        codes = expected.get(var)
        # Aggregations (agg_) may answer with codes of their own; valuesets keep theirs.
        if codes is not None and not query.codelists.get(var, "").startswith("agg_"):
            asked = {c.lower(): c for c in codes}
            got_codes = {c.lower(): c for c in ds.codes[var]}
            missing = sorted(asked[c] for c in set(asked) - set(got_codes))
            if missing:
                extra = sorted(got_codes[c] for c in set(got_codes) - set(asked))
                also = f"; i stället kom {short_list(extra, 5, ', ')}, som inte begärdes" if extra else ""
                raise SourceError(f"{where}: {var} saknar {short_list(missing, 5, ', ')} i svaret{also}")
    for dim in ds.ids:
        if dim in sizes:
            continue
        variable = query.meta.variables.get(dim)
        if variable is None or not variable.elimination or len(ds.codes[dim]) != 1:
            raise SourceError(f"{where}: oväntad dimension {dim} i svaret")


def split(codes: Mapping[str, Sequence[str]], max_cells: int, *, where: str) -> list[dict[str, list[str]]]:
    """Split a selection (variable -> explicit codes) into parts of at most `max_cells` cells.

    The largest dimension is split first into chunks as large as the limit allows; a part
    still too large is split again along its largest remaining dimension. Returns the
    overrides per part (variable -> its codes in that part), in the order of the codes.
    """
    if max_cells < 1:
        raise SourceError(f"{where}: tjänstens gräns maxDataCells={max_cells} går inte att hålla")
    sizes = {v: len(c) for v, c in codes.items()}

    def go(sizes: dict[str, int], fixed: dict[str, list[str]]) -> list[dict[str, list[str]]]:
        total = math.prod(sizes.values())
        if total <= max_cells:
            return [dict(fixed)]
        free = [v for v, n in sizes.items() if n > 1 and v not in fixed]
        if not free:
            raise SourceError(
                f"{where}: frågan ({total} celler) kan inte delas under gränsen {max_cells} celler"
            )
        var = max(free, key=lambda v: sizes[v])
        others = total // sizes[var]
        chunk = max(1, max_cells // others)
        values = list(codes[var])
        out: list[dict[str, list[str]]] = []
        for i in range(0, len(values), chunk):
            piece = values[i : i + chunk]
            out.extend(go({**sizes, var: len(piece)}, {**fixed, var: piece}))
            if len(out) > MAX_PARTS:
                raise SourceError(f"{where}: frågan skulle kräva fler än {MAX_PARTS} delfrågor")
        return out

    return go(sizes, {})


# ---- selection expressions ------------------------------------------------------------
_FUNCTION = re.compile(r"^(top|bottom|from|to|range)\((.*)\)$", re.IGNORECASE)


def _is_expression(value: str) -> bool:
    return "*" in value or "?" in value or bool(_FUNCTION.match(value.strip()))


def expand(values: Iterable[str], domain: Sequence[str], *, is_time: bool = False, where: str = "") -> list[str]:
    """Expand value codes and selection expressions against `domain` (codes in metadata order).

    Supports plain codes, `*` and `?` masks, top(n[,offset]), bottom(n[,offset]), from(x),
    to(x) and range(x,y) as PxWebApi 2.0 does (top on the time variable takes the latest
    periods). Duplicates are dropped; codes match case-insensitively.
    """
    lower = {c.lower(): i for i, c in enumerate(domain)}
    out: dict[str, None] = {}

    def position(code: str, expr: str) -> int:
        i = lower.get(code.strip().lower())
        if i is None:
            raise InputError(f"{where}: koden {code.strip()!r} i {expr!r} finns inte")
        return i

    for raw in values:
        value = raw.strip()
        m = _FUNCTION.match(value)
        if m:
            name, args = m.group(1).lower(), [a.strip() for a in m.group(2).split(",")]
            if name in ("top", "bottom"):
                if not 1 <= len(args) <= 2 or not all(a.isdigit() for a in args) or int(args[0]) < 1:
                    raise InputError(f"{where}: ogiltigt uttryck {value!r}")
                n, offset = int(args[0]), int(args[1]) if len(args) == 2 else 0
                from_end = (name == "top") == is_time  # time: top = latest = last in the list
                seq = list(domain)[::-1] if from_end else list(domain)
                picked = seq[offset : offset + n]
                selected = picked[::-1] if from_end else picked
            elif name == "range":
                if len(args) != 2:
                    raise InputError(f"{where}: ogiltigt uttryck {value!r}")
                a, b = sorted((position(args[0], value), position(args[1], value)))
                selected = list(domain[a : b + 1])
            elif len(args) != 1:
                raise InputError(f"{where}: ogiltigt uttryck {value!r}")
            elif name == "from":
                selected = list(domain[position(args[0], value) :])
            else:
                selected = list(domain[: position(args[0], value) + 1])
        elif "*" in value or "?" in value:
            pattern = re.compile("".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in value), re.IGNORECASE)
            selected = [c for c in domain if pattern.fullmatch(c)]
        else:
            selected = [domain[position(value, value)]]
        out.update(dict.fromkeys(selected))
    return list(out)


def _quote(code: str) -> str:
    # In a GET list a code containing a comma is written in brackets (PxWebApi guide).
    return f"[{code}]" if "," in code and not _FUNCTION.match(code) else code
