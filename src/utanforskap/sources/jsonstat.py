"""JSON-stat 2.0 (and PxWebApi CSV) responses as tidy frames, and from there observations.

A JSON-stat dataset holds its values as one flat array in row-major order of `id`/`size`:
the last dimension varies fastest. Cell i has, for dimension k, the category at position
(i // stride_k) % size_k where stride_k is the product of the sizes after k. Parsing is
vectorised (numpy index arithmetic, polars gathers): no Python loop per cell.

Status symbols (SCB's `..` and friends) are kept; a cell with a symbol and no value is
never read as zero.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from utanforskap import geography
from utanforskap.errors import InputError, SourceError
from utanforskap.observations import schema
from utanforskap.sources.parsing import swedish_number
from utanforskap.sources.result import SourceResult

VALUE = "varde"
SYMBOL = "symbol"

# PX data symbols (DATASYMBOL1-6) -> observation status. Values behind them are null.
# '..' and the longer dot runs mark figures withheld or too uncertain; '.' (cannot occur)
# and '...' (not available) have no figure to give.
SYMBOL_STATUS = {
    "..": "undertryckt",
    "....": "undertryckt",
    ".....": "undertryckt",
    "......": "undertryckt",
    ".": "saknas",
    "...": "saknas",
}
# PX's NIL symbol: the magnitude is exactly zero (SCB: "noll"), as in SCB's xlsx exports.
NIL = "-"


@dataclass(frozen=True)
class Dataset:
    """A parsed dataset: one row per cell, a column per dimension (codes), value and symbol."""

    ids: tuple[str, ...]
    codes: dict[str, tuple[str, ...]]  # dimension -> category codes in index order
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # contents code -> unit base
    frame: pl.DataFrame = field(default_factory=pl.DataFrame)
    label: str = ""

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(self.codes[d]) for d in self.ids)

    @property
    def cells(self) -> int:
        return self.frame.height


def parse(doc: bytes | str | Mapping[str, Any], where: str) -> Dataset:
    """Parse a JSON-stat 2.0 dataset; raise SourceError naming `where` on anything partial."""
    if isinstance(doc, (bytes, str)):
        try:
            doc = json.loads(doc)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceError(f"{where}: svaret är inte giltig JSON, troligen avkortat ({exc})") from exc
    if not isinstance(doc, Mapping):
        raise SourceError(f"{where}: svaret är inte ett JSON-stat-dataset")
    for key in ("id", "size", "dimension", "value"):
        if key not in doc:
            raise SourceError(f"{where}: JSON-stat-svaret saknar fältet {key!r}")
    ids, sizes, dims = doc["id"], doc["size"], doc["dimension"]
    if not isinstance(ids, list) or not isinstance(sizes, list) or len(ids) != len(sizes):
        raise SourceError(f"{where}: JSON-stat-svaret har 'id' och 'size' av olika längd")
    if len(set(ids)) != len(ids):
        raise SourceError(f"{where}: JSON-stat-svaret har dubbla dimensioner i 'id'")

    codes: dict[str, tuple[str, ...]] = {}
    labels: dict[str, dict[str, str]] = {}
    units: dict[str, str] = {}
    for dim, size in zip(ids, sizes, strict=False):
        if not isinstance(dims, Mapping) or dim not in dims:
            raise SourceError(f"{where}: dimensionen {dim!r} saknas i JSON-stat-svaret")
        category = (dims[dim] or {}).get("category") or {}
        order = _category_order(category, dim, where)
        if len(order) != size:
            raise SourceError(
                f"{where}: dimensionen {dim!r} har {len(order)} kategorier men 'size' säger {size}"
            )
        codes[dim] = order
        labels[dim] = {str(k): str(v) for k, v in (category.get("label") or {}).items()}
        for code, unit in (category.get("unit") or {}).items():
            if isinstance(unit, Mapping) and unit.get("base"):
                units[str(code)] = str(unit["base"])

    n = math.prod(sizes)
    values = _values(doc["value"], n, where)
    symbols = _symbols(doc.get("status"), n, where)
    frame = _grid(ids, codes).with_columns(values, symbols)
    return Dataset(tuple(ids), codes, labels, units, frame, str(doc.get("label", "")))


def parse_csv(body: bytes, ids: Sequence[str], where: str) -> Dataset:
    """Parse PxWebApi CSV with every variable in the stub (codes, semicolons, one value column)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{where}: CSV-svaret är inte UTF-8 ({exc})") from exc
    try:
        raw = pl.read_csv(io.StringIO(text), separator=";", infer_schema=False, quote_char='"')
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"{where}: CSV-svaret kan inte läsas ({exc})") from exc
    if raw.width != len(ids) + 1:
        raise SourceError(
            f"{where}: CSV-svaret har {raw.width} kolumner men {len(ids)} variabler och en värdekolumn väntades"
        )
    raw = raw.rename(dict(zip(raw.columns, [*ids, "_cell"], strict=False)))
    if raw.select(pl.any_horizontal(pl.all().is_null())).to_series().any():
        raise SourceError(f"{where}: CSV-svaret har tomma fält (avkortat eller trasigt)")
    cell = pl.col("_cell").str.strip_chars()
    number = swedish_number(cell)
    frame = raw.with_columns(number.alias(VALUE), pl.when(number.is_null()).then(cell).alias(SYMBOL)).drop("_cell")
    bad = frame.filter(pl.col(VALUE).is_null() & ~pl.col(SYMBOL).is_in([*SYMBOL_STATUS, NIL]))
    if bad.height:
        raise SourceError(f"{where}: okänt värde {bad[SYMBOL][0]!r} i CSV-svaret")
    codes = {d: tuple(frame[d].unique(maintain_order=True).to_list()) for d in ids}
    if math.prod(len(c) for c in codes.values()) != frame.height:
        cube = " x ".join(str(len(c)) for c in codes.values())
        raise SourceError(f"{where}: CSV-svaret har {frame.height} rader, inte en hel kub ({cube})")
    if frame.select(ids).is_duplicated().any():
        raise SourceError(f"{where}: CSV-svaret har dubbla rader")
    return Dataset(tuple(ids), codes, {}, {}, frame)


