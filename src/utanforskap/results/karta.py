"""Sweden's map: a method run on every RegSO, with the figures a user asks for first.

This is the library API behind `utanforskap karta`, the reports and the web application:

    result = compute()                      # bundled open data, se-oppna-data-2022, 2022
    result.areas                          # all 3 363 RegSO with values, flags and class
    result.listed                          # the listed areas
    summary = summarize(result)             # riket, per län, per kommun
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import polars as pl

from utanforskap import geography
from utanforskap.datasets import DataSource, open_source
from utanforskap.errors import InputError
from utanforskap.formatting import format_number, format_percent
from utanforskap.methods import engine, loader
from utanforskap.methods import model as m
from utanforskap.methods.loader import BOOLEAN, NUMERIC, LoadedMethod
from utanforskap.observations.store import ObservationStore
from utanforskap.results.defaults import (  # noqa: E402  (re-exported)
    DEFAULT_METHOD,
    DEFAULT_SYNTHETIC_METHOD,
    DEFAULT_YEAR,
    REGISTERDATA_METHOD,
    REGISTERDATA_VARIABLES,
)
from utanforskap.results.inputs import method_inputs

# Columns every map row has before the method's own outputs.
AREA_COLUMNS = ["regso_kod", "regso_namn", "kommun_kod", "kommun_namn", "lan_kod", "lan_namn", "befolkning", "barn"]


OPERATOR_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}
# How a factor's status reads, everywhere a user sees it (reports, web pages, summary page).
STATUS_TEXT = {"verklig": "verkligt mått", "proxy": "ersättningsmått (proxy)", "saknas": "saknas i data", "syntetisk": "syntetiskt mått"}


def class_label(klass: str | None, kort: bool = False) -> str:
    """How an area's class reads: "Särskilt stor sammanvägd problematik"; no class: "Inte
    listat". Short (a table column whose caption says the rest): "Särskilt stor", "–"."""
    if not klass:
        return "–" if kort else "Inte listat"
    return f"{klass[:1].upper()}{klass[1:]}" + ("" if kort else " sammanvägd problematik")


@dataclass(frozen=True)
class Factor:
    """A factor as the method judges it, with what the reports and the web show about it."""

    id: str
    namn: str
    status: str  # verklig | proxy | saknas
    varde: str | None  # output column with the factor's value
    flagga: str | None  # output column with its flag
    matt: str
    proxy_for: str
    andel: bool = False  # the value is a share (shown as a percentage)
    taljare: str | None = None  # the value's numerator and denominator columns, when it is a ratio
    namnare: str | None = None
    skala: float = 1.0  # the ratio's scale (e.g. 1000: per 1 000 invånare)
    operator: str | None = None  # how the flag compares: >=, >, <=, <
    grans: float | None = None  # the flag's threshold in the value's units (factor_details)

    @property
    def measured(self) -> bool:
        return self.status != "saknas" and self.varde is not None

    @property
    def aggregable(self) -> bool:
        """A ratio whose group value is Σ täljare / Σ nämnare over areas."""
        return self.taljare is not None and self.namnare is not None

    @property
    def low_is_bad(self) -> bool:
        """Flagged when low (employment): colour scales and charts run the other way."""
        return self.operator in ("<", "<=")

    def format(self, value) -> str:
        """The value in Swedish: a share as a percentage (65,3 %), otherwise a number (0,70)."""
        return format_percent(value) if self.andel else format_number(value)

    @property
    def threshold_text(self) -> str:
        if self.grans is None or self.operator is None:
            return "–"
        return f"{OPERATOR_TEXT[self.operator]}\u00a0{self.format(self.grans)}"


@dataclass(frozen=True, eq=False)
class MapResult:
    method: LoadedMethod
    year: int
    source: DataSource
    areas: pl.DataFrame  # one row per RegSO: AREA_COLUMNS, then the method's outputs
    parameters: dict[str, m.ParameterValue] = field(default_factory=dict)
    # What is derived from this map once and reused (see `memo`): the method's inputs, the
    # full engine frame, the summary, level values, the fit. Frozen, so it cannot go stale.
    # Not an __init__ argument, so dataclasses.replace() gives the new map a memo of its own.
    _memo: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def listed(self) -> pl.DataFrame:
        return self.areas.filter(pl.col("klass").is_not_null())

    @property
    def factors(self) -> list[Factor]:
        return factors(self.method)

    @property
    def output_columns(self) -> list[str]:
        return [c for c in self.areas.columns if c not in AREA_COLUMNS]


