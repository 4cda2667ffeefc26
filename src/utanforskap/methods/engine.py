"""Run a validated method on a table of areas."""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import polars as pl

from utanforskap.errors import InputError, MethodError
from utanforskap.methods import model as m
from utanforskap.methods.loader import BOOLEAN, LoadedMethod
from utanforskap.methods.steps import Check, Context, build


def resolve_parameters(loaded: LoadedMethod, overrides: dict[str, float] | None = None) -> dict[str, m.ParameterValue]:
    """Parameter values after overrides; an unknown override is an error."""
    declared = loaded.method.parametrar
    values: dict[str, m.ParameterValue] = {name: p.varde for name, p in declared.items()}
    for name, value in (overrides or {}).items():
        if name not in declared:
            raise MethodError(
                f"{loaded.source}: okänd parameter {name!r} att ändra; metoden har: {', '.join(declared) or 'inga'}"
            )
        number = float(value)
        if not math.isfinite(number):
            raise InputError(f"parametern {name}: {value!r} är inte ett ändligt tal; ange ett vanligt tal, t.ex. {name}=0.8")
        values[name] = number
    return values


@dataclass(frozen=True)
class Plan:
    """A method's compiled expressions for one set of parameter values: built once, run on
    any number of tables (the robustness and calibration work runs the engine many times)."""

    layers: tuple[tuple[pl.Expr, ...], ...]  # one with_columns per dependency layer
    checks: tuple[Check, ...]  # data conditions to verify after the run


# Plans per loaded method (by identity; dropped with the method) and parameter values,
# the most recently used PLANS_PER_METHOD kept: random draws of parameters do not pile up.
PLANS_PER_METHOD = 64
_plans: dict[int, OrderedDict[tuple[object, ...], Plan]] = {}


def _freeze(values: dict[str, m.ParameterValue]) -> tuple[object, ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in values.items()))


def plan(loaded: LoadedMethod, parameters: dict[str, m.ParameterValue]) -> Plan:
    """The compiled plan of `loaded` with resolved `parameters` (cached)."""
    cache = _plans.get(id(loaded))
    if cache is None:
        cache = _plans[id(loaded)] = OrderedDict()
        weakref.finalize(loaded, _plans.pop, id(loaded), None)
    key = _freeze(parameters)
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
        return found
    method = loaded.method
    ctx = Context(method=method, parameters=dict(parameters))
    layers = tuple(tuple(build(method.steg[i], ctx) for i in layer) for layer in loaded.layers)
    compiled = cache[key] = Plan(layers=layers, checks=tuple(ctx.checks))
    if len(cache) > PLANS_PER_METHOD:
        cache.popitem(last=False)
    return compiled


def run(
    loaded: LoadedMethod,
    data: pl.DataFrame,
    *,
    parameters: dict[str, float] | None = None,
    keep_all: bool = False,
    source: str | None = None,
) -> pl.DataFrame:
    """Compute every step of the method over `data` (prepared by methods.data.prepare).

    Returns the key (and period) column and the declared outputs, or every input and
    step column when `keep_all`. `source` names the data in error messages.
    """
    method = loaded.method
    compiled = plan(loaded, resolve_parameters(loaded, parameters))
    # Eager, one with_columns per dependency layer: the steps of a layer run in parallel,
    # and measured on the SVI this is a third faster than one lazy plan of stacked layers.
    result = data
    if method.period:
        # Window steps read neighbouring rows: each area's periods must be adjacent and ordered.
        result = result.sort([method.nyckel, method.period])
    for exprs in compiled.layers:
        result = result.with_columns(exprs)
    if compiled.checks:
        _raise_first_violation(source or loaded.id, result, compiled.checks)
    if keep_all:
        return result
    ids = [method.nyckel] + ([method.period] if method.period else [])
    return result.select(ids + [c for c in method.utdata.kolumner if c not in ids])


def _raise_first_violation(source: str, result: pl.DataFrame, checks: tuple[Check, ...]) -> None:
    """The first broken data condition (e.g. a numerator above its denominator), as an error.
    Every condition is tested in one query; the offending row is looked up only when one fails."""
    broken = result.select(check.violation.any().alias(str(i)) for i, check in enumerate(checks)).row(0)
    for check in (c for c, b in zip(checks, broken, strict=True) if b):
        rows = result.filter(check.violation)
        if rows.height:
            raise InputError(f"{source}: {check.message(rows.row(0, named=True))}")


def output_frame(loaded: LoadedMethod, result: pl.DataFrame) -> pl.DataFrame:
    """Outputs as written to a file: flags as 0/1, missing as the method's code."""
    out = loaded.method.utdata
    cols = []
    for name in result.columns:
        c = pl.col(name)
        if loaded.kinds.get(name) == BOOLEAN:
            c = c.cast(pl.Int8)
        if out.saknat_varde is not None and name != loaded.method.nyckel:
            dtype = result.schema[name]
            code = out.saknat_varde
            if dtype == pl.String:
                c = c.fill_null(str(code))
            elif isinstance(code, (int, float)) and float(code).is_integer():
                c = c.fill_null(int(code)) if dtype.is_integer() or loaded.kinds.get(name) == BOOLEAN else c.fill_null(float(code))
            else:
                c = c.fill_null(code)
        cols.append(c.alias(name))
    return result.select(cols)


def describe_parameters(loaded: LoadedMethod) -> list[dict[str, object]]:
    """Parameters with value and provenance, for listings and reports."""
    rows: list[dict[str, object]] = []
    for name, p in loaded.method.parametrar.items():
        rows.append(
            {
                "parameter": name,
                "varde": p.varde,
                "enhet": p.enhet,
                "proveniens": p.proveniens,
                "motivering": p.motivering or p.kalla,
            }
        )
    return rows


def provenance_summary(method: m.Method) -> str:
    """The method's provenance, e.g. 'officiell', or 'antagen (10 av 10 parametrar ej officiella)'."""
    assumed = sum(1 for p in method.parametrar.values() if p.proveniens != "officiell")
    if assumed == 0:
        return method.proveniens
    return f"{method.proveniens} ({assumed} av {len(method.parametrar)} parametrar ej officiella)"
