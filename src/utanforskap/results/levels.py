"""Factor values for whole kommuner, län and riket.

The method itself is run on the observation store's rows of that level, whose numerators
and denominators were summed up the hierarchy: so a kommun's value is computed exactly as
an area's, from the kommun's own totals, and rates are never averaged. Where the store
suppresses a kommun's figure (disclosure control), its value is missing, not guessed.
"""

from __future__ import annotations

import logging

import polars as pl

from utanforskap.errors import UtanforskapError
from utanforskap.methods import engine
from utanforskap.results.inputs import method_inputs
from utanforskap.results.karta import MapResult, memo, scalar_parameters

log = logging.getLogger(__name__)

LEVELS = ("kommun", "lan", "riket")


def level_values(result: MapResult, level: str) -> pl.DataFrame:
    """`omrade` and each factor's value column, one row per area of `level`.

    Empty (with the same columns) when the store has no rows at that level for the
    method's inputs — a store of RegSO figures only, say. Computed once per map and level.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    return memo(result, ("level_values", level), lambda: _level_values(result, level))


def _level_values(result: MapResult, level: str) -> pl.DataFrame:
    wanted = [f.varde for f in result.factors if f.varde]
    key = result.method.method.nyckel
    try:
        inputs = method_inputs(result.method, result.source.store, result.year, level=level)
        values = engine.run(result.method, inputs, parameters=scalar_parameters(result), keep_all=True).select(key, *wanted)
    except UtanforskapError as exc:
        # A method whose inputs do not exist at this level (e.g. a DeSO-only variable): the
        # level gets no values, and the log says why instead of hiding it.
        log.warning("%s: inga värden på nivån %s: %s", result.method.id, level, exc)
        return pl.DataFrame(schema={"omrade": pl.String, **{c: pl.Float64 for c in wanted}})
    return values.rename({key: "omrade"})
