"""Aggregation up the area hierarchy DeSO -> RegSO -> kommun -> län -> riket.

Driven by each variable's ``aggregering`` in the catalogue:

* ``summa``: the parent's value is the sum of its children's values.
* ``kvot``: numerators and denominators are summed; value = taljare / namnare.
  Rates are never averaged.
* ``ej``: not aggregated; every parent that has children with the variable gets a row
  with a null value and status ``ej_aggregerbar``, so that the absence is explicit.

Rules for unknown values (decided here, tested in tests/test_aggregate.py):

* A child with a null value (suppressed ``..``, missing) makes the parent unknown: the
  parent's value (and, for kvot, numerator and denominator) is null and its status is the
  most severe status among the children (skyddad > skyddad_sekundar > undertryckt >
  saknas); a null without a status counts as ``saknas``. We never treat a suppressed cell
  as zero, and never publish a partial sum as if it were a total.
* A parent must have a row for every child at the variable's base level (its smallest
  level in the input); otherwise its value is null with status ``saknas``.
* Rows at a larger level than the variable's base level are *additional* contributions
  (e.g. crimes with a kommun but no DeSO): they are added to that area and to its parents.
* A non-null value whose row carries a status (e.g. ``saknas`` for crimes without a DeSO
  code) passes that status on to its parents.

Everything is vectorised: one join and one group-by per pair of levels.
"""

from __future__ import annotations

import polars as pl

from utanforskap.catalogue import Catalogue
from utanforskap.errors import InputError
from utanforskap.geography.hierarchy import Geography
from utanforskap.observations import schema

# Most severe first; a parent takes the most severe status among its children.
STATUS_PRIORITY = ("skyddad", "skyddad_sekundar", "undertryckt", "saknas", "ej_aggregerbar")
_GROUP = ["omrade", "niva", "period", "variabel"]


def aggregate(obs: pl.DataFrame, catalogue: Catalogue, geo: Geography, where: str = "aggregering") -> pl.DataFrame:
    """Return `obs` plus every larger level's rows, in the observation schema.

    Input rows at a level are kept (combined with any contributions from below);
    every larger level up to riket gets one row per area that has children in the input.
    """
    obs = schema.conform(obs, where)
    if obs.is_empty():
        return obs
    agg = _aggregation_kinds(obs, catalogue, where)
    obs = obs.join(agg, on="variabel", how="left")
    base = obs.group_by("variabel").agg(
        pl.col("niva").replace_strict(_LEVEL_INDEX, return_dtype=pl.Int32).min().alias("_bas")
    )
    obs = obs.join(base, on="variabel").with_columns(
        _niva_i=pl.col("niva").replace_strict(_LEVEL_INDEX, return_dtype=pl.Int32)
    )

    contributions = []
    for src_i, src in enumerate(schema.LEVELS):
        rows = obs.filter(pl.col("_niva_i") == src_i)
        if rows.is_empty():
            continue
        for tgt in schema.LEVELS[src_i:]:
            contributions.append(_lift(rows, src, tgt, geo, where))
    contrib = pl.concat(contributions, how="vertical")

    severity = pl.col("status").replace_strict(_SEVERITY, default=None, return_dtype=pl.Int32)
    grouped = contrib.group_by(_GROUP).agg(
        pl.col("_agg").first(),
        pl.col("enhet").first(),
        pl.col("kalla").unique().sort().str.join(", "),
        pl.col("taljare").sum().alias("_t"),
        pl.col("namnare").sum().alias("_n"),
        pl.col("varde").sum().alias("_v"),
        pl.col("varde").first().alias("_v1"),
        pl.col("taljare").first().alias("_t1"),
        pl.col("namnare").first().alias("_n1"),
        (pl.col("_fran_bas") & pl.col("_barn")).sum().alias("_bas_barn"),
        pl.col("_fran_bas").any().alias("_har_bas"),
        pl.col("_barn").any().alias("_aggregerad"),
        pl.col("varde").is_null().any().alias("_null_v"),
        (pl.col("taljare").is_null() | pl.col("namnare").is_null()).any().alias("_null_kvot"),
        severity.min().alias("_sev"),
        severity.filter(pl.col("varde").is_null()).min().alias("_sev_null"),
    )
    # How many base-level children each parent ought to have.
    expected = _expected_children(grouped, base, geo)
    grouped = grouped.join(expected, on=["omrade", "niva", "variabel"], how="left")

    incomplete = pl.col("_har_bas") & pl.col("_aggregerad") & (pl.col("_bas_barn") < pl.col("_vantat"))
    is_kvot = pl.col("_agg") == "kvot"
    is_ej = pl.col("_agg") == "ej"
    unknown = incomplete | pl.when(is_kvot).then(pl.col("_null_kvot")).otherwise(pl.col("_null_v"))
    single_input = ~pl.col("_aggregerad")  # only the area's own row: keep it exactly as given
    taljare = pl.when(single_input).then(pl.col("_t1")).when(is_kvot & ~unknown).then(pl.col("_t"))
    namnare = pl.when(single_input).then(pl.col("_n1")).when(is_kvot & ~unknown).then(pl.col("_n"))
    varde = (
        pl.when(single_input)
        .then(pl.col("_v1"))
        .when(is_ej | unknown)
        .then(None)
        .when(is_kvot)
        .then(pl.when(pl.col("_n") > 0).then(pl.col("_t") / pl.col("_n")))
        .otherwise(pl.col("_v"))
    )
    status_code = (
        pl.when(is_ej & pl.col("_aggregerad"))
        .then(pl.lit(_SEVERITY["ej_aggregerbar"]))
        .when(incomplete)
        .then(pl.lit(_SEVERITY["saknas"]))
        .when(unknown)
        .then(pl.coalesce("_sev_null", pl.lit(_SEVERITY["saknas"])))
        .otherwise(pl.col("_sev"))
    )
    out = grouped.select(
        "omrade",
        "niva",
        "period",
        "variabel",
        taljare.alias("taljare"),
        namnare.alias("namnare"),
        varde.alias("varde"),
        "enhet",
        "kalla",
        status_code.replace_strict(_STATUS_OF, default=None, return_dtype=pl.String).alias("status"),
    )
    out = out.with_columns(_i=pl.col("niva").replace_strict(_LEVEL_INDEX, return_dtype=pl.Int32))
    out = out.sort("_i", "variabel", "period", "omrade").drop("_i")
    return schema.conform(out, where)


