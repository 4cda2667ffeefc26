"""The figures behind the reports, computed once per map for every kommun at once.

`prepare(result)` runs the vectorised work (ratios of summed numerators and denominators
per kommun, per listed/other areas and for the nation; the crime series; the labour-market
breakdowns; fit and comparison) and keeps it in a `Prepared`, so that writing 290 kommun
reports is a matter of filtering, drawing and templating. Rates are never averaged:
every aggregate value is Σ täljare / Σ nämnare over the areas where both are known.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import polars as pl

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.results.karta import Factor, MapResult, Summary, factor_details, full_frame, summarize, top_class
from utanforskap.results.levels import level_values

GROUP_LABELS = {"listade": "Listade områden", "ovriga": "Övriga områden", "kommun": "Hela kommunen", "riket": "Riket"}

# Labour-market variables looked for in the store: (numerator, denominator, label, kind).
# The bundled open data have only the 16–64 total; a source with more (e.g. synthetic
# microdata) that writes these names gets its breakdowns shown.
LABOUR_CANDIDATES = [
    *[(f"sysselsatta_{a}", f"befolkning_{a}", f"Alla {a.replace('_', '–')} år", "totalt") for a in ("20_64", "16_64")],
    *[
        (f"sysselsatta_{a}_{g}", f"befolkning_{a}_{g}", f"{label} {a.replace('_', '–')} år", kind)
        for a in ("20_64", "16_64")
        for g, label, kind in (
            ("kvinnor", "Kvinnor", "kon"),
            ("man", "Män", "kon"),
            ("inrikes_fodda", "Inrikes födda", "bakgrund"),
            ("utrikes_fodda", "Utrikes födda", "bakgrund"),
        )
    ],
]
AREA_TYPES = {
    1: "stora socioekonomiska utmaningar",
    2: "socioekonomiska utmaningar",
    3: "blandad socioekonomi",
    4: "goda socioekonomiska förutsättningar",
    5: "mycket goda socioekonomiska förutsättningar",
}
POLICE = {0: "inte utpekat", 1: "utsatt område", 2: "särskilt utsatt område"}
CRIME_VARIABLE = "brott_urval"
CRIME_UNKNOWN = "brott_urval_utan_deso"


@dataclass
class Prepared:
    result: MapResult
    summary: Summary
    specs: list[Factor]  # karta.factor_details: with thresholds
    top_class: str | None
    areas: pl.DataFrame  # result.areas with a boolean `listad`
    ratios: pl.DataFrame  # omrade ("SE" or kommun code), grupp, one column per aggregable factor, befolkning, omraden
    labour: pl.DataFrame  # omrade, grupp, one column per labour measure
    labour_measures: list[tuple[str, str, str]]  # (column, label, kind)
    crime: pl.DataFrame  # omrade, grupp, ar, brott, befolkning, per_1000
    crime_years: list[int]
    crime_unknown: pl.DataFrame  # kommun_kod, brott (crimes without DeSO, summed over crime_years)
    events: list
    events_source: str
    fit: pl.DataFrame | None
    compare_lists: pl.DataFrame | None
    compare_factors: pl.DataFrame | None
    compare_note: str
    references: pl.DataFrame = field(default_factory=pl.DataFrame)  # regso_kod, omradestyp, polisen (codes)
    geometri: str | os.PathLike[str] | None = None
    kommuner: pl.DataFrame = field(default_factory=pl.DataFrame)  # every kommun with län
    crime_left_out: list[str] = field(default_factory=list)  # periods in the store not shown, and why
    crime_population_year: dict[int, int] = field(default_factory=dict)  # year -> the population year used

    @property
    def measured(self) -> list[Factor]:
        return [s for s in self.specs if s.measured]


def prepare(result: MapResult, handelser: str | os.PathLike[str] | None = None, geometri=None) -> Prepared:
    from utanforskap.reports import events as ev

    specs = factor_details(result)
    areas = result.areas.with_columns(pl.col("klass").is_not_null().alias("listad"))
    if any(s.aggregable for s in specs):
        # Numerators and denominators of each factor, aligned with the areas.
        cols = sorted({c for s in specs if s.aggregable for c in (s.taljare, s.namnare)} - set(areas.columns))
        areas = areas.join(full_frame(result).select("regso_kod", *cols), on="regso_kod", how="left")
    pairs = {s.id: (s.taljare, s.namnare, s.skala) for s in specs if s.aggregable}
    ratios = _with_level_values(_grouped_ratios(areas, pairs), result, list(pairs))
    labour, measures = _labour(result, areas)
    crime, years, unknown, left_out, population_year = _crime(result, areas)
    fit, lists, factors, note = _fit_and_compare(result)
    return Prepared(
        result=result,
        summary=summarize(result),
        specs=specs,
        top_class=top_class(result),
        areas=areas,
        ratios=ratios,
        labour=labour,
        labour_measures=measures,
        crime=crime,
        crime_years=years,
        crime_unknown=unknown,
        crime_left_out=left_out,
        crime_population_year=population_year,
        events=ev.load(handelser),
        events_source=str(handelser) if handelser else "utanforskap/data/handelser.toml",
        fit=fit,
        compare_lists=lists,
        compare_factors=factors,
        compare_note=note,
        references=_references(result),
        geometri=geometri,
        kommuner=geography.areas("kommun"),
    )


def _references(result: MapResult) -> pl.DataFrame:
    """Segregationsbarometern's area type and Polisen's category per RegSO, as results.compare
    reads them (each in its reference year); empty for synthetic data."""
    if result.source.synthetic:
        return pl.DataFrame(schema={"regso_kod": pl.String, "omradestyp": pl.Int64, "polisen": pl.Int64})
    from utanforskap.results import compare

    codes = compare.reference_codes(result.source.store)
    return codes.select("regso_kod", pl.col(compare.AREA_TYPE).alias("omradestyp"), pl.col(compare.POLICE).alias("polisen"))


def _grouped_ratios(areas: pl.DataFrame, pairs: dict[str, tuple[str, str, float]]) -> pl.DataFrame:
    """Σ täljare / Σ nämnare per kommun and nation, for listed, other and all areas."""
    sums = []
    for fid, (num, den, _) in pairs.items():
        ok = pl.col(num).is_not_null() & pl.col(den).is_not_null()
        sums += [pl.col(num).filter(ok).sum().alias(f"{fid}__t"), pl.col(den).filter(ok).sum().alias(f"{fid}__n")]
    sums += [pl.col("befolkning").sum().alias("befolkning"), pl.col("barn").sum().alias("barn"), pl.len().alias("omraden")]
    grupp = pl.when(pl.col("listad")).then(pl.lit("listade")).otherwise(pl.lit("ovriga"))
    by_kommun = areas.group_by("kommun_kod", grupp.alias("grupp")).agg(sums)
    whole_kommun = areas.group_by("kommun_kod").agg(sums).with_columns(pl.lit("kommun").alias("grupp"))
    by_riket = areas.group_by(grupp.alias("grupp")).agg(sums).with_columns(pl.lit("SE").alias("kommun_kod"))
    whole_riket = areas.select(sums).with_columns(pl.lit("SE").alias("kommun_kod"), pl.lit("riket").alias("grupp"))
    frames = [by_kommun, whole_kommun, by_riket, whole_riket]
    cols = frames[0].columns
    table = pl.concat([f.select(cols).with_columns(pl.col("omraden").cast(pl.Int64)) for f in frames])
    return table.rename({"kommun_kod": "omrade"}).select(
        "omrade", "grupp", "befolkning", "barn", "omraden",
        *[
            pl.when(pl.col(f"{fid}__n") > 0).then(pl.col(f"{fid}__t") / pl.col(f"{fid}__n") * scale).alias(fid)
            for fid, (_, _, scale) in pairs.items()
        ],
    )


def _with_level_values(ratios: pl.DataFrame, result: MapResult, factor_ids: list[str]) -> pl.DataFrame:
    """Whole kommuner and riket take the method's own values at those levels (results.levels),
    so reports, web pages and the API show the same figure; listed and other areas, which the
    store has no level for, keep their sums over areas."""
    columns = {f.id: f.varde for f in result.factors if f.id in factor_ids and f.varde}
    if not columns:
        return ratios
    for grupp, level in (("kommun", "kommun"), ("riket", "riket")):
        values = level_values(result, level)
        if values.is_empty():
            continue  # a store without that level: keep the sums over areas
        values = values.select("omrade", *[pl.col(v).alias(fid) for fid, v in columns.items()])
        if level == "riket":
            values = values.with_columns(pl.lit("SE").alias("omrade"))
        rows = ratios.filter(pl.col("grupp") == grupp).drop(list(columns)).join(values, on="omrade", how="left")
        ratios = pl.concat([ratios.filter(pl.col("grupp") != grupp), rows.select(ratios.columns)])
    return ratios


# ---- labour market ------------------------------------------------------------------------------------------------------
def _labour(result: MapResult, areas: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[str, str, str]]]:
    names = sorted({v for num, den, _, _ in LABOUR_CANDIDATES for v in (num, den)})
    obs = result.source.store.read(niva="regso", period=str(result.year), variabler=names)
    have = set(obs.filter(pl.col("varde").is_not_null())["variabel"].unique().to_list())
    chosen = [(num, den, label, kind) for num, den, label, kind in LABOUR_CANDIDATES if num in have and den in have]
    # Show one age band: the first (20–64, the likely official one) that has a total.
    bands = [c for c in chosen if c[3] == "totalt"]
    if bands:
        band = bands[0][0].removeprefix("sysselsatta_")
        chosen = [c for c in chosen if c[0] == f"sysselsatta_{band}" or c[0].startswith(f"sysselsatta_{band}_")]
    if not chosen:
        return pl.DataFrame(schema={"omrade": pl.String, "grupp": pl.String}), []
    wide = obs.pivot(on="variabel", index="omrade", values="varde").rename({"omrade": "regso_kod"})
    joined = areas.select("regso_kod", "kommun_kod", "listad").join(wide, on="regso_kod", how="left")
    pairs = {num: (num, den, 1.0) for num, den, _, _ in chosen}
    table = _grouped_ratios(joined.with_columns(pl.lit(0).alias("befolkning"), pl.lit(0).alias("barn")), pairs)
    measures = [(num, label, kind) for num, _, label, kind in chosen]
    return table.select("omrade", "grupp", *pairs), measures


# ---- crime over time ---------------------------------------------------------------------------------------------------
def _crime(result: MapResult, areas: pl.DataFrame) -> tuple[pl.DataFrame, list[int], pl.DataFrame, list[str], dict[int, int]]:
    """The series per group and year; the years shown; crimes without DeSO per kommun; the
    store's periods left out, and why; the population year each shown year is divided by."""
    store = result.source.store
    empty = pl.DataFrame(schema={"omrade": pl.String, "grupp": pl.String, "ar": pl.Int64, "brott": pl.Float64, "befolkning": pl.Float64, "per_1000": pl.Float64})
    obs = store.read(niva="regso", variabler=[CRIME_VARIABLE, "befolkning"])
    all_crimes = obs.filter(pl.col("variabel") == CRIME_VARIABLE)
    crimes = all_crimes.filter(pl.col("period").str.contains(r"^\d{4}$"))
    # A year counts when every area has a value (in the bundled data 2019 lacks four of the six codes).
    missing = crimes.group_by("period").agg(pl.col("varde").null_count().alias("n")).sort("period")
    years = sorted(int(p) for p in missing.filter(pl.col("n") == 0)["period"].to_list())
    left_out = [
        f"{row['period']} (uppgift saknas för {'alla' if row['n'] == areas.height else row['n']} områden)"
        for row in missing.filter(pl.col("n") > 0).iter_rows(named=True)
    ] + [f"{p} (inte ett helt år)" for p in sorted(set(all_crimes["period"].to_list()) - set(crimes["period"].to_list()))]
    pop = obs.filter(pl.col("variabel") == "befolkning").select(
        pl.col("omrade").alias("regso_kod"), pl.col("period").cast(pl.Int64).alias("pop_ar"), pl.col("varde").alias("befolkning")
    )
    pop_years = sorted(pop["pop_ar"].unique().to_list())
    if len(years) < 2 or not pop_years:
        return empty, [], pl.DataFrame(schema={"kommun_kod": pl.String, "brott": pl.Float64}), [], {}
    nearest = {y: min(pop_years, key=lambda p: (abs(p - y), -p)) for y in years}
    c = (
        crimes.filter(pl.col("period").is_in([str(y) for y in years]))
        .select(pl.col("omrade").alias("regso_kod"), pl.col("period").cast(pl.Int64).alias("ar"), pl.col("varde").alias("brott"))
        .with_columns(pl.col("ar").replace_strict(nearest, return_dtype=pl.Int64).alias("pop_ar"))
        .join(pop, on=["regso_kod", "pop_ar"], how="left")
        .join(areas.select("regso_kod", "kommun_kod", "listad"), on="regso_kod", how="inner")
    )
    grupp = pl.when(pl.col("listad")).then(pl.lit("listade")).otherwise(pl.lit("ovriga"))
    sums = [pl.col("brott").sum(), pl.col("befolkning").sum()]
    frames = [
        c.group_by(pl.col("kommun_kod").alias("omrade"), grupp.alias("grupp"), "ar").agg(sums),
        c.group_by(pl.col("kommun_kod").alias("omrade"), "ar").agg(sums).with_columns(pl.lit("kommun").alias("grupp")),
        c.group_by(grupp.alias("grupp"), "ar").agg(sums).with_columns(pl.lit("SE").alias("omrade")),
        c.group_by("ar").agg(sums).with_columns(pl.lit("SE").alias("omrade"), pl.lit("riket").alias("grupp")),
    ]
    table = pl.concat([f.select("omrade", "grupp", "ar", "brott", "befolkning") for f in frames]).with_columns(
        pl.when(pl.col("befolkning") > 0).then(pl.col("brott") / pl.col("befolkning") * 1000).alias("per_1000")
    ).sort("omrade", "grupp", "ar")
    unknown = store.read(niva="kommun", period=[str(y) for y in years], variabler=[CRIME_UNKNOWN])
    unknown = unknown.group_by(pl.col("omrade").alias("kommun_kod")).agg(pl.col("varde").sum().alias("brott"))
    return table, years, unknown, left_out, nearest


