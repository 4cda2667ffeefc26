"""The evidence-and-gap map and the lägesbild of the work.

    matrix(db, kommun=None)        problem variables x sectors: measures and evaluated measures
    area_gaps(db, result)          every listed area x each of its flagged factors: which
                                   published measures address it (in the area, in its kommun,
                                   nationally) and where nothing local does (a gap)
    summarize(gaps, by)            the same counted per kommun, län or for the whole country
    similar_measures(db, result, regso)  measures from areas with a similar profile

Only published measures count, and never EXEMPEL rows. Columnar (polars joins); one
query per table, no loop over areas.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import select

from utanforskap.metodbank.db import Database
from utanforskap.metodbank.models import Insats, InsatsKommun, InsatsOmrade, InsatsProblem, InsatsSektor, Utvardering
from utanforskap.metodbank.rules import rules, vocab
from utanforskap.results.karta import MapResult

GRADE_ORDER = ["stark", "god", "lovande", "ingen-effekt-visad", "uppfoljd", "ej-utvarderad", "skadlig"]


def _frame(db: Database, stmt, schema: dict) -> pl.DataFrame:
    with db.session() as s:
        rows = s.execute(stmt).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def published_tables(db: Database) -> dict[str, pl.DataFrame]:
    """The published real measures and their kommuner, areas, problems, sectors."""
    live = (Insats.status == "publicerad") & Insats.exempel.is_(False)
    measures = _frame(
        db,
        select(Insats.id, Insats.namn, Insats.niva, Insats.evidensgrad, select(Utvardering.id).where(Utvardering.insats_id == Insats.id).exists()).where(live),
        {"insats_id": pl.Int64, "namn": pl.String, "niva": pl.String, "evidensgrad": pl.String, "utvarderad": pl.Boolean},
    )
    ids = select(Insats.id).where(live)
    return {
        "insatser": measures,
        "problem": _frame(db, select(InsatsProblem.insats_id, InsatsProblem.problem).where(InsatsProblem.insats_id.in_(ids)), {"insats_id": pl.Int64, "problem": pl.String}),
        "sektorer": _frame(db, select(InsatsSektor.insats_id, InsatsSektor.sektor).where(InsatsSektor.insats_id.in_(ids)), {"insats_id": pl.Int64, "sektor": pl.String}),
        "kommuner": _frame(db, select(InsatsKommun.insats_id, InsatsKommun.kommun_kod).where(InsatsKommun.insats_id.in_(ids)), {"insats_id": pl.Int64, "kommun_kod": pl.String}),
        "omraden": _frame(db, select(InsatsOmrade.insats_id, InsatsOmrade.regso_kod).where(InsatsOmrade.insats_id.in_(ids)), {"insats_id": pl.Int64, "regso_kod": pl.String}),
    }


def matrix(db: Database, kommun: str | None = None, tables: dict | None = None) -> pl.DataFrame:
    """One row per problem variable x sector: `insatser` (published measures addressing the
    problem in the sector) and `utvarderade` (of them, with at least one evaluation). With
    `kommun`: the kommun's own measures and the national ones."""
    t = tables or published_tables(db)
    m = t["insatser"]
    if kommun:
        local = t["kommuner"].filter(pl.col("kommun_kod") == kommun)["insats_id"]
        m = m.filter(pl.col("insats_id").is_in(local.implode()) | (pl.col("niva") == "nationell"))
    v = vocab()
    grid = pl.DataFrame({"problem": list(v.problem)}).join(pl.DataFrame({"sektor": list(v.sektorer)}), how="cross")
    counts = (
        m.join(t["problem"], on="insats_id").join(t["sektorer"], on="insats_id")
        .group_by("problem", "sektor")
        .agg(pl.len().alias("insatser"), pl.col("utvarderad").sum().alias("utvarderade"))
    )
    return grid.join(counts, on=["problem", "sektor"], how="left").with_columns(
        pl.col("insatser").fill_null(0).cast(pl.Int64), pl.col("utvarderade").fill_null(0).cast(pl.Int64)
    )


def flagged(result: MapResult) -> pl.DataFrame:
    """Every listed area x each of its flagged factors that is a problem variable."""
    problems = vocab().problem
    factors = [f for f in result.factors if f.flagga and f.id in problems and f.flagga in result.areas.columns]
    base = ["regso_kod", "regso_namn", "kommun_kod", "kommun_namn", "lan_kod", "lan_namn", "befolkning"]
    if not factors:
        return pl.DataFrame(schema={**{c: pl.String for c in base}, "befolkning": pl.Int64, "faktor": pl.String})
    listed = result.listed.select(*base, *[pl.col(f.flagga).alias(f.id) for f in factors])
    return (
        listed.unpivot(index=base, on=[f.id for f in factors], variable_name="faktor", value_name="flaggad")
        .filter(pl.col("flaggad").fill_null(False))
        .drop("flaggad")
        .with_columns(pl.col("befolkning").cast(pl.Int64))
    )