def factors(loaded: LoadedMethod) -> list[Factor]:
    """The method's declared factors; for a method without a [faktorer] table, one per
    output flag (`flagga` step), with the output value it compares when there is one.
    Each with what the steps say: a share or not, the ratio's numerator and denominator,
    the flag's operator (the threshold, which needs the map, comes from factor_details)."""
    method = loaded.method
    steps = {s.namn: s for s in method.steg}
    if method.faktorer:
        return [
            Factor(fid, f.namn, f.status, f.varde, f.flagga, f.matt, f.proxy_for, **_details(steps, f.varde, f.flagga))
            for fid, f in method.faktorer.items()
        ]
    from utanforskap.catalogue import FACTORS

    outputs = set(method.utdata.kolumner)
    derived = []
    for col in method.utdata.kolumner:
        step = steps.get(col)
        if not (isinstance(step, m.Flag) and step.typ == "flagga"):
            continue
        value = step.indata if step.indata in outputs and loaded.kinds.get(step.indata) == NUMERIC else None
        fid = col.removeprefix("flagga_") if col.startswith("flagga_") else (value or col)
        status, matt, proxy_for = "verklig", step.beskrivning.strip(), ""
        ratio = steps.get(value) if value else None
        if isinstance(ratio, m.Ratio):
            num, den = method.indata.get(ratio.taljare), method.indata.get(ratio.namnare)
            if num is not None and den is not None and num.beskrivning and den.beskrivning:
                matt = f"{num.beskrivning} per {den.beskrivning[:1].lower()}{den.beskrivning[1:]}"
            if num is not None and num.status == "proxy":
                status, proxy_for = "proxy", num.proxy_for
        source = _source_input(method, steps, step.indata)
        if not matt and source is not None:
            matt = source.beskrivning
        name = FACTORS.get(fid) or _capitalise(source.beskrivning if source and source.beskrivning else fid.replace("_", " "))
        derived.append(Factor(fid, name, status, value, col, matt, proxy_for, **_details(steps, value, col)))
    return derived


def _source_input(method: m.Method, steps: dict, column: str):
    """The declared input a column comes from, following single-input steps back
    (e.g. SVI's F_POV150 <- EPL_POV150 <- PR_POV150 <- EP_POV150); None if it forks."""
    seen = set()
    while column in steps and column not in seen:
        seen.add(column)
        source = getattr(steps[column], "indata", None)
        if not isinstance(source, str):
            return None
        column = source
    return method.indata.get(column)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _details(steps: dict, varde: str | None, flagga: str | None) -> dict:
    """What the method's steps say about a factor's value (a ratio? a share?) and its flag."""
    out: dict = {}
    value = steps.get(varde) if varde else None
    if isinstance(value, m.Ratio):
        out.update(andel=value.andel, taljare=value.taljare, namnare=value.namnare, skala=value.skala)
    flag = steps.get(flagga) if flagga else None
    if isinstance(flag, m.Flag):
        out["operator"] = flag.operator
    return out


def factor_details(result: MapResult) -> list[Factor]:
    """The map's factors with each flag's threshold (`grans`) in the value's own units where
    it has one: a number, a parameter, or a reference value the method computed once for
    all areas (e.g. 0,70 × rikets andel sysselsatta). Computed once per map."""

    def make() -> list[Factor]:
        steps = {s.namn: s for s in result.method.method.steg}
        return [replace(f, grans=_threshold(f, steps, result)) for f in result.factors]

    return memo(result, "factor_details", make)


def _threshold(f: Factor, steps: dict, result: MapResult) -> float | None:
    flag = steps.get(f.flagga) if f.flagga else None
    if not isinstance(flag, m.Flag) or not f.varde:
        return None
    limit = _resolve(flag.grans, result)
    if limit is None:
        return None
    if flag.indata == f.varde:
        return limit
    rel = steps.get(flag.indata)
    if isinstance(rel, m.Relative) and rel.indata == f.varde:
        ref = _resolve(rel.referens, result)
        if ref is None:
            return None
        return limit * ref if rel.satt == "kvot" else limit + ref
    return None