def merge(parts: Sequence[Dataset], where: str) -> Dataset:
    """Reassemble the parts of a split query into one dataset in row-major order."""
    if not parts:
        raise SourceError(f"{where}: inga delsvar att slå ihop")
    if len(parts) == 1:
        return parts[0]
    ids = parts[0].ids
    for p in parts[1:]:
        if p.ids != ids:
            raise SourceError(f"{where}: delsvaren har olika dimensioner ({list(p.ids)} mot {list(ids)})")
    codes = {d: tuple(dict.fromkeys(c for p in parts for c in p.codes[d])) for d in ids}
    labels = {d: {k: v for p in parts for k, v in p.labels.get(d, {}).items()} for d in ids}
    units = {k: v for p in parts for k, v in p.units.items()}
    frame = pl.concat([p.frame for p in parts], how="vertical")
    if frame.select(ids).is_duplicated().any():
        raise SourceError(f"{where}: delsvaren överlappar (samma cell i flera delsvar)")
    expected = math.prod(len(c) for c in codes.values())
    if frame.height != expected:
        raise SourceError(f"{where}: delsvaren ger {frame.height} celler men hela frågan har {expected}")
    order = [pl.col(d).replace_strict(list(codes[d]), list(range(len(codes[d]))), return_dtype=pl.Int64) for d in ids]
    frame = frame.sort(order)
    return Dataset(ids, codes, labels, units, frame, parts[0].label)


