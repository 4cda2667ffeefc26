"""The engine compiles a method once per parameter values and reuses the plan (issue 16).

The table is SYNTETISKA DATA made up for the test.
"""

import gc

import numpy as np
import polars as pl

from utanforskap.methods import data, engine, loader
from utanforskap.methods.steps import Context, build

SVI = "tests/data/conformance/SVI_2022_US_county.csv"


def _fresh(loaded, table, parameters=None):
    """The engine's computation without any cache: every expression built anew."""
    ctx = Context(method=loaded.method, parameters=engine.resolve_parameters(loaded, parameters))
    out = table
    for layer in loaded.layers:
        out = out.with_columns([build(loaded.method.steg[i], ctx) for i in layer])
    return out


def test_plan_is_built_once_per_parameter_values_and_gives_the_uncached_result():
    loaded = loader.load("cdc-svi-2022")
    table = data.prepare(loaded, data.read_table(SVI), SVI)
    first = engine.plan(loaded, engine.resolve_parameters(loaded))
    assert engine.plan(loaded, engine.resolve_parameters(loaded)) is first
    for _ in range(2):  # the second run takes the cached plan
        got = engine.run(loaded, table, keep_all=True)
        assert got.equals(_fresh(loaded, table), null_equal=True)


def test_changed_parameters_get_their_own_plan():
    loaded = loader.load("se-utanforskap-2024")
    name, p = next((n, p) for n, p in loaded.method.parametrar.items() if isinstance(p.varde, (int, float)))
    base = engine.plan(loaded, engine.resolve_parameters(loaded))
    other = engine.plan(loaded, engine.resolve_parameters(loaded, {name: float(p.varde) * 2 + 1}))
    assert other is not base
    assert engine.plan(loaded, engine.resolve_parameters(loaded)) is base


def test_plans_are_bounded_and_dropped_with_the_method():
    loaded = loader.load("se-utanforskap-2024")
    name, p = next((n, p) for n, p in loaded.method.parametrar.items() if isinstance(p.varde, (int, float)))
    for v in np.linspace(0, 1, engine.PLANS_PER_METHOD + 10):
        engine.plan(loaded, engine.resolve_parameters(loaded, {name: float(v)}))
    assert len(engine._plans[id(loaded)]) == engine.PLANS_PER_METHOD
    key = id(loaded)
    del loaded
    gc.collect()
    assert key not in engine._plans


def test_run_on_a_second_table_uses_that_table():
    loaded = loader.load("cdc-svi-2022")
    table = data.prepare(loaded, data.read_table(SVI), SVI)
    a = engine.run(loaded, table)
    b = engine.run(loaded, table.head(100))
    assert b.height == 100
    assert isinstance(a, pl.DataFrame) and a.height == table.height
