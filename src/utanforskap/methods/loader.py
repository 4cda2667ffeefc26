"""Load a method file, validate it, and work out the order its steps run in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from utanforskap.errors import MethodError
from utanforskap.methods import model as m
from utanforskap.tomlmodel import parse_toml, read_toml_text
from utanforskap.validation import TOML_MESSAGES, swedish_message

# The kind of value a column holds, for type checks between steps.
NUMERIC, BOOLEAN, TEXT = "tal", "sant/falskt", "text"

_BOOLEAN_STEPS = (m.Flag, m.KOfM, m.Logic, m.EveryPeriod)


@dataclass(frozen=True)
class LoadedMethod:
    """A validated method with its source and the steps in dependency layers."""

    method: m.Method
    source: str  # file path or "utanforskap/methods/builtin/<id>.toml", for messages
    layers: tuple[tuple[int, ...], ...]  # indices into method.steg; each layer depends only on earlier ones
    kinds: dict[str, str]  # column name -> NUMERIC / BOOLEAN / TEXT

    @property
    def id(self) -> str:
        return self.method.id


def builtin_ids() -> list[str]:
    folder = resources.files("utanforskap.methods.builtin")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load(id_or_path: str | os.PathLike[str]) -> LoadedMethod:
    """Load a shipped method by id, or a method file by path."""
    text, source = _read(id_or_path)
    return load_dict(parse_toml(text, source, MethodError), source)


def load_dict(raw: dict[str, Any], source: str) -> LoadedMethod:
    """Validate a method given as a dict (parsed TOML); `source` names it in errors."""
    try:
        method = m.Method.model_validate(raw)
    except ValidationError as exc:
        raise MethodError(f"{source}: {_describe(exc.errors()[0], raw)}") from None
    kinds = _check_references(method, source)
    layers = _layers(method, source)
    return LoadedMethod(method=method, source=source, layers=layers, kinds=kinds)


def _read(id_or_path: str | os.PathLike[str]) -> tuple[str, str]:
    path = Path(id_or_path)
    if path.suffix == ".toml" or path.exists():
        if path.is_dir():
            raise MethodError(f"{path}: är en mapp; ange en metodfil (.toml) eller ett metod-id")
        if not path.is_file():
            raise MethodError(f"{path}: metodfilen finns inte")
        return read_toml_text(path, MethodError), str(path)
    name = str(id_or_path)
    if name not in builtin_ids():
        raise MethodError(
            f"okänd metod {name!r}: ange en sökväg till en TOML-fil eller en av {', '.join(builtin_ids())}"
        )
    ref = resources.files("utanforskap.methods.builtin").joinpath(f"{name}.toml")
    return ref.read_text(encoding="utf-8"), f"utanforskap/methods/builtin/{name}.toml"


# ---- pydantic errors in Swedish (utanforskap.validation), naming the key -------------------
_MESSAGES = {**TOML_MESSAGES, "extra_forbidden": "okänd nyckel (stavfel? se docs/metoder.md)"}


def _describe(err: Mapping[str, Any], raw: dict[str, Any]) -> str:
    loc = list(err["loc"])
    kind = err["type"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = err.get("input", {}).get("typ") if isinstance(err.get("input"), dict) else None
        what = (
            f"okänd stegtyp {tag!r}; tillåtna: {', '.join(m.STEP_TYPES)}"
            if tag is not None
            else "stegtypen (typ) saknas"
        )
        return f"{_key(loc, raw)}: {what}"
    msg = swedish_message(err, _MESSAGES)
    # Inside a union (number | parameter | column) pydantic reports every alternative; say it plainly.
    if any(isinstance(p, str) and p in ("float", "ParamRef", "str") for p in loc):
        loc = [p for p in loc if not (isinstance(p, str) and p in ("float", "ParamRef", "str"))]
        msg = "väntade ett tal, { parameter = \"namn\" } eller ett kolumnnamn"
    return f"{_key(loc, raw)}: {msg}"


def _key(loc: list[Any], raw: dict[str, Any]) -> str:
    """Render a pydantic location as a TOML-ish key; name steps by their `namn`."""
    parts: list[str] = []
    i = 0
    while i < len(loc):
        p = loc[i]
        if p == "steg" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            idx = loc[i + 1]
            name = ""
            steps = raw.get("steg")
            if isinstance(steps, list) and idx < len(steps) and isinstance(steps[idx], dict):
                name = steps[idx].get("namn", "")
            parts.append(f"steg[{idx + 1}]" + (f" ({name})" if name else ""))
            i += 2
            # skip the discriminator tag pydantic inserts
            if i < len(loc) and isinstance(loc[i], str) and loc[i] in m.STEP_TYPES:
                i += 1
            continue
        parts.append(f"[{p + 1}]" if isinstance(p, int) else str(p))
        i += 1
    return ".".join(parts).replace(".[", "[") or "(metoden)"


# ---- references, kinds and order ----------------------------------------------------------
def step_columns(step: m.Step) -> list[tuple[str, str]]:
    """(field, column) pairs that a step reads."""
    refs: list[tuple[str, str]] = []

    def add(field: str, value: object) -> None:
        if isinstance(value, str):
            refs.append((field, value))
        elif isinstance(value, list):
            for v in value:
                add(field, v)

    for field in ("indata", "taljare", "namnare", "grind", "grupp"):
        add(field, getattr(step, field, None))
    if isinstance(step, (m.Flag,)):
        add("grans", step.grans)
    if isinstance(step, m.Relative):
        add("referens", step.referens)
    if isinstance(step, m.Classify):
        for r in step.regler:
            add("regler.villkor", r.villkor)
    return refs


def step_parameters(step: m.Step) -> list[tuple[str, str]]:
    """(field, parameter) pairs that a step refers to."""
    out: list[tuple[str, str]] = []
    for field in type(step).model_fields:
        value = getattr(step, field)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, m.ParamRef):
                out.append((field, v.parameter))
            elif isinstance(v, m.ClassRule) and isinstance(v.minst, m.ParamRef):
                out.append(("regler.minst", v.minst.parameter))
    return out


def output_kind(step: m.Step) -> str:
    if isinstance(step, _BOOLEAN_STEPS):
        return BOOLEAN
    if isinstance(step, m.Classify):
        return TEXT
    return NUMERIC


def _expected_kind(step: m.Step, field: str) -> str | None:
    if field == "grupp" or isinstance(step, m.MissingCount):
        return None
    if field == "grind" or field == "regler.villkor":
        return BOOLEAN
    if isinstance(step, (m.FlagCount, m.KOfM, m.Logic, m.EveryPeriod)) and field == "indata":
        return BOOLEAN
    return NUMERIC


def _check_references(method: m.Method, source: str) -> dict[str, str]:
    """Every column a step, output or factor names exists and has the kind it needs; returns
    the kind (NUMERIC, BOOLEAN, TEXT) of every input and step. The first problem is raised."""
    kinds, special = _declared_kinds(method, source)
    for i, step in enumerate(method.steg):
        label = f"steg[{i + 1}] ({step.namn})"
        _check_step_columns(step, label, kinds, special, source)
        _check_step_rules(method, step, label, source)
    _check_outputs(method, kinds, source)
    return kinds


def _declared_kinds(method: m.Method, source: str) -> tuple[dict[str, str], set[str]]:
    """The kinds of the inputs and of every step's output, and the key and period columns;
    a name used twice is an error."""
    kinds: dict[str, str] = {name: (TEXT if inp.typ == "text" else NUMERIC) for name, inp in method.indata.items()}
    if method.nyckel in kinds:
        raise MethodError(f"{source}: indata.{method.nyckel}: nyckelkolumnen ska inte deklareras som indata")
    if method.period is not None and method.period in kinds:
        raise MethodError(f"{source}: indata.{method.period}: periodkolumnen ska inte deklareras som indata")
    special = {method.nyckel} | ({method.period} if method.period else set())
    for i, step in enumerate(method.steg):
        if step.namn in kinds or step.namn in special:
            what = "ett annat steg" if step.namn not in method.indata and step.namn not in special else "en indatakolumn"
            raise MethodError(f"{source}: steg[{i + 1}] ({step.namn}).namn: namnet {step.namn!r} används redan av {what}")
        kinds[step.namn] = output_kind(step)
    return kinds, special


def _check_step_columns(step: m.Step, label: str, kinds: dict[str, str], special: set[str], source: str) -> None:
    for field, col in step_columns(step):
        if col not in kinds and col not in special:
            raise MethodError(f"{source}: {label}.{field}: {col!r} är varken indata eller namnet på ett steg")
        if field == "grupp":
            continue
        expected, actual = _expected_kind(step, field), kinds.get(col, TEXT)
        if expected is not None and actual != expected:
            raise MethodError(f"{source}: {label}.{field}: {col!r} är {actual}, men steget behöver {expected}")


def _check_step_rules(method: m.Method, step: m.Step, label: str, source: str) -> None:
    """Grouping, parameters, the direction of a percentile and the period of multi-period steps."""
    if step.grupp and not isinstance(step, m.GROUPABLE):
        raise MethodError(f"{source}: {label}.grupp: steget räknar rad för rad och kan inte grupperas")
    for field, param in step_parameters(step):
        if param not in method.parametrar:
            raise MethodError(
                f"{source}: {label}.{field}: okänd parameter {param!r}; deklarera den under [parametrar.{param}]"
            )
        if isinstance(method.parametrar[param].varde, list):
            raise MethodError(f"{source}: {label}.{field}: parametern {param!r} är en lista, väntade ett tal")
    if isinstance(step, m.PercentileRank) and step.vand is None:
        inp = method.indata.get(step.indata)
        if inp is not None and inp.riktning == "hogt_ar_bra":
            raise MethodError(
                f"{source}: {label}.vand: {step.indata!r} är deklarerad som hogt_ar_bra; "
                "ange vand = true (högt värde ger låg percentil) eller vand = false"
            )
    if isinstance(step, (m.PeriodMean, m.EveryPeriod)) and method.period is None:
        raise MethodError(f"{source}: {label}: steget kräver att metoden anger period (en periodkolumn)")


def _check_outputs(method: m.Method, kinds: dict[str, str], source: str) -> None:
    for col in method.utdata.kolumner:
        if col not in kinds:
            raise MethodError(f"{source}: utdata.kolumner: {col!r} är varken indata eller namnet på ett steg")
    for fid, factor in method.faktorer.items():
        for field in ("varde", "flagga"):
            col = getattr(factor, field)
            if col is not None and col not in method.utdata.kolumner:
                raise MethodError(f"{source}: faktorer.{fid}.{field}: {col!r} finns inte bland utdata.kolumner")
        if factor.flagga is not None and kinds[factor.flagga] != BOOLEAN:
            raise MethodError(f"{source}: faktorer.{fid}.flagga: {factor.flagga!r} är {kinds[factor.flagga]}, inte en flagga")
    if method.osakerhet is not None:
        check_uncertainty(method, method.osakerhet, source, kinds)
    dup = [c for c in method.utdata.kolumner if method.utdata.kolumner.count(c) > 1]
    if dup:
        raise MethodError(f"{source}: utdata.kolumner: {dup[0]!r} står två gånger")


def _layers(method: m.Method, source: str) -> tuple[tuple[int, ...], ...]:
    """Kahn's algorithm, layer by layer; a cycle is reported with its path."""
    producer = {s.namn: i for i, s in enumerate(method.steg)}
    deps = [{producer[c] for _, c in step_columns(s) if c in producer} for s in method.steg]
    remaining = set(range(len(method.steg)))
    done: set[int] = set()
    layers: list[tuple[int, ...]] = []
    while remaining:
        ready = tuple(sorted(i for i in remaining if deps[i] <= done))
        if not ready:
            cycle = _find_cycle(remaining, deps)
            path = " -> ".join(method.steg[i].namn for i in cycle)
            raise MethodError(f"{source}: steg: cirkelberoende mellan stegen: {path}")
        layers.append(ready)
        done |= set(ready)
        remaining -= set(ready)
    return tuple(layers)


