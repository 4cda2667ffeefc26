"""Compare a method's outputs with a published file, cell by cell, at published precision."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from utanforskap.errors import InputError


@dataclass(frozen=True)
class ColumnAgreement:
    kolumn: str
    celler: int
    lika: int
    forsta_avvikelse: str  # "" when every cell agrees


def compare(
    ours: pl.DataFrame,
    official: pl.DataFrame,
    key: str,
    decimals: dict[str, int | None],
) -> list[ColumnAgreement]:
    """Agreement per column. `decimals[col]` is the published precision (None: integer).

    A cell agrees when both sides are the same whole number of units of the last published
    decimal (so 0.1 and 0.10000000001 agree at 4 decimals, 0.1235 and 0.1234 do not).
    Every row of the official file must be present in ours.
    """
    off = official.select([pl.col(key).cast(pl.String)] + [pl.col(c) for c in decimals])
    joined = off.join(ours.select([pl.col(key).cast(pl.String)] + [pl.col(c) for c in decimals]),
                      on=key, how="left", suffix="__vart")
    missing = joined.filter(pl.all_horizontal(pl.col(f"{c}__vart").is_null() for c in decimals))
    if missing.height and len(decimals):
        raise InputError(f"{missing.height} områden i den officiella filen saknas i resultatet, t.ex. {missing[key][0]}")
    out = []
    for col, dec in decimals.items():
        a, b = _text(pl.col(col), dec), _text(pl.col(f"{col}__vart"), dec)
        same = joined.select(
            (a == b).fill_null(False).alias("lika"), pl.col(key), pl.col(col).alias("off"), pl.col(f"{col}__vart").alias("vart")
        )
        bad = same.filter(~pl.col("lika"))
        first = ""
        if bad.height:
            r = bad.row(0, named=True)
            first = f"{r[key]}: officiell {r['off']}, vår {r['vart']}"
        out.append(ColumnAgreement(col, joined.height, same["lika"].sum(), first))
    return out


def _text(expr: pl.Expr, decimals: int | None) -> pl.Expr:
    """The value in units of the last published decimal, as text (vectorised)."""
    num = expr.cast(pl.Float64, strict=False)
    scaled = num if decimals is None else num * 10.0**decimals
    return scaled.round(0).cast(pl.Int64).cast(pl.String)
