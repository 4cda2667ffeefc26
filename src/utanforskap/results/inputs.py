"""A method's input table read from an observation store, one row per area."""

from __future__ import annotations

from typing import cast

import polars as pl

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.methods.loader import LoadedMethod
from utanforskap.observations.store import ObservationStore

# Columns a method may declare as text inputs that come from the geography, not the store.
_GEO_LEVEL_COLUMNS = ("kommun_kod", "kommun_namn", "lan_kod", "lan_namn", "regso_kod", "regso_namn")


def method_inputs(loaded: LoadedMethod, store: ObservationStore, year: int, level: str = "regso") -> pl.DataFrame:
    """The method's inputs for every area of `level` in `year`, keyed by the method's key.

    Each input is read as its declared store variable and field (`variabel`, `falt`), summed
    over its declared years relative to `year` (`perioder`). Every area of the level is
    present; an area the store lacks gets missing values, which the method handles by its
    declared rule. A variable the store lacks entirely is an error naming it.
    """
    method = loaded.method
    areas = geography.areas(level).select(pl.col(f"{level}_kod").alias("omrade"), *_geo_columns(loaded, level))
    # (input, store variable, field, years summed) for every input read from the store
    specs = [
        (name, spec.variabel or name, spec.falt, [str(year + off) for off in spec.perioder])
        for name, spec in method.indata.items()
        if not (spec.typ == "text" and name in _GEO_LEVEL_COLUMNS)
    ]
    periods = sorted({year + off for spec in method.indata.values() for off in spec.perioder})
    variables = sorted({variable for _, variable, _, _ in specs})
    obs = store.read(niva=level, period=[str(p) for p in periods], variabler=variables)
    if obs.is_empty() and variables:
        raise InputError(f"{store.root}: observationslagret har inga uppgifter för {level} år {year}")
    # Every input summed over its declared years in one group-by: a year missing for an
    # area (or a missing value in one) makes the area's sum missing.
    parts = [
        obs.lazy()
        .filter((pl.col("variabel") == variable) & pl.col("period").is_in(years))
        .select(pl.lit(name).alias("indata"), "omrade", pl.col(field).alias("varde"), pl.lit(len(years)).alias("ar"))
        for name, variable, field, years in specs
    ]
    names = [name for name, _, _, _ in specs]
    table = areas.with_columns(pl.lit(None, dtype=pl.Float64).alias(name) for name in names)
    if parts:
        complete = (pl.len() == pl.col("ar").first()) & (pl.col("varde").null_count() == 0)
        summed = (
            pl.concat(parts, how="vertical")
            .group_by("indata", "omrade", maintain_order=True)
            .agg(pl.when(complete).then(pl.col("varde").sum()).alias("varde"))
            .collect()
        )
        if summed.height:
            wide = summed.pivot(on="indata", index="omrade", values="varde")
            table = areas.join(wide, on="omrade", how="left").select(
                *areas.columns, *(pl.col(n) if n in wide.columns else pl.lit(None, dtype=pl.Float64).alias(n) for n in names)
            )
    present = set(obs.select("variabel", "period").unique().iter_rows())
    for name, variable, _, years in specs:
        absent = [y for y in years if (variable, y) not in present]
        if absent:
            raise InputError(
                f"{store.root}: variabeln {variable} saknas för {level} år {', '.join(absent)} "
                f"(metoden {method.id}, indata {name}); välj ett annat år med --ar eller hämta uppgiften"
            )
        _refuse_not_finite(table, name, variable, store)
    return table.rename({"omrade": method.nyckel})


def _refuse_not_finite(table: pl.DataFrame, name: str, variable: str, store: ObservationStore) -> None:
    """NaN or inf from a store is an error, never a value a method flags."""
    if not table[name].dtype.is_float():
        return
    odd = table[name].is_nan() | table[name].is_infinite()
    if odd.any():
        at = int(cast(int, odd.arg_max()))  # odd.any(), so not None
        area = table["omrade"][at]
        raise InputError(
            f"{store.root}: variabeln {variable} har värdet {table[name][at]} för {area} "
            f"(indata {name}); bara ändliga tal eller tomt godtas"
        )


def _geo_columns(loaded: LoadedMethod, level: str) -> list[pl.Expr]:
    return [
        pl.col(name)
        for name, spec in loaded.method.indata.items()
        if spec.typ == "text" and name in _GEO_LEVEL_COLUMNS and name != f"{level}_kod"
    ]
