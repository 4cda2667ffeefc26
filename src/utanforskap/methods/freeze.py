"""Freeze a method's relative thresholds at the levels of a base year.

A relative threshold moves with the country: "0,70 × rikets andel sysselsatta" or "the 90th
percentile" is a different number every year, so a relative list stays about the same size
by construction. Freezing turns each one into an absolute value computed once, in a base
year, as a new method version whose parameters have provenance "fixerad" and say where the
value came from (base year, national value, multiple or percentile):

    raw = freeze(loaded, frame, base_year=2022, parameters=resolved)   # frame: engine keep_all
    text = to_toml(raw)

Two kinds of relative threshold are frozen:

* a `relativ` step against a national reference value (a `referens` step without groups),
  and a flag whose `grans` is such a column: the reference becomes a parameter holding the
  base year's value (exact, so the base year's flags are bit for bit the same);
* a flag on a chain of rank steps (percentile rank, rank, quantile band, z, min-max,
  winsorising, reversal, rounding) over a value: the flag becomes a comparison of that value
  with the boundary between flagged and unflagged areas in the base year.

Anything else that makes a threshold depend on the year's data (a reference computed within
groups, a flag on a sum of ranks) cannot be frozen to one number: an error names the step.
This module sees only the method and a computed frame; results/ computes the frame.
"""

from __future__ import annotations

import re
from typing import Any, cast

import polars as pl

from utanforskap.errors import MethodError
from utanforskap.methods import model as m
from utanforskap.methods.loader import LoadedMethod

# Steps whose output depends on the other areas' values (the threshold moves with the data).
_RELATIVE_STEPS = (m.PercentileRank, m.Rank, m.QuantileBand, m.ZScore, m.MinMax, m.Winsorise, m.ExponentialRank)
# Single-input steps that keep the order of values (or reverse it): a boundary survives them.
_MONOTONE_STEPS = (*_RELATIVE_STEPS, m.Reverse, m.Round, m.Log)


def freeze(loaded: LoadedMethod, frame: pl.DataFrame, base_year: int, parameters: dict[str, Any]) -> dict[str, Any]:
    """The method as a TOML-ready dict[str, Any] with every relative threshold frozen at `base_year`.

    `frame` is the engine's keep_all frame for the base year (every input and step column),
    `parameters` the values the frame was computed with."""
    method = loaded.method
    steps = {s.namn: s for s in method.steg}
    new_params: dict[str, m.Parameter] = {}
    replaced: dict[str, m._Step] = {}

    def reference_value(column: str, user: str) -> float:
        ref = steps.get(column)
        if not isinstance(ref, m.Reference):
            raise MethodError(
                f"{loaded.source}: steget {user} jämför med kolumnen {column}, som inte är ett referensvärde; "
                "tröskeln kan inte frysas (skriv den som en parameter)"
            )
        if ref.grupp:
            raise MethodError(
                f"{loaded.source}: steget {column} räknar referensvärdet inom grupper ({', '.join(ref.grupp)}); "
                "det har inte ett värde för riket och kan inte frysas"
            )
        values = frame[column].drop_nulls()
        if values.is_empty() or values.n_unique() != 1:
            raise MethodError(f"{loaded.source}: steget {column} har inget enda värde år {base_year}; tröskeln kan inte frysas")
        return float(values[0])

    def param_name(base: str) -> str:
        name = re.sub(r"[^0-9a-zA-Z_]", "_", f"{base}_fixerad_{base_year}")
        while name in method.parametrar or name in new_params:
            name += "_"
        return name

    for step in method.steg:
        if not isinstance(step, m.Flag):
            continue
        limit = _number(step.grans, parameters)
        source = steps.get(step.indata)
        if isinstance(step.grans, str):
            # The flag compares with a column: a national reference value.
            value = reference_value(step.grans, step.namn)
            name = param_name(step.grans)
            new_params[name] = _fixed_parameter(
                value, base_year, step.grans, value, None,
                f"Rikets värde ({step.grans}) år {base_year}, fixerat: flaggan {step.namn} jämför med detta tal i stället för årets värde.",
            )
            replaced[step.namn] = step.model_copy(update={"grans": m.ParamRef(parameter=name)})
        elif isinstance(source, m.Relative) and isinstance(source.referens, str):
            value = reference_value(source.referens, source.namn)
            name = param_name(source.referens)
            absolute = limit * value if (limit is not None and source.satt == "kvot") else (
                limit + value if limit is not None else None
            )
            how = "×" if source.satt == "kvot" else "+"
            text = (
                f"Rikets värde ({source.referens}) år {base_year} = {_sv(value)}, fixerat. Flaggan {step.namn} "
                f"({step.operator} {_sv(limit)} {how} rikets värde) motsvarar den absoluta gränsen {_sv(absolute)}."
                if absolute is not None
                else f"Rikets värde ({source.referens}) år {base_year} = {_sv(value)}, fixerat."
            )
            new_params[name] = _fixed_parameter(value, base_year, source.namn, value, limit, text)
            replaced[source.namn] = source.model_copy(update={"referens": m.ParamRef(parameter=name)})
        else:
            chain, bottom = _chain(steps, step.indata)
            relative = [s for s in chain if isinstance(s, _RELATIVE_STEPS)]
            grouped = [s for s in chain if getattr(s, "grupp", None)]
            if grouped:
                raise MethodError(
                    f"{loaded.source}: steget {grouped[0].namn} ({grouped[0].typ}) räknas inom grupper; "
                    f"flaggan {step.namn} har ingen gräns för riket och kan inte frysas"
                )
            if not relative:
                if bottom in steps and _depends_on_relative(steps, bottom):
                    culprit = cast(str, _depends_on_relative(steps, bottom))
                    raise MethodError(
                        f"{loaded.source}: flaggan {step.namn} bygger på steget {culprit} ({steps[culprit].typ}) genom "
                        f"{bottom} ({steps[bottom].typ}); en sådan relativ tröskel kan inte frysas till ett tal"
                    )
                continue  # already absolute
            boundary, operator = _boundary(frame, step.namn, bottom, loaded.source, base_year)
            name = param_name(step.namn)
            rel = relative[0]
            new_params[name] = _fixed_parameter(
                boundary, base_year, rel.namn, None, limit,
                f"Gränsen för {step.namn} ({step.operator} {_sv(limit)} i steget {rel.namn}, {rel.typ}) år {base_year}, "
                f"fixerad som värdet av {bottom}: {operator} {_sv(boundary)}.",
                percentile=limit if isinstance(rel, m.PercentileRank) else None,
            )
            replaced[step.namn] = step.model_copy(
                update={"indata": bottom, "operator": operator, "grans": m.ParamRef(parameter=name)}
            )

    new_steps = [replaced.get(s.namn, s) for s in method.steg]
    frozen = method.model_copy(
        update={
            "id": f"{method.id}-fixerad-{base_year}",
            "titel": f"{method.titel}, trösklar fixerade vid {base_year} års nivåer",
            "version": f"{method.version}-fixerad-{base_year}",
            "beskrivning": (
                f"{method.beskrivning.strip()}\n\nFixerad version: de relativa trösklarna är ersatta med absoluta "
                f"värden räknade år {base_year} (parametrar med proveniens fixerad). Skapad med "
                f"utanforskap metoder --frys {method.id} --ar {base_year}."
            ),
            "parametrar": {**method.parametrar, **new_params},
            "steg": new_steps,
        }
    )
    return frozen.model_dump(mode="python", exclude_none=True)