def _find_cycle(nodes: set[int], deps: list[set[int]]) -> list[int]:
    start = min(nodes)
    seen: list[int] = []
    node = start
    while node not in seen:
        seen.append(node)
        node = min(d for d in deps[node] if d in nodes)
    return seen[seen.index(node):] + [node]


def check_uncertainty(method: m.Method, spec: m.Uncertainty, source: str, kinds: dict[str, str] | None = None) -> None:
    """Everything an uncertainty spec names must exist in the method: a parameter, step,
    field or input it lacks is an error, never a silent fallback to the method's value."""
    if kinds is None:
        kinds = {name: (TEXT if inp.typ == "text" else NUMERIC) for name, inp in method.indata.items()}
        kinds.update({s.namn: output_kind(s) for s in method.steg})
    for name in spec.parametrar:
        if name not in method.parametrar:
            raise MethodError(
                f"{source}: osakerhet.parametrar.{name}: metoden {method.id} har ingen parameter {name!r}; "
                f"dess parametrar: {', '.join(method.parametrar) or 'inga'}"
            )
        if isinstance(method.parametrar[name].varde, list):
            raise MethodError(f"{source}: osakerhet.parametrar.{name}: parametern är en lista; bara tal kan varieras")
    steps = {s.namn: s for s in method.steg}
    for i, alt in enumerate(spec.alternativ):
        where = f"{source}: osakerhet.alternativ[{i + 1}]"
        step = steps.get(alt.steg)
        if step is None:
            raise MethodError(f"{where}.steg: metoden {method.id} har inget steg {alt.steg!r}")
        current = getattr(step, alt.falt, None) if alt.falt in type(step).model_fields else None
        if not isinstance(current, str):
            raise MethodError(f"{where}.falt: steget {alt.steg!r} har inget fält {alt.falt!r} som namnger en kolumn")
        if current not in alt.val:
            raise MethodError(f"{where}.val: metodens eget val {current!r} måste vara ett av alternativen")
        for col in alt.val:
            if col not in kinds:
                raise MethodError(f"{where}.val: {col!r} är varken indata eller namnet på ett steg")
            if kinds[col] != kinds[current]:
                raise MethodError(f"{where}.val: {col!r} är {kinds[col]}, men {current!r} är {kinds[current]}")
            if col in steps and _depends_on(steps, col, alt.steg):
                raise MethodError(f"{where}.val: {col!r} beror på steget {alt.steg!r} självt (cirkelberoende)")
    for name, noise in spec.indata.items():
        inp = method.indata.get(name)
        if inp is None:
            raise MethodError(
                f"{source}: osakerhet.indata.{name}: metoden {method.id} har inget indata {name!r}; "
                f"dess indata: {', '.join(method.indata)}"
            )
        if inp.typ != "tal":
            raise MethodError(f"{source}: osakerhet.indata.{name}: indata är text; brus gäller antal")
        if noise.namnare is not None and (noise.namnare not in method.indata or noise.namnare == name):
            raise MethodError(
                f"{source}: osakerhet.indata.{name}.namnare: {noise.namnare!r} är inte ett annat indata i metoden"
            )


def _depends_on(steps: dict[str, Any], column: str, target: str) -> bool:
    """Whether `column` is computed from the step named `target` (directly or not)."""
    seen: set[str] = set()
    stack = [column]
    while stack:
        col = stack.pop()
        if col == target:
            return True
        if col in seen or col not in steps:
            continue
        seen.add(col)
        stack.extend(c for _, c in step_columns(steps[col]))
    return False