_LEVEL_INDEX = {lv: i for i, lv in enumerate(schema.LEVELS)}
_SEVERITY = {s: i for i, s in enumerate(STATUS_PRIORITY)}
_STATUS_OF = {i: s for s, i in _SEVERITY.items()}


def _aggregation_kinds(obs: pl.DataFrame, catalogue: Catalogue, where: str) -> pl.DataFrame:
    kinds = pl.DataFrame(
        {
            "variabel": list(catalogue.variabel),
            "_agg": [v.aggregering for v in catalogue.variabel.values()],
        },
        schema={"variabel": pl.String, "_agg": pl.String},
    )
    unknown = obs.select("variabel").unique().join(kinds, on="variabel", how="anti")
    if unknown.height:
        raise InputError(
            f"{where}: variabeln {unknown['variabel'].sort()[0]!r} finns inte i katalogen (katalog.toml); "
            "lägg till den med sin aggregering"
        )
    return kinds


def _lift(rows: pl.DataFrame, src: str, tgt: str, geo: Geography, where: str) -> pl.DataFrame:
    """Rows of level `src` as contributions to their areas of level `tgt`."""
    flags = {"_fran_bas": pl.col("_niva_i") == pl.col("_bas"), "_barn": pl.lit(src != tgt)}
    if src == tgt:  # riket only ever meets itself: aggregate() lifts to the same or larger levels
        return rows.with_columns(**flags).select(_CONTRIB_COLUMNS)
    mapping = geo.mapping(src, tgt).rename({f"{src}_kod": "omrade", f"{tgt}_kod": "_mal"})
    joined = rows.join(mapping, on="omrade", how="left")
    orphans = joined.filter(pl.col("_mal").is_null())
    if orphans.height:
        raise InputError(
            f"{where}: okänd {src}-kod {orphans['omrade'][0]!r} ({orphans['variabel'][0]}, {orphans['period'][0]}); "
            "koden finns inte i geografin"
        )
    return (
        joined.with_columns(**flags)
        .with_columns(omrade=pl.col("_mal"), niva=pl.lit(tgt))
        .select(_CONTRIB_COLUMNS)
    )


_CONTRIB_COLUMNS = [*schema.COLUMNS, "_agg", "_fran_bas", "_barn"]


def _expected_children(grouped: pl.DataFrame, base: pl.DataFrame, geo: Geography) -> pl.DataFrame:
    """For each (parent area, level, variable): the number of children at the variable's base level."""
    frames = []
    for b_i, b in enumerate(schema.LEVELS[:-1]):
        variables = base.filter(pl.col("_bas") == b_i).select("variabel")
        if variables.is_empty():
            continue
        for tgt in schema.LEVELS[b_i + 1 :]:
            counts = (
                geo.mapping(b, tgt)
                .group_by(f"{tgt}_kod")
                .agg(pl.len().alias("_vantat"))
                .rename({f"{tgt}_kod": "omrade"})
                .with_columns(niva=pl.lit(tgt), _vantat=pl.col("_vantat").cast(pl.UInt32))
            )
            frames.append(counts.join(variables, how="cross"))
    if not frames:
        return pl.DataFrame(
            schema={"omrade": pl.String, "_vantat": pl.UInt32, "niva": pl.String, "variabel": pl.String}
        )
    return pl.concat(frames, how="vertical")