def _fixed_parameter(value: float, year: int, step: str, national: float | None, multiple: float | None,
                     text: str, percentile: float | None = None) -> m.Parameter:
    return m.Parameter(
        varde=float(value),
        proveniens="fixerad",
        motivering=text,
        fixerad=m.FixedFrom(basar=year, steg=step, rikets_varde=national, multipel=None if percentile is not None else multiple,
                            percentil=percentile),
    )


def _sv(x: float | None) -> str:
    """A number as Swedish text: 0,777531 (– when missing)."""
    return "–" if x is None else f"{x:.6g}".replace(".", ",")


def _number(value: object, parameters: dict[str, Any]) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, m.ParamRef):
        v = parameters.get(value.parameter)
        return float(v) if isinstance(v, (int, float)) else None
    return None


def _chain(steps: dict[str, Any], column: str) -> tuple[list[Any], str]:
    """The single-input order-keeping steps from `column` back to the value they start from."""
    chain = []
    while column in steps and isinstance(steps[column], _MONOTONE_STEPS):
        chain.append(steps[column])
        column = steps[column].indata
    return chain, column


def _depends_on_relative(steps: dict[str, Any], column: str, seen: set[str] | None = None) -> str | None:
    """The first rank-type step `column` is computed from (through any steps), or None."""
    seen = seen if seen is not None else set()
    if column in seen or column not in steps:
        return None
    seen.add(column)
    step = steps[column]
    if isinstance(step, _RELATIVE_STEPS):
        return column
    if isinstance(step, m.Reference):
        return None  # handled where it is used (relativ, grans)
    for field in ("indata", "taljare", "namnare"):
        value = getattr(step, field, None)
        for col in value if isinstance(value, list) else [value]:
            if isinstance(col, str):
                found = _depends_on_relative(steps, col, seen)
                if found:
                    return found
    return None


def _boundary(frame: pl.DataFrame, flag: str, value: str, source: str, year: int) -> tuple[float, str]:
    """The value of `value` separating flagged from unflagged areas in the base year, and the
    operator (>= or <=) that reproduces the flag exactly; an error when no such value exists."""
    known = frame.select(pl.col(flag), pl.col(value).cast(pl.Float64)).filter(pl.col(flag).is_not_null() & pl.col(value).is_not_null())
    on = known.filter(pl.col(flag))[value]
    off = known.filter(~pl.col(flag))[value]
    if on.is_empty():
        raise MethodError(f"{source}: flaggan {flag} flaggar inget område år {year}; ingen gräns att frysa (välj ett annat basår)")
    on_min, on_max = float(cast(float, on.min())), float(cast(float, on.max()))
    if off.is_empty() or float(cast(float, off.max())) < on_min:
        return on_min, ">="
    if float(cast(float, off.min())) > on_max:
        return on_max, "<="
    raise MethodError(
        f"{source}: flaggan {flag} följer inte värdet {value} i en riktning år {year}; tröskeln kan inte frysas till ett tal"
    )


def to_toml(raw: dict[str, Any]) -> str:
    """The frozen method as TOML text (parameters first, steps as [[steg]])."""
    import tomli_w

    header = (
        f"# {raw['titel']}\n# Skapad av utanforskap metoder --frys: relativa trösklar ersatta med absoluta värden\n"
        "# (proveniens \"fixerad\", med basår och ursprung i tabellen fixerad).\n"
    )
    return header + tomli_w.dumps(raw)