def _resolve(value, result: MapResult) -> float | None:
    """A number, a parameter's value, or a column that has one value for every area."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, m.ParamRef):
        v = result.parameters.get(value.parameter)
        return float(v) if isinstance(v, (int, float)) else None
    if isinstance(value, str):
        full = full_frame(result)
        if value in full.columns:
            col = full[value].drop_nulls()
            return float(col[0]) if col.len() and col.n_unique() == 1 else None  # grouped references have no one line
    return None


def memo(result: MapResult, key, make):
    """`make()` computed once per map and key, then reused (the web app and the reports ask
    for the same summaries, level values and frames many times)."""
    try:
        return result._memo[key]
    except KeyError:
        value = result._memo[key] = make()
        return value


def full_frame(result: MapResult) -> pl.DataFrame:
    """Every input and step column of the method for every RegSO (the engine's keep_all
    frame): numerators, denominators and reference values behind the outputs. Computed once."""

    def make() -> pl.DataFrame:
        inputs = result._memo.get("inputs")
        if inputs is None:
            inputs = method_inputs(result.method, result.source.store, result.year)
        return engine.run(result.method, inputs, parameters=scalar_parameters(result), keep_all=True, source=str(result.source.store.root))

    return memo(result, "full_frame", make)


def scalar_parameters(result: MapResult) -> dict[str, float]:
    """The map's parameters as overrides for another engine run (list-valued ones are the method's own)."""
    return {k: v for k, v in result.parameters.items() if not isinstance(v, list)}


def compute(
    method: str | os.PathLike[str] | None = None,
    year: int = DEFAULT_YEAR,
    data: str | os.PathLike[str] | DataSource = "paket",
    parameters: dict[str, float] | None = None,
) -> MapResult:
    """Run a method on every RegSO of the chosen data and year."""
    source = data if isinstance(data, DataSource) else open_source(data)
    if method is None:
        method = default_method(source)
    loaded = loader.load(method)
    if loaded.method.nyckel != "regso_kod":
        raise InputError(f"{loaded.source}: kartan körs på RegSO; metodens nyckel måste vara regso_kod (är {loaded.method.nyckel})")
    inputs = method_inputs(loaded, source.store, year)
    areas = areas_with_population(source.store, year)
    return classify(loaded, inputs, areas, source, year, parameters)


def default_method(source: DataSource) -> str:
    """The method a map uses when none is named: synthetic data get se-utanforskap-2024, a store
    holding SCB's official measures per RegSO (all of REGISTERDATA_VARIABLES) se-utanforskap-registerdata,
    anything else the open-data method."""
    if source.synthetic:
        return DEFAULT_SYNTHETIC_METHOD
    if set(REGISTERDATA_VARIABLES) <= source.store.variables("regso"):
        return REGISTERDATA_METHOD
    return DEFAULT_METHOD


def classify(
    loaded: LoadedMethod,
    inputs: pl.DataFrame,
    areas: pl.DataFrame,
    source: DataSource,
    year: int,
    parameters: dict[str, float] | None = None,
) -> MapResult:
    """The classification step alone: the method on prepared inputs (timed in bench)."""
    outputs = engine.run(loaded, inputs, parameters=parameters, source=str(source.store.root))
    keys = areas["regso_kod"]
    strictly_increasing = (keys.slice(1) > keys.slice(0, max(keys.len() - 1, 0))).all()  # sorted and unique
    if keys.equals(outputs["regso_kod"]) and strictly_increasing:
        omraden = areas.hstack(outputs.drop("regso_kod"))  # the usual case: the inputs are in the areas' order
    else:
        omraden = areas.join(outputs, on="regso_kod", how="left", coalesce=True).sort("regso_kod")
    if omraden.height != areas.height:  # pragma: no cover - join on a unique key
        raise InputError("internt fel: kartan fick fler rader än områden")
    result = MapResult(
        method=loaded,
        year=year,
        source=source,
        areas=omraden,
        parameters=engine.resolve_parameters(loaded, parameters),
    )
    result._memo["inputs"] = inputs  # full_frame() reruns the engine on them, not the store
    return result


def areas_with_population(store: ObservationStore, year: int) -> pl.DataFrame:
    """Every RegSO with names, parents, population and children (0-19) in `year`."""
    base = geography.areas("regso").select(AREA_COLUMNS[:6])
    pop = store.read(niva="regso", period=str(year), variabler=["befolkning", "befolkning_0_19"])
    if pop.filter(pl.col("variabel") == "befolkning").is_empty():
        raise InputError(f"{store.root}: befolkning saknas för RegSO år {year}; välj ett år som finns (--ar)")
    wide = pop.pivot(on="variabel", index="omrade", values="varde")
    if "befolkning_0_19" not in wide.columns:
        wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias("befolkning_0_19"))
    wide = wide.select(
        pl.col("omrade").alias("regso_kod"),
        pl.col("befolkning").cast(pl.Int64),
        pl.col("befolkning_0_19").cast(pl.Int64).alias("barn"),
    )
    return base.join(wide, on="regso_kod", how="left")


# ---- summaries -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    riket: dict  # omraden, sarskilt, kommuner, befolkning, barn, andel_befolkning
    per_lan: pl.DataFrame  # every län, zero where none listed
    per_kommun: pl.DataFrame  # every kommun, zero where none listed
    per_klass: pl.DataFrame  # class -> areas, residents
    faktorer: pl.DataFrame  # factor -> status, flagged areas, flagged among listed


def summarize(result: MapResult) -> Summary:
    """Riket, per län, per kommun, per class and per factor; computed once per map."""
    return memo(result, "summary", lambda: _summarize(result))


def _summarize(result: MapResult) -> Summary:
    om = result.areas
    listed = pl.col("klass").is_not_null()
    special = pl.col("klass") == top_class(result)

    def totals() -> list[pl.Expr]:
        return [
            listed.sum().cast(pl.Int64).alias("omraden"),
            (listed & special).fill_null(False).sum().cast(pl.Int64).alias("sarskilt"),
            pl.col("kommun_kod").filter(listed).n_unique().cast(pl.Int64).alias("kommuner"),
            pl.col("befolkning").filter(listed).sum().cast(pl.Int64).alias("befolkning"),
            pl.col("barn").filter(listed).sum().cast(pl.Int64).alias("barn"),
            pl.col("befolkning").sum().cast(pl.Int64).alias("befolkning_totalt"),
        ]

    riket = om.select(totals()).row(0, named=True)
    riket["andel_befolkning"] = riket["befolkning"] / riket["befolkning_totalt"] if riket["befolkning_totalt"] else None
    per_lan = om.group_by("lan_kod", "lan_namn").agg(totals()).sort("lan_kod")
    per_kommun = (
        om.group_by("kommun_kod", "kommun_namn", "lan_kod")
        .agg(totals())
        .drop("kommuner")
        .with_columns((pl.col("befolkning") / pl.col("befolkning_totalt")).alias("andel_befolkning"))
        .sort("kommun_kod")
    )
    per_klass = (
        om.filter(listed).group_by("klass").agg(pl.len().alias("omraden"), pl.col("befolkning").sum(), pl.col("barn").sum())
        .sort("omraden")
    )
    factor_rows = []
    for f in result.factors:
        flagged = om[f.flagga].sum() if f.flagga else None
        among = om.filter(listed)[f.flagga].sum() if f.flagga else None
        factor_rows.append({"faktor": f.id, "namn": f.namn, "status": f.status, "flaggade": flagged, "bland_listade": among})
    faktorer = pl.DataFrame(
        factor_rows,
        schema={"faktor": pl.String, "namn": pl.String, "status": pl.String, "flaggade": pl.Int64, "bland_listade": pl.Int64},
    )
    return Summary(riket, per_lan, per_kommun, per_klass, faktorer)


def _klass_step(result: MapResult) -> m.Classify | None:
    return next((s for s in result.method.method.steg if s.typ == "klass" and s.namn == "klass"), None)


def classes(result: MapResult) -> list[str]:
    """The method's classes, highest first: the rules of its `klass` step (written highest
    first); for a method whose klass column comes from another kind of step, the classes
    the map has, sorted by name."""
    step = _klass_step(result)
    if step is not None:
        return [r.klass for r in step.regler]
    return sorted(result.areas["klass"].drop_nulls().unique().to_list()) if "klass" in result.areas.columns else []


def listing_threshold(result: MapResult) -> float | None:
    """How many flags list an area: the `minst` of the klass step's last (lowest) rule, as
    a number or the map's parameter; None when the method lists by another rule."""
    step = _klass_step(result)
    counts = next((s for s in result.method.method.steg if step is not None and s.namn == step.indata), None)
    if step is None or not step.regler or not isinstance(counts, m.FlagCount) or step.regler[-1].minst is None:
        return None
    return _resolve(step.regler[-1].minst, result)


def top_class(result: MapResult) -> str | None:
    """The highest class ("särskilt stor"): the first of `classes`; None when the method has
    only one class or does not say which is highest."""
    ranked = classes(result)
    return ranked[0] if len(ranked) > 1 and _klass_step(result) is not None else None


def areas_file_frame(result: MapResult) -> pl.DataFrame:
    """omraden as written to files: flags as 0/1, missing as empty."""
    kinds = result.method.kinds
    return result.areas.with_columns(
        [pl.col(c).cast(pl.Int8) for c in result.output_columns if kinds.get(c) == BOOLEAN]
    )