# ---- fit and comparison ------------------------------------------------------------------------------------------------
def _fit_and_compare(result: MapResult):
    from utanforskap.results import calibrate, compare

    if result.source.synthetic:
        note = "Jämförelsen med andra listor görs bara på verkliga data: de syntetiska områdena motsvarar inga verkliga."
        return None, None, None, note
    fit = calibrate.published_fit(result)
    try:
        lists, factors = compare.compare(result, result.source.store)
        note = ""
    except InputError as exc:
        lists, factors, note = None, None, f"Jämförelsen kunde inte göras: {exc}"
    return fit, lists, factors, note


# ---- lookups --------------------------------------------------------------------------------------------------------------
def kommun_row(kommuner: pl.DataFrame, code: str | None) -> dict:
    """The kommun's row of `kommuner` (geography.areas("kommun") or Prepared.kommuner)."""
    code = (code or "").strip()
    hit = kommuner.filter(pl.col("kommun_kod") == code)
    if hit.height:
        return hit.row(0, named=True)
    by_name = kommuner.filter(pl.col("kommun_namn").str.to_lowercase() == code.lower())
    hint = f" ({by_name['kommun_namn'][0]} har kod {by_name['kommun_kod'][0]})" if by_name.height else ""
    raise InputError(
        f"okänd kommunkod {code or '(tom)'}{hint}; ange en av Sveriges 290 kommunkoder, t.ex. 0180 för Stockholm"
    )