def to_observations(
    ds: Dataset,
    *,
    niva: str,
    region: str,
    time: str,
    variables: Mapping[str, str],
    contents: str = "ContentsCode",
    kalla: str,
    enhet: str | Mapping[str, str] | None = None,
    where: str,
    geo: geography.Geography | None = None,
) -> SourceResult:
    """Observations (observations/schema.py) from a dataset, and a report of codes set aside.

    `variables` maps a contents code to the catalogue variable it fills. Every other
    dimension must be pinned to one category, or cells would share a key. Area codes are
    read by geography.parse_codes and must be codes of level `niva` (SCB's riket ``00``
    becomes ``SE``); a code of another form stops the import (wrong codelist). Codes are
    joined to the hierarchy `geo` (the bundled one by default) with `join_vintage`: a 2025
    code whose plain form is a DeSO 2018 / RegSO 2020 code is that area; any other code is
    left out and listed in the report (``ej_kopplade_koder``), never stored under a code
    of the wrong vintage.
    """
    frame = ds.frame
    for dim in (region, time):
        if dim not in ds.ids:
            raise SourceError(f"{where}: dimensionen {dim!r} saknas i svaret (finns: {', '.join(ds.ids)})")
    extra = [d for d in ds.ids if d not in (region, time, contents) and len(ds.codes[d]) > 1]
    if extra:
        raise InputError(f"{where}: välj ett enda värde för {', '.join(extra)} (annars blir observationerna tvetydiga)")
    if contents in ds.ids:
        unknown = [c for c in ds.codes[contents] if c not in variables]
        if unknown:
            raise InputError(f"{where}: ingen variabel angiven för innehållet {', '.join(unknown)}")
        variable = pl.col(contents).replace_strict(dict(variables), return_dtype=pl.String)
    else:
        if len(variables) != 1:
            raise InputError(f"{where}: svaret saknar {contents}; ange exakt en variabel")
        variable = pl.lit(next(iter(variables.values())))
        contents_code = next(iter(variables))
    units = dict(enhet) if isinstance(enhet, Mapping) else ds.units
    if isinstance(enhet, str):
        unit = pl.lit(enhet)
    elif contents in ds.ids:
        unit = pl.col(contents).replace_strict(units, default=None, return_dtype=pl.String)
    else:
        unit = pl.lit(units.get(contents_code), dtype=pl.String)

    nil = pl.col(VALUE).is_null() & (pl.col(SYMBOL) == NIL)
    frame = frame.with_columns(pl.when(nil).then(pl.lit(0.0)).otherwise(pl.col(VALUE)).alias(VALUE))
    status = (
        pl.when(pl.col(VALUE).is_not_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col(SYMBOL).is_null())
        .then(pl.lit("saknas"))
        .otherwise(pl.col(SYMBOL).replace_strict(SYMBOL_STATUS, default="undertryckt", return_dtype=pl.String))
    )
    cells = frame.select(
        pl.col(region).cast(pl.String).alias("_kod"),
        pl.col(time).cast(pl.String).alias("period"),
        variable.alias("variabel"),
        pl.lit(None, dtype=pl.Float64).alias("taljare"),
        pl.lit(None, dtype=pl.Float64).alias("namnare"),
        pl.col(VALUE).alias("varde"),
        unit.alias("enhet"),
        pl.lit(kalla).alias("kalla"),
        status.alias("status"),
    )
    joined = (geo or geography.default()).join_vintage(cells, "_kod")
    wrong = pl.concat([joined.matched, joined.unmatched.drop("orsak")]).filter(pl.col("niva").ne_missing(niva))
    if wrong.height:
        raise SourceError(f"{where}: områdeskoden {wrong['_kod'][0]!r} är ingen {niva}-kod (fel kodlista?)")
    unmatched = sorted(joined.unmatched["_kod"].unique().to_list())
    rapport = {"ej_kopplade": len(unmatched), "ej_kopplade_koder": unmatched}
    return SourceResult(schema.conform(joined.matched.select(list(schema.COLUMNS)), where), rapport=rapport)


