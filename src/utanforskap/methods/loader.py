"""Load a method file, validate it, and work out the order its steps run in."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

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

    def step_label(self, index: int) -> str:
        return f"steg[{index + 1}] ({self.method.steg[index].namn})"


def builtin_ids() -> list[str]:
    folder = resources.files("utanforskap.methods.builtin")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load(id_or_path: str | Path) -> LoadedMethod:
    """Load a shipped method by id, or a method file by path."""
    text, source = _read(id_or_path)
    return load_dict(parse_toml(text, source, MethodError), source)


def load_dict(raw: dict, source: str) -> LoadedMethod:
    """Validate a method given as a dict (parsed TOML); `source` names it in errors."""
    try:
        method = m.Method.model_validate(raw)
    except ValidationError as exc:
        raise MethodError(f"{source}: {_describe(exc.errors()[0], raw)}") from None
    kinds = _check_references(method, source)
    layers = _layers(method, source)
    return LoadedMethod(method=method, source=source, layers=layers, kinds=kinds)


def _read(id_or_path: str | Path) -> tuple[str, str]:
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


def _describe(err: dict, raw: dict) -> str:
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


def _key(loc: list, raw: dict) -> str:
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
    kinds: dict[str, str] = {name: (TEXT if inp.typ == "text" else NUMERIC) for name, inp in method.indata.items()}
    if method.nyckel in kinds:
        raise MethodError(f"{source}: indata.{method.nyckel}: nyckelkolumnen ska inte deklareras som indata")
    if method.period is not None and method.period in kinds:
        raise MethodError(f"{source}: indata.{method.period}: periodkolumnen ska inte deklareras som indata")
    special = {method.nyckel} | ({method.period} if method.period else set())
    for i, step in enumerate(method.steg):
        label = f"steg[{i + 1}] ({step.namn})"
        if step.namn in kinds or step.namn in special:
            what = "ett annat steg" if step.namn not in method.indata and step.namn not in special else "en indatakolumn"
            raise MethodError(f"{source}: {label}.namn: namnet {step.namn!r} används redan av {what}")
        kinds[step.namn] = output_kind(step)
    for i, step in enumerate(method.steg):
        label = f"steg[{i + 1}] ({step.namn})"
        for field, col in step_columns(step):
            if col not in kinds and col not in special:
                raise MethodError(
                    f"{source}: {label}.{field}: {col!r} är varken indata eller namnet på ett steg"
                )
            expected = _expected_kind(step, field)
            actual = kinds.get(col, TEXT)
            if field == "grupp":
                continue
            if expected is not None and actual != expected:
                raise MethodError(
                    f"{source}: {label}.{field}: {col!r} är {actual}, men steget behöver {expected}"
                )
        if step.grupp and not isinstance(step, m.GROUPABLE):
            raise MethodError(f"{source}: {label}.grupp: steget räknar rad för rad och kan inte grupperas")
        for field, param in step_parameters(step):
            if param not in method.parametrar:
                raise MethodError(
                    f"{source}: {label}.{field}: okänd parameter {param!r}; deklarera den under [parametrar.{param}]"
                )
            if isinstance(method.parametrar[param].varde, list):
                raise MethodError(f"{source}: {label}.{field}: parametern {param!r} är en lista, väntade ett tal")
        if isinstance(step, (m.PercentileRank,)) and step.vand is None:
            inp = method.indata.get(step.indata)
            if inp is not None and inp.riktning == "hogt_ar_bra":
                raise MethodError(
                    f"{source}: {label}.vand: {step.indata!r} är deklarerad som hogt_ar_bra; "
                    "ange vand = true (högt värde ger låg percentil) eller vand = false"
                )
        if isinstance(step, (m.PeriodMean, m.EveryPeriod)) and method.period is None:
            raise MethodError(f"{source}: {label}: steget kräver att metoden anger period (en periodkolumn)")
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
    dup = [c for c in method.utdata.kolumner if method.utdata.kolumner.count(c) > 1]
    if dup:
        raise MethodError(f"{source}: utdata.kolumner: {dup[0]!r} står två gånger")
    return kinds


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
