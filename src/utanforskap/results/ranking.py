"""Each area's rank among its kommun's areas on each factor (the kommun page's ranking).

Rank 1 is the area furthest on the flag's side: the lowest value where the flag is "at most"
(e.g. employment ≤ a limit), the highest where it is "at least". Ties share the best rank
("min"); areas without a value get no rank and do not count in `antal`.
"""

from __future__ import annotations

import polars as pl

from utanforskap.results.karta import MapResult, memo


def rank_column(varde: str) -> str:
    return f"{varde}_rang"


def count_column(varde: str) -> str:
    return f"{varde}_antal"


def within_kommun(result: MapResult) -> pl.DataFrame:
    """regso_kod, kommun_kod, and per measured factor `<värde>_rang` and `<värde>_antal`."""

    def make() -> pl.DataFrame:
        exprs: list[pl.Expr] = []
        for f in result.factors:
            if not f.measured or f.varde not in result.areas.columns:
                continue
            worst_high = f.operator in (">=", ">")
            value = pl.col(f.varde).cast(pl.Float64)
            exprs += [
                value.rank("min", descending=worst_high).over("kommun_kod").cast(pl.Int32).alias(rank_column(f.varde)),
                value.count().over("kommun_kod").cast(pl.Int32).alias(count_column(f.varde)),
            ]
        return result.areas.select("regso_kod", "kommun_kod", *exprs)

    return memo(result, "ranking_within_kommun", make)
