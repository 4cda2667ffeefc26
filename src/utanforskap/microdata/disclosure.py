"""Disclosure control (röjandekontroll) for counts aggregated from person-level microdata.

Rules (docs/mikrodata.md says the same in Swedish):

1. Primary suppression (status ``skyddad``): a figure resting on fewer than N persons is
   not published. N is ``min_antal`` (settings.min_antal, env UTANFORSKAP_MIN_ANTAL,
   default 5). The persons behind a count are the count itself (so 0 to N-1 are
   suppressed; a zero is a figure too); behind a sum of days, the persons with at least one
   day (column ``bakom``).
2. Secondary suppression (status ``skyddad_sekundar``): every additive relation between
   published figures is an *equation* total = sum of parts:
   * the hierarchy: each area at one published level = the sum of its children at the
     next published level below (DeSO -> RegSO -> kommun -> län -> riket), per variable;
   * categories that sum to a total in the same area (a `Partition`), e.g. the age
     bands of befolkning_0_19, or sysselsatta + arbetslösa + utanför = befolkning_16_64.
     A remainder that is not published (persons 20-64 without bistånd = befolkning_20_64
     - ekonomiskt_bistand_20_64) is a hidden member of its equation (``dold``); it is
     protected like a cell when it holds 1 to N-1 persons (an empty remainder is not).
   An equation in which exactly one member is unknown (suppressed or hidden) would let
   anyone compute it as total minus the other parts. So while some equation has exactly
   one unknown member and that member is protected, one more published member of that
   equation is suppressed: the smallest part (by value; the total only when no part is
   left). Each round handles every such equation at once (vectorised); rounds repeat
   until no equation has a single protected unknown.
3. Suppressed figures are empty (null), never zero, and carry their status.

What is guaranteed: no suppressed figure (and no protected remainder) can be recovered
from one equation, i.e. as a published total minus published parts, or as a sum of
published parts. Not guaranteed: exact recovery by combining several equations in linear
algebra, or narrow intervals from them; auditing that needs a tool such as tau-ARGUS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from utanforskap.errors import InputError

SKYDDAD = "skyddad"
SKYDDAD_SEKUNDAR = "skyddad_sekundar"
_AREA = ["omrade", "niva", "period"]
_MAX_ROUNDS = 10_000


@dataclass(frozen=True)
class Partition:
    """total = sum(parts) (+ the unpublished remainder `dold`, when named) in every area."""

    total: str
    parts: tuple[str, ...]
    dold: str | None = None


def protect(
    cells: pl.DataFrame,
    *,
    edges: pl.DataFrame,
    partitions: tuple[Partition, ...] | list[Partition] = (),
    min_antal: int,
) -> pl.DataFrame:
    """Apply the rules of the module docstring.

    `cells`: omrade, niva, period, variabel, varde (a count or sum), bakom (persons behind
    it; null means varde). `edges`: barn, barn_niva, foralder, foralder_niva (child area ->
    parent area between consecutive published levels). Returns `cells` with varde null for
    suppressed figures and a column status (null, skyddad or skyddad_sekundar).
    """
    if min_antal < 1:
        raise InputError(f"röjandekontroll: min_antal måste vara minst 1, inte {min_antal}")
    if cells.is_empty():
        return cells.with_columns(status=pl.lit(None, dtype=pl.String))
    if cells["varde"].null_count():
        raise InputError("röjandekontroll: cellerna får inte sakna värde före skyddet")
    dup = cells.select(*_AREA, "variabel").is_duplicated()
    if dup.any():
        row = cells.filter(dup).row(0, named=True)
        raise InputError(f"röjandekontroll: cellen {row['omrade']} {row['variabel']} {row['period']} förekommer två gånger")
    cells = cells.with_columns(bakom=pl.coalesce("bakom", "varde")).with_row_index("_cid")
    areas = cells.select(_AREA).unique(maintain_order=True).with_row_index("_aid")
    cells = cells.join(areas, on=_AREA, how="left").sort("_cid")
    n_cells = cells.height
    partitions = list(partitions)
    hidden = _hidden_cells(cells, partitions, n_cells)
    eq, cid, is_total = _equations(cells, hidden, partitions, edges, areas.height)

    value = np.concatenate([cells["varde"].to_numpy(), hidden["varde"].to_numpy()]).astype(np.float64)
    published = np.arange(value.shape[0]) < n_cells
    primary = np.zeros(value.shape[0], dtype=bool)
    primary[:n_cells] = cells["bakom"].to_numpy() < min_antal
    sensitive_hidden = ~published & (value > 0) & (value < min_antal)

    secondary = _secondary(eq, cid, is_total, published, value, primary, sensitive_hidden)
    code = np.where(primary[:n_cells], 1, np.where(secondary[:n_cells], 2, 0))
    status = pl.Series("status", code).replace_strict({0: None, 1: SKYDDAD, 2: SKYDDAD_SEKUNDAR}, return_dtype=pl.String)
    out = cells.drop("_cid", "_aid").with_columns(status=status)
    return out.with_columns(varde=pl.when(pl.col("status").is_null()).then(pl.col("varde")))


def _secondary(
    eq: np.ndarray,
    cid: np.ndarray,
    is_total: np.ndarray,
    published: np.ndarray,
    value: np.ndarray,
    primary: np.ndarray,
    sensitive_hidden: np.ndarray,
) -> np.ndarray:
    """Rounds of secondary suppression over all equations at once; returns the secondary mask."""
    secondary = np.zeros(published.shape[0], dtype=bool)
    if eq.size == 0:
        return secondary
    n_eq = int(eq.max()) + 1
    for _ in range(_MAX_ROUNDS):
        suppressed = primary | secondary
        unknown = suppressed | ~published
        protected = unknown & (suppressed | sensitive_hidden)
        n_unknown = np.bincount(eq, weights=unknown[cid], minlength=n_eq)
        n_protected = np.bincount(eq, weights=protected[cid], minlength=n_eq)
        violating = (n_unknown == 1) & (n_protected == 1)
        if not violating.any():
            return secondary
        # Among the published members of each violating equation: parts before the total,
        # then the smallest value, then the cell number (so the choice is deterministic).
        c = np.flatnonzero(violating[eq] & ~unknown[cid])
        order = np.lexsort((cid[c], value[cid[c]], is_total[c], eq[c]))
        c = c[order]
        first = np.flatnonzero(np.r_[True, eq[c][1:] != eq[c][:-1]])
        if first.size < int(violating.sum()):  # pragma: no cover - an equation always has two members
            raise InputError("röjandekontroll: en ekvation har ingen publicerad cell kvar att dölja")
        secondary[cid[c[first]]] = True
    raise InputError("röjandekontroll: sekundärt skydd konvergerade inte")  # pragma: no cover


def _roles(partitions: list[Partition]) -> pl.DataFrame:
    """One row per (partition, member variable): is it the total?"""
    rows = [(i, p.total, True) for i, p in enumerate(partitions)]
    rows += [(i, part, False) for i, p in enumerate(partitions) for part in p.parts]
    return pl.DataFrame(rows, schema={"_part": pl.Int64, "variabel": pl.String, "_total": pl.Boolean}, orient="row")


def _hidden_cells(cells: pl.DataFrame, partitions: list[Partition], n_cells: int) -> pl.DataFrame:
    """The unpublished remainders total - sum(parts), one per partition with `dold` and area."""
    with_dold = [i for i, p in enumerate(partitions) if p.dold is not None]
    empty = pl.DataFrame(schema={"_part": pl.Int64, "_aid": pl.UInt32, "varde": pl.Float64, "_cid": pl.Int64})
    if not with_dold:
        return empty
    roles = _roles(partitions).filter(pl.col("_part").is_in(with_dold))
    size = roles.group_by("_part").agg(pl.len().alias("_size"))
    sign = pl.when(pl.col("_total")).then(1.0).otherwise(-1.0)
    hidden = (
        cells.select("_aid", "variabel", "varde")
        .join(roles, on="variabel")
        .group_by("_part", "_aid")
        .agg((sign * pl.col("varde")).sum().alias("varde"), pl.len().alias("_n"))
        .join(size, on="_part")
        .filter(pl.col("_n") == pl.col("_size"))
        .sort("_part", "_aid")
        .select("_part", "_aid", "varde")
    )
    bad = hidden.filter(pl.col("varde") < 0)
    if bad.height:
        row = bad.row(0, named=True)
        raise InputError(
            f"röjandekontroll: delarna är större än totalen {partitions[row['_part']].total} "
            f"(område nr {row['_aid']}); kategorierna summerar inte"
        )
    return hidden.with_columns(_cid=pl.int_range(n_cells, n_cells + pl.len(), dtype=pl.Int64))


def _equations(
    cells: pl.DataFrame, hidden: pl.DataFrame, partitions: list[Partition], edges: pl.DataFrame, n_areas: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members of every equation as arrays (equation id, cell id, is the total).

    Category equation (partition i, area a): id i * n_areas + a. Hierarchy equation of a
    parent cell c: id offset + c.
    """
    frames = []
    if partitions:
        roles = _roles(partitions)
        size = roles.group_by("_part").agg((pl.len() + pl.lit(0)).alias("_size"))
        dold = pl.DataFrame(
            {"_part": list(range(len(partitions))), "_dold": [int(p.dold is not None) for p in partitions]},
            schema={"_part": pl.Int64, "_dold": pl.Int64},
        )
        cat = pl.concat([
            cells.select("_cid", "_aid", "variabel").join(roles, on="variabel").drop("variabel"),
            hidden.select(pl.col("_cid").cast(pl.UInt32), "_aid", "_part", _total=pl.lit(False)),
        ])
        cat = (
            cat.with_columns(_n=pl.len().over("_part", "_aid"))
            .join(size.join(dold, on="_part"), on="_part")
            .filter(pl.col("_n") == pl.col("_size") + pl.col("_dold"))  # only complete equations
            .select(_eq=pl.col("_part") * n_areas + pl.col("_aid").cast(pl.Int64), _cid="_cid", _total="_total")
        )
        frames.append(cat)
    if not edges.is_empty():
        offset = (len(partitions) + 1) * n_areas
        # Integer keys: (area id, variable id) for every cell; child area id -> parent area id.
        var_ids = cells.select("variabel").unique().with_row_index("_vid")
        keyed = cells.select("_cid", "_aid", "variabel").join(var_ids, on="variabel").drop("variabel")
        areas = cells.select("_aid", "omrade", "niva", "period").unique("_aid")
        links = (
            areas.join(edges, left_on=["omrade", "niva"], right_on=["barn", "barn_niva"])
            .join(
                areas.rename({"_aid": "_paid", "omrade": "foralder", "niva": "foralder_niva"}),
                on=["foralder", "foralder_niva", "period"],
            )
            .select("_aid", "_paid")
        )
        children = keyed.join(links, on="_aid").join(
            keyed.rename({"_cid": "_parent", "_aid": "_paid"}), on=["_paid", "_vid"]
        )
        parents = children.select("_parent").unique()
        frames.append(children.select(_eq=pl.col("_parent").cast(pl.Int64) + offset, _cid="_cid", _total=pl.lit(False)))
        frames.append(parents.select(_eq=pl.col("_parent").cast(pl.Int64) + offset, _cid="_parent", _total=pl.lit(True)))
    if not frames:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    m = pl.concat([f.select(pl.col("_eq").cast(pl.Int64), pl.col("_cid").cast(pl.Int64), "_total") for f in frames])
    return m["_eq"].to_numpy(), m["_cid"].to_numpy(), m["_total"].to_numpy()