# ---- helpers -----------------------------------------------------------------------
def _category_order(category: Mapping[str, Any], dim: str, where: str) -> tuple[str, ...]:
    index = category.get("index")
    if index is None:
        # JSON-stat allows no index only for a single category.
        label = category.get("label") or {}
        if len(label) == 1:
            return (str(next(iter(label))),)
        raise SourceError(f"{where}: dimensionen {dim!r} saknar 'category.index'")
    if isinstance(index, list):
        return tuple(str(c) for c in index)
    if isinstance(index, Mapping):
        ordered: list[str | None] = [None] * len(index)
        for code, pos in index.items():
            if not isinstance(pos, int) or not 0 <= pos < len(index) or ordered[pos] is not None:
                raise SourceError(f"{where}: dimensionen {dim!r} har ett trasigt 'category.index'")
            ordered[pos] = str(code)
        return tuple(ordered)  # type: ignore[arg-type]
    raise SourceError(f"{where}: dimensionen {dim!r} har ett okänt 'category.index'")


def _grid(ids: Sequence[str], codes: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Row i of the result is cell i in row-major order (last dimension fastest)."""
    sizes = [len(codes[d]) for d in ids]
    n = math.prod(sizes)
    if n == 0:
        return pl.DataFrame({d: pl.Series([], dtype=pl.String) for d in ids})
    cell = np.arange(n, dtype=np.int64)
    columns = []
    stride = n
    for dim, size in zip(ids, sizes, strict=False):
        stride //= size
        position = pl.Series((cell // stride) % size)
        columns.append(pl.Series(dim, list(codes[dim]), dtype=pl.String).gather(position))
    return pl.DataFrame(columns)


def _values(value: object, n: int, where: str) -> pl.Series:
    if isinstance(value, list):
        if len(value) != n:
            raise SourceError(
                f"{where}: svaret har {len(value)} värden men dimensionerna ger {n} celler (ofullständigt svar)"
            )
        try:
            return pl.Series(VALUE, value, dtype=pl.Float64, strict=True)
        except (TypeError, pl.exceptions.PolarsError) as exc:
            raise SourceError(f"{where}: svaret har icke-numeriska värden ({exc})") from exc
    if isinstance(value, Mapping):
        # Sparse form: {"cell index": value}; absent cells are missing, never zero.
        out = pl.Series(VALUE, [None] * n, dtype=pl.Float64)
        if value:
            idx, vals = _sparse(value, n, where)
            try:
                out = out.scatter(idx, pl.Series(vals, dtype=pl.Float64, strict=True))
            except (TypeError, pl.exceptions.PolarsError) as exc:
                raise SourceError(f"{where}: svaret har icke-numeriska värden ({exc})") from exc
        return out
    raise SourceError(f"{where}: fältet 'value' har okänd form")


def _symbols(status: object, n: int, where: str) -> pl.Series:
    if status is None:
        return pl.Series(SYMBOL, [None] * n, dtype=pl.String)
    if isinstance(status, str):
        return pl.Series(SYMBOL, [status] * n, dtype=pl.String)
    if isinstance(status, list):
        if len(status) == 1:
            return pl.Series(SYMBOL, status * n, dtype=pl.String)
        if len(status) != n:
            raise SourceError(f"{where}: fältet 'status' har {len(status)} poster men {n} celler")
        return pl.Series(SYMBOL, status, dtype=pl.String)
    if isinstance(status, Mapping):
        out = pl.Series(SYMBOL, [None] * n, dtype=pl.String)
        if status:
            idx, syms = _sparse(status, n, where)
            out = out.scatter(idx, pl.Series(syms, dtype=pl.String))
        return out
    raise SourceError(f"{where}: fältet 'status' har okänd form")


def _sparse(mapping: Mapping[str, Any], n: int, where: str) -> tuple[np.ndarray, list[object]]:
    try:
        idx = np.fromiter((int(k) for k in mapping), dtype=np.int64, count=len(mapping))
    except ValueError as exc:
        raise SourceError(f"{where}: ogiltigt cellindex i svaret ({exc})") from exc
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise SourceError(f"{where}: cellindex utanför kuben ({int(idx.max())} av {n})")
    return idx, list(mapping.values())
