"""Change in an area's share split into residents who stayed, those who moved in and those
who moved out (persons followed by their lopnr between two years).

For an area and a ratio N/D (e.g. employed 20-64 / persons 20-64), with S the persons living
in the area both years, I those living there only the later year (moved in, born,
immigrated) and O those living there only the earlier year (moved out, died, emigrated):

    r0 = (N_S0 + N_O) / (D_S0 + D_O)         r1 = (N_S1 + N_I) / (D_S1 + D_I)
    rS0 = N_S0 / D_S0                        rS1 = N_S1 / D_S1

    r1 - r0 = (rS1 - rS0)      kvarboende: the stayers' own change
            + (r1 - rS1)       inflyttade: what the in-movers add in the later year
            + (rS0 - r0)       utflyttade: what the out-movers took with them

The three parts add up to the change exactly (a telescoping sum). When no stayer is in the
measure's population one of the years, the stayers' part is 0 and the whole change counts
as turnover (`inflyttade`), marked in `uppdelning`. Stayers include persons ageing into or
out of the measure's population (a 19-year-old stayer joins the 20-64 denominator).

Every part is computed for all areas and a pair of years at once: arrays indexed by person,
compared element by element and summed per area by np.bincount (numpy); no loop over areas
or persons.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.microdata import aggregate as ag
from utanforskap.microdata import schema as ms
from utanforskap.microdata.panel import LOPNR, check_panel

PARTS = ("kvarboende", "inflyttade", "utflyttade")


def _variable_expr(name: str, t, settings):
    by_name = {v.name: v for v in ag.VARIABLES}
    v = by_name.get(name)
    if v is None:
        raise InputError(f"variabeln {name} räknas inte ur mikrodata; kända: {', '.join(ag.VARIABLE_NAMES)}")
    if v.count is not None:
        return v.count(t, settings)
    total = _variable_expr(v.sum_of[0], t, settings)
    for part in v.sum_of[1:]:
        total = total + _variable_expr(part, t, settings)
    return total


def person_values(source: str | os.PathLike[str] | pa.Table | pl.DataFrame, variables: Iterable[str], settings=None) -> pl.DataFrame:
    """One row per person and year: lopnr, ar, deso and each variable's count for the person
    (0/1, or days), with the same definitions as the aggregation (microdata.aggregate)."""
    import ibis

    from utanforskap.settings import load as load_settings

    settings = settings or load_settings()
    persons = ag.open_persons(source)
    table = persons.table
    if table is not None and LOPNR not in table.column_names or (
        persons.path is not None and LOPNR not in pa.parquet.read_schema(ms.parquet_files(Path(persons.path))[0]).names
    ):
        raise InputError(f"{persons.where}: kolumnen lopnr saknas; flyttare och kvarboende kan bara följas med ett stabilt löpnummer per person")
    check_panel(table if table is not None else persons.path, persons.where)
    variables = list(dict.fromkeys(variables))
    with ag.connect("duckdb") as con:
        t = persons.ibis_table(con)
        expr = t.select(t[LOPNR], t.ar.cast("int64").name("ar"), t.deso.cast("string").name("deso"),
                        **{v: _variable_expr(v, t, settings).cast("float64") for v in variables})
        out = pl.from_arrow(con.to_pyarrow(expr))
    del ibis
    return out


def decompose(persons: pl.DataFrame, ratios: dict[str, tuple[str, str, float]], years: list[int] | None = None,
              groups: pl.DataFrame | None = None) -> pl.DataFrame:
    """The movers/stayers split of every ratio for every area and consecutive pair of years.

    `persons`: person_values(); `ratios`: name -> (numerator, denominator, scale);
    `groups`: deso -> `grupp` (default: the RegSO of each DeSO). Persons in a DeSO without a
    group count as living outside every group. Returns one row per (grupp, fran_ar, till_ar,
    matt) with varde_fran, varde_till, forandring, the three PARTS, the persons behind each
    (antal_kvarboende, antal_inflyttade, antal_utflyttade: in the measure's denominator)
    and `uppdelning`."""
    if groups is None:
        groups = geography.areas("deso").select(pl.col("deso_kod").alias("deso"), pl.col("regso_kod").alias("grupp"))
    years = sorted(set(years or persons["ar"].unique().to_list()))
    if len(years) < 2:
        raise InputError("flyttare och kvarboende kräver minst två år")
    cols = sorted({c for num, den, _ in ratios.values() for c in (num, den)})
    w = _sums(persons, cols, years, groups)
    out = [
        _parts(w, name, num, den, scale).with_columns(w.select("fran_ar", "till_ar"))
        for name, (num, den, scale) in ratios.items()
    ]
    df = pl.concat(out)
    return df.select("grupp", "fran_ar", "till_ar", "matt", "varde_fran", "varde_till", "forandring", *PARTS,
                     "antal_kvarboende", "antal_inflyttade", "antal_utflyttade", "uppdelning").sort("grupp", "matt", "fran_ar")


def _sums(persons: pl.DataFrame, cols: list[str], years: list[int], groups: pl.DataFrame) -> pl.DataFrame:
    """Per group and consecutive pair of years: the sums of `cols` over the stayers (both
    years' values: `c__S0`, `c__S1`), the in-movers (`c__I`) and the out-movers (`c__O`).

    Each year is laid out as arrays indexed by person (lopnr, or its rank when the numbers
    are sparse or not whole numbers): the group each person lives in (`k`, one past the last
    group, for nowhere) and their values. Two years' arrays side by side tell the stayers
    element by element; np.bincount sums them per group, and the movers are the year's total
    less its stayers. No sort and no join of the person-years: the sort by person was most of
    the time at 10 M persons a year."""
    names = groups.filter(pl.col("grupp").is_not_null())["grupp"].unique().sort()
    k = names.len()
    gmap = groups.join(names.to_frame().with_row_index("_g"), on="grupp", how="inner")
    ident = persons[LOPNR]
    lo, hi = (ident.min(), ident.max()) if ident.dtype.is_integer() and ident.len() else (None, None)
    dense = lo is not None and hi - lo < max(4 * persons.height, 1 << 20)
    ranks = None if dense else ident.unique().to_frame().with_row_index("_p")
    size = (hi - lo + 1) if dense else (ranks.height if ranks is not None else 0)
    del ident

    def per_group(g: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(g, weights=weights, minlength=k + 1)[:k]

    def year(y: int) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
        """Where each person lives in year `y` and their values, by person; and per group
        the persons living there and their values' totals."""
        group = pl.col("deso").replace_strict(gmap["deso"], gmap["_g"], default=k, return_dtype=pl.Int64)
        sub = persons.lazy().filter(pl.col("ar") == y).select(LOPNR, group.alias("_g"), *[pl.col(c).fill_null(0.0) for c in cols]).collect()
        idx = (sub[LOPNR] - lo).to_numpy() if dense else sub.join(ranks, on=LOPNR, how="left")["_p"].to_numpy()
        where = np.full(size, k, dtype=np.intp)
        where[idx] = sub["_g"].to_numpy()
        values = {}
        for c in cols:
            v = np.zeros(size)
            v[idx] = sub[c].to_numpy()
            values[c] = v
        return where, values, per_group(where), {c: per_group(where, values[c]) for c in cols}

    frames = []
    g0, v0, n0, t0 = year(years[0])
    for y0, y1 in zip(years[:-1], years[1:], strict=True):
        g1, v1, n1, t1 = year(y1)
        gs = np.where(g0 == g1, g1, k)  # stayers' group (nowhere both years lands in bin k)
        seen = (n0 + n1) > 0  # an area anyone lived in either year
        frame: dict = {"grupp": names.filter(pl.Series(seen)), "fran_ar": y0, "till_ar": y1}
        for c in cols:
            s0, s1 = per_group(gs, v0[c]), per_group(gs, v1[c])
            frame.update({f"{c}__S0": s0[seen], f"{c}__S1": s1[seen], f"{c}__I": (t1[c] - s1)[seen], f"{c}__O": (t0[c] - s0)[seen]})
        frames.append(pl.DataFrame(frame, schema_overrides={"fran_ar": pl.Int64, "till_ar": pl.Int64}))
        g0, v0, n0, t0 = g1, v1, n1, t1
    return pl.concat(frames)

def _parts(w: pl.DataFrame, name: str, num: str, den: str, scale: float) -> pl.DataFrame:
    c = lambda suffix, x: pl.col(f"{x}__{suffix}")
    d0 = c("S0", den) + c("O", den)
    d1 = c("S1", den) + c("I", den)
    r0 = pl.when(d0 > 0).then((c("S0", num) + c("O", num)) / d0 * scale)
    r1 = pl.when(d1 > 0).then((c("S1", num) + c("I", num)) / d1 * scale)
    rs0 = pl.when(c("S0", den) > 0).then(c("S0", num) / c("S0", den) * scale)
    rs1 = pl.when(c("S1", den) > 0).then(c("S1", num) / c("S1", den) * scale)
    df = w.select(
        "grupp", pl.lit(name).alias("matt"), r0.alias("varde_fran"), r1.alias("varde_till"),
        rs0.alias("_rs0"), rs1.alias("_rs1"),
        c("S1", den).alias("antal_kvarboende"), c("I", den).alias("antal_inflyttade"), c("O", den).alias("antal_utflyttade"),
    )
    both = pl.col("_rs0").is_not_null() & pl.col("_rs1").is_not_null()
    return df.with_columns(forandring=pl.col("varde_till") - pl.col("varde_fran")).with_columns(
        kvarboende=pl.when(both).then(pl.col("_rs1") - pl.col("_rs0")).otherwise(pl.when(pl.col("forandring").is_not_null()).then(0.0)),
        inflyttade=pl.when(both).then(pl.col("varde_till") - pl.col("_rs1")).otherwise(pl.col("forandring")),
        utflyttade=pl.when(both).then(pl.col("_rs0") - pl.col("varde_fran")).otherwise(pl.when(pl.col("forandring").is_not_null()).then(0.0)),
        uppdelning=pl.when(pl.col("forandring").is_null()).then(pl.lit("saknas: ingen i måttets population ena året"))
        .when(both).then(pl.lit("kvarboende, inflyttade, utflyttade"))
        .otherwise(pl.lit("inga kvarboende i måttets population: hela förändringen räknas som omflyttning")),
    ).drop("_rs0", "_rs1")


def method_ratios(follow_up) -> dict[str, tuple[str, str, float]]:
    """The follow-up's factors whose numerator and denominator are microdata variables:
    factor id -> (numerator variable, denominator variable, scale)."""
    method = follow_up.method.method
    out = {}
    for f in follow_up.factors:
        if not f.aggregable:
            continue
        num, den = method.indata.get(f.taljare), method.indata.get(f.namnare)
        if num is None or den is None:
            continue
        nv, dv = num.variabel or f.taljare, den.variabel or f.namnare
        if nv in ag.VARIABLE_NAMES and dv in ag.VARIABLE_NAMES and num.perioder == [0] and den.perioder == [0]:
            out[f.id] = (nv, dv, f.skala)
    return out


def protect(parts: pl.DataFrame, min_antal: int) -> pl.DataFrame:
    """Parts resting on fewer than `min_antal` persons are hidden (null) and marked, as in
    the aggregation's disclosure control: a part about three in-movers would tell about them."""
    hide = {
        "kvarboende": pl.col("antal_kvarboende") < min_antal,
        "inflyttade": pl.col("antal_inflyttade") < min_antal,
        "utflyttade": pl.col("antal_utflyttade") < min_antal,
    }
    any_hidden = pl.any_horizontal(*hide.values())
    return parts.with_columns(
        *[pl.when(cond).then(None).otherwise(pl.col(name)).alias(name) for name, cond in hide.items()],
        *[pl.when(pl.col(c) < min_antal).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("antal_kvarboende", "antal_inflyttade", "antal_utflyttade")],
        skyddad=any_hidden,
    )


def follow_up_movers(follow_up, microdata: str | os.PathLike[str], min_antal: int | None = None) -> pl.DataFrame:
    """flyttningar.csv: for each factor measurable in the microdata, the split of each area's
    change between consecutive years (every RegSO listed either year), and the same for all
    areas listed the later year together and for the whole country. Parts resting on fewer
    than `min_antal` persons are hidden (disclosure control)."""
    from utanforskap.settings import load as load_settings

    ratios = method_ratios(follow_up)
    if not ratios:
        raise InputError(f"{follow_up.method.source}: ingen av metodens faktorer räknas ur mikrodata; flyttare och kvarboende kan inte delas upp")
    cols = sorted({c for num, den, _ in ratios.values() for c in (num, den)})
    values = person_values(microdata, cols)
    have = set(values["ar"].unique().to_list())
    missing = [y for y in follow_up.years if y not in have]
    if missing:
        raise InputError(f"{microdata}: mikrodata saknar år {', '.join(map(str, missing))} (har {', '.join(map(str, sorted(have)))})")
    values = values.filter(pl.col("ar").is_in(follow_up.years))
    deso = geography.areas("deso").select(pl.col("deso_kod").alias("deso"), pl.col("regso_kod"))
    per_area = decompose(values, ratios, follow_up.years, groups=deso.rename({"regso_kod": "grupp"}))
    listed = follow_up.areas.filter(pl.col("klass").is_not_null()).select("regso_kod", "ar")
    pair_listed = pl.concat([
        listed.select("regso_kod", pl.col("ar").alias("fran_ar")).with_columns(till_ar=pl.col("fran_ar") + 1),
        listed.select("regso_kod", pl.col("ar").alias("till_ar")).with_columns(fran_ar=pl.col("till_ar") - 1).select("regso_kod", "fran_ar", "till_ar"),
    ]).unique()  # the same column order in both: polars stacks by position
    per_area = per_area.join(pair_listed.rename({"regso_kod": "grupp"}), on=["grupp", "fran_ar", "till_ar"], how="semi")
    national = [decompose(values, ratios, follow_up.years, groups=deso.select("deso", pl.lit("riket").alias("grupp")))]
    for y0, y1 in zip(follow_up.years[:-1], follow_up.years[1:], strict=False):
        in_list = listed.filter(pl.col("ar") == y1)["regso_kod"]
        groups = deso.filter(pl.col("regso_kod").is_in(in_list.implode())).select("deso", pl.lit("listade områden").alias("grupp"))
        if groups.height:
            national.append(decompose(values.filter(pl.col("ar").is_in([y0, y1])), ratios, [y0, y1], groups=groups))
    out = pl.concat([*national, per_area])
    names = follow_up.areas.select(pl.col("regso_kod").alias("grupp"), "regso_namn", "kommun_namn").unique("grupp")
    out = out.join(names, on="grupp", how="left").rename({"matt": "faktor"})
    n = min_antal if min_antal is not None else load_settings().min_antal
    return protect(out, n).with_columns(datakalla=pl.lit(f"{follow_up.label}; mikrodata {Path(microdata).name}"))