def area_row(areas: pl.DataFrame, code: str | None) -> dict:
    """The RegSO's row of `areas` (geography.areas("regso"), MapResult.omraden or Prepared.areas)."""
    code = (code or "").strip()
    hit = areas.filter(pl.col("regso_kod") == code)
    if hit.height:
        return hit.row(0, named=True)
    hint = ""
    deso = geography.mapping("deso", "regso").filter(pl.col("deso_kod") == code)
    if deso.height:
        hint = f" ({code} är en DeSO-kod; den ligger i RegSO {deso['regso_kod'][0]})"
    raise InputError(
        f"okänd områdeskod {code or '(tom)'}{hint}; ange en RegSO-kod (RegSO 2020), t.ex. 0180R001 – "
        "kommunens fyra siffror, R och tre siffror"
    )


def listed_per_kommun_alt(per_kommun: pl.DataFrame, riket: dict, year: int) -> str:
    """The alt text of listed_per_kommun: the totals and the kommuner with the most listed areas."""
    most = per_kommun.filter(pl.col("omraden") > 0).sort(["omraden", "befolkning"], descending=True).head(3)["kommun_namn"].to_list()
    return (
        f"Karta över Sveriges {per_kommun.height} kommuner färgade efter antal listade områden {year}: {riket['omraden']} områden i "
        f"{riket['kommuner']} kommuner" + (f"; flest i {', '.join(most)}" if most else "") + ". Kommuner utan listade områden är grå."
    )
