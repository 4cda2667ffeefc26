"""Compare a method's outputs with a published file, cell by cell, at published precision."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from utanforskap.errors import InputError
from utanforskap.methods import data, engine, loader


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
        out.append(ColumnAgreement(col, joined.height, int(same["lika"].sum()), first))
    return out


def _text(expr: pl.Expr, decimals: int | None) -> pl.Expr:
    """The value in units of the last published decimal, as text (vectorised)."""
    num = expr.cast(pl.Float64, strict=False)
    scaled = num if decimals is None else num * 10.0**decimals
    return scaled.round(0).cast(pl.Int64).cast(pl.String)


# The published files and the cells compared: method id, key, columns -> decimals (None: integer).
def svi_columns(columns: list[str]) -> dict[str, int | None]:
    """Every official SVI output column: EPL/SPL/RPL at 4 decimals, flags as integers."""
    return {c: (4 if c.startswith(("EPL_", "SPL_", "RPL_")) else None) for c in columns if c.startswith(("EPL_", "SPL_", "RPL_", "F_"))}


PUBLISHED = {
    "cdc-svi-2022": ("FIPS", svi_columns),
    "england-imd-2025": ("lsoa21_code", lambda cols: {"IMD_score": 3, "IMD_rank": None, "IMD_decile": None}),
}


def check_published(method_id: str, path: str | Path) -> list[ColumnAgreement]:
    """Run a shipped peer method on its published file and compare every official cell."""
    key, columns = PUBLISHED[method_id]
    loaded = loader.load(method_id)
    official = data.read_table(path)
    ours = engine.output_frame(loaded, engine.run(loaded, data.prepare(loaded, official, str(path)), source=str(path)))
    return compare(ours, official, key, columns(official.columns))