def area_gaps(db: Database, result: MapResult, tables: dict | None = None) -> pl.DataFrame:
    """For every listed area and flagged factor: measure ids (and counts) in the area, in its
    kommun, and nationally; `lucka` when no measure in the area or its kommun addresses it."""
    t = tables or published_tables(db)
    f = flagged(result)
    prob = t["problem"]
    in_area = (
        t["omraden"].join(prob, on="insats_id")
        .group_by("regso_kod", "problem").agg(pl.col("insats_id").sort().alias("i_omradet"))
    )
    in_kommun = (
        t["kommuner"].join(prob, on="insats_id")
        .group_by("kommun_kod", "problem").agg(pl.col("insats_id").sort().alias("i_kommunen"))
    )
    national = (
        t["insatser"].filter(pl.col("niva") == "nationell").select("insats_id").join(prob, on="insats_id")
        .group_by("problem").agg(pl.col("insats_id").sort().alias("nationellt"))
    )
    out = (
        f.join(in_area, left_on=["regso_kod", "faktor"], right_on=["regso_kod", "problem"], how="left")
        .join(in_kommun, left_on=["kommun_kod", "faktor"], right_on=["kommun_kod", "problem"], how="left")
        .join(national, left_on="faktor", right_on="problem", how="left")
    )
    empty = pl.lit([], dtype=pl.List(pl.Int64))
    out = out.with_columns(*(pl.col(c).fill_null(empty) for c in ("i_omradet", "i_kommunen", "nationellt")))
    return out.with_columns(
        pl.col("i_omradet").list.len().alias("antal_i_omradet"),
        pl.col("i_kommunen").list.len().alias("antal_i_kommunen"),
        pl.col("nationellt").list.len().alias("antal_nationellt"),
        ((pl.col("i_omradet").list.len() == 0) & (pl.col("i_kommunen").list.len() == 0)).alias("lucka"),
    ).sort("lan_kod", "kommun_kod", "regso_kod", "faktor")


def summarize(gaps: pl.DataFrame, by: str | None) -> pl.DataFrame:
    """Counts of flagged (area, factor) pairs, those a local measure addresses and the gaps,
    per kommun (`kommun`), per län (`lan`) or for the country (None)."""
    keys = {"kommun": ["kommun_kod", "kommun_namn"], "lan": ["lan_kod", "lan_namn"], None: []}[by]
    aggs = [
        pl.col("regso_kod").n_unique().alias("listade_omraden"),
        pl.len().alias("flaggade_faktorer"),
        (~pl.col("lucka")).sum().alias("med_lokal_insats"),
        pl.col("lucka").sum().alias("luckor"),
    ]
    if not keys:
        return gaps.select(aggs)
    return gaps.group_by(keys).agg(aggs).sort(keys)


def gaps_by_factor(gaps: pl.DataFrame) -> pl.DataFrame:
    return gaps.group_by("faktor").agg(pl.len().alias("flaggade_omraden"), pl.col("lucka").sum().alias("luckor"), pl.col("antal_nationellt").first().alias("nationella_insatser")).sort("faktor")  # noqa: E501 (Swedish text for users)


def similar_measures(db: Database, result: MapResult, regso: str, limit: int = 10, tables: dict | None = None) -> pl.DataFrame:
    """Published measures in other listed areas whose flagged factors include all of this
    area's, that address at least one of those factors; best evidence first."""
    t = tables or published_tables(db)
    f = flagged(result)
    mine = f.filter(pl.col("regso_kod") == regso)["faktor"].to_list()
    if not mine:
        return pl.DataFrame(schema={"insats_id": pl.Int64, "namn": pl.String, "evidensgrad": pl.String, "omraden": pl.List(pl.String)})
    profiles = f.group_by("regso_kod").agg(pl.col("faktor"))
    similar = profiles.filter(
        (pl.col("regso_kod") != regso) & (pl.col("faktor").list.set_intersection(mine).list.len() == len(mine))
    )["regso_kod"]
    rank = {g: n for n, g in enumerate(GRADE_ORDER)}
    hits = (
        t["omraden"].filter(pl.col("regso_kod").is_in(similar.implode()))
        .join(t["problem"].filter(pl.col("problem").is_in(mine)), on="insats_id")
        .group_by("insats_id").agg(pl.col("regso_kod").unique().sort().alias("omraden"))
        .join(t["insatser"], on="insats_id")
        .with_columns(pl.col("evidensgrad").replace_strict(rank, default=len(rank)).alias("_rank"))
        .sort("_rank", "namn").head(limit)
    )
    return hits.select("insats_id", "namn", "evidensgrad", "omraden")


def grade_text(grad: str) -> str:
    return rules().grader.get(grad, grad)


def export_gaps(db: Database, result: MapResult, target) -> int:
    """The lägesbild as a file (.csv or .xlsx): one row per listed area and flagged factor,
    with the published measures' ids in the area, in the kommun and nationally, and `lucka`."""
    from pathlib import Path

    from utanforskap.atomic import atomic_path
    from utanforskap.errors import InputError

    target = Path(target)
    g = area_gaps(db, result)
    names = vocab().problem
    flat = g.with_columns(
        pl.col("faktor").replace_strict(names, default=pl.col("faktor")).alias("faktor_namn"),
        *(pl.col(c).list.eval(pl.element().cast(pl.String)).list.join(";").alias(c) for c in ("i_omradet", "i_kommunen", "nationellt")),
        pl.lit(result.method.id).alias("metod"),
        pl.lit(result.year).alias("ar"),
    )
    with atomic_path(target) as tmp:
        if target.suffix.lower() == ".csv":
            flat.write_csv(tmp)
        elif target.suffix.lower() == ".xlsx":
            flat.write_excel(tmp, worksheet="luckor")
        else:
            raise InputError(f"{target}: okänt format {target.suffix!r}; ange .csv eller .xlsx")
    return g.height
