"""The map year by year: every area's values, flags and class over a range of years, which
areas entered or left the list and why, per kommun, and a summary per year.

    fu = follow_up("se-utanforskap-2024", range(2019, 2025), "syntetisk")
    fu.areas        # omraden_per_ar: one row per RegSO and year
    fu.changes      # forandringar: in | ut | upp | ned between consecutive years, with reasons
    fu.kommuner     # kommuner_per_ar
    fu.summary      # sammanfattning: per year
    fu.factor_years # which years each factor has data

Every year is `results.karta.compute(method, year, data)`; everything after that is one
columnar pass over all areas and years (polars window functions), never a loop over areas.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import polars as pl

from utanforskap.datasets import DataSource, open_source
from utanforskap.errors import InputError
from utanforskap.methods import loader
from utanforskap.results import karta
from utanforskap.results.inputs import method_inputs
from utanforskap.results.karta import Factor, MapResult

CHANGES = ("in", "ut", "upp", "ned", "ej jämförbar")


@dataclass(frozen=True, eq=False)
class FollowUp:
    method: loader.LoadedMethod
    years: list[int]
    source: DataSource
    maps: dict[int, MapResult]
    factors: list[Factor]
    factor_years: dict[str, list[int]]  # factor id -> years with a value for some area
    areas: pl.DataFrame
    changes: pl.DataFrame
    kommuner: pl.DataFrame
    summary: pl.DataFrame
    thresholds: pl.DataFrame  # ar, faktor, grans
    breaks: list = field(default_factory=list)  # followup.breaks.Crossed: the breaks the range crosses
    vintages: dict[int, str] = field(default_factory=dict)  # year -> area vintage of the data
    _memo: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def label(self) -> str:
        return self.source.description

    def factor_table(self) -> pl.DataFrame:
        """faktorer.csv: each factor, its status, and the years it has data (said plainly)."""
        rows = []
        for f in self.factors:
            have = self.factor_years.get(f.id, [])
            rows.append({
                "faktor": f.id, "namn": f.namn, "status": f.status,
                "ar_med_data": year_span(have) if have else "inga",
                "ar_utan_data": year_span([y for y in self.years if y not in have]) or "–",
            })
        return pl.DataFrame(rows, schema={k: pl.String for k in ("faktor", "namn", "status", "ar_med_data", "ar_utan_data")})

    def break_table(self) -> pl.DataFrame:
        """seriebrott.csv: every declared break the range crosses, the factors it touches and
        whether it applies to these data."""
        names = {f.id: f for f in self.factors}
        rows = []
        for c in self.breaks:
            touched = [fid for fid, vs in self._factor_variables().items() if "*" in c.brott.variabler or set(vs) & set(c.variables)]
            rows.append({
                "id": c.brott.id, "ar": c.brott.ar, "typ": c.brott.typ, "mellan": f"{c.brott.ar - 1}–{c.brott.ar}",
                "variabler": ", ".join(c.variables), "faktorer": ", ".join(names[t].namn for t in touched if t in names) or "–",
                "galler": "ja" if c.applies else f"nej: {c.note}", "beskrivning": c.brott.beskrivning,
                "kalla": c.brott.kalla, "proveniens": c.brott.proveniens,
            })
        cols = ("id", "ar", "typ", "mellan", "variabler", "faktorer", "galler", "beskrivning", "kalla", "proveniens")
        return pl.DataFrame(rows, schema={k: (pl.Int64 if k == "ar" else pl.String) for k in cols})

    def _factor_variables(self) -> dict[str, list[str]]:
        steps = {st.namn: st for st in self.method.method.steg}
        indata = self.method.method.indata
        return {
            f.id: sorted({indata[c].variabel or c for c in _columns_behind(steps, f.flagga or f.varde) if c in indata})
            for f in self.factors
        }


def year_span(years: Iterable[int]) -> str:
    """2019–2024, or 2019, 2021–2022 when there are gaps."""
    ys = sorted(set(years))
    parts, start = [], None
    for i, y in enumerate(ys):
        if start is None:
            start = y
        if i == len(ys) - 1 or ys[i + 1] != y + 1:
            parts.append(str(start) if start == y else f"{start}–{y}")
            start = None
    return ", ".join(parts)


def parse_years(fran: int, till: int) -> list[int]:
    if till < fran:
        raise InputError(f"--fran {fran} --till {till}: slutåret är före startåret; ange --fran ÅR --till ÅR med --fran först")
    if till == fran:
        raise InputError(f"--fran {fran} --till {till}: uppföljning kräver minst två år; ange t.ex. --fran {fran} --till {fran + 1}")
    if till - fran > 50:
        raise InputError(f"--fran {fran} --till {till}: högst 50 år åt gången")
    return list(range(fran, till + 1))


# ---- which years each input and factor has -------------------------------------------------
def _input_years(store, variables: list[str]) -> dict[str, set[int]]:
    """The whole years in which each variable has a value for some RegSO (a period such as
    2024K1, or a year whose values are all missing, does not count)."""
    if not variables:
        return {}
    marks = ", ".join("?" for _ in variables)
    df = store.sql(
        f"SELECT DISTINCT variabel, period FROM observationer WHERE niva = 'regso' AND variabel IN ({marks}) "
        "AND COALESCE(varde, taljare, namnare) IS NOT NULL", variables
    )
    out: dict[str, set[int]] = {v: set() for v in variables}
    for v, p in df.iter_rows():
        if str(p).isdigit():
            out[v].add(int(p))
    return out


def _columns_behind(steps: dict, column: str) -> set[str]:
    """The method inputs a column is computed from (following the steps back)."""
    seen, todo, inputs = set(), [column], set()
    while todo:
        c = todo.pop()
        if c in seen:
            continue
        seen.add(c)
        if c in steps:
            todo.extend(col for _, col in loader.step_columns(steps[c]))
        else:
            inputs.add(c)
    return inputs


def check_years(loaded: loader.LoadedMethod, source: DataSource, years: list[int], have: dict[str, set[int]] | None = None) -> dict[str, list[int]]:
    """Which of `years` each factor has; an error naming the factor (or input), the missing
    years and the years that exist when something the map needs is absent."""
    method = loaded.method
    steps = {s.namn: s for s in method.steg}
    skip = {"kommun_kod", "kommun_namn", "lan_kod", "lan_namn", "regso_kod", "regso_namn"}
    specs = {n: s for n, s in method.indata.items() if not (s.typ == "text" and n in skip)}
    if have is None:
        have = _input_years(source.store, sorted({s.variabel or n for n, s in specs.items()} | {"befolkning"}))

    def ok_years(name: str) -> set[int]:
        spec = specs[name]
        exist = have.get(spec.variabel or name, set())
        return {y for y in years if all(y + off in exist for off in spec.perioder)}

    factors = karta.factors(loaded)
    out: dict[str, list[int]] = {}
    owned: set[str] = set()
    for f in factors:
        if not f.measured:
            continue
        inputs = {c for c in _columns_behind(steps, f.flagga or f.varde) if c in specs}
        owned |= inputs
        ys = set(years)
        for name in sorted(inputs):
            good = ok_years(name)
            if good != set(years):
                spec = specs[name]
                exist = sorted(have.get(spec.variabel or name, set()))
                missing = sorted(set(years) - good)
                lag = "" if spec.perioder == [0] else f" (summerar åren {', '.join(f'{o:+d}' for o in spec.perioder)} kring varje år)"
                raise InputError(
                    f"{source.store.root}: faktorn {f.id} ({f.namn}) saknar data år {year_span(missing)}: indata {name}, "
                    f"variabeln {spec.variabel or name}{lag} finns för {year_span(exist) or 'inga år'}; "
                    "välj --fran/--till inom de åren eller en metod med bara de faktorerna"
                )
            ys &= good
        out[f.id] = sorted(ys)
    for name in sorted(set(specs) - owned) + ["befolkning"]:
        key = specs[name].variabel or name if name in specs else name
        exist = have.get(key, set())
        missing = sorted(set(years) - (ok_years(name) if name in specs else exist))
        if missing:
            raise InputError(
                f"{source.store.root}: variabeln {key} saknas år {year_span(missing)} (finns för {year_span(exist) or 'inga år'}); "
                "välj --fran/--till inom de åren"
            )
    return out


# ---- the follow-up --------------------------------------------------------------------------
class _Prefetched:
    """The RegSO observations a follow-up needs, read once; answers `read` as the store does
    (results.inputs and karta.areas_with_population read through it)."""

    def __init__(self, root, frame: pl.DataFrame):
        self.root = root
        self.frame = frame

    @classmethod
    def fetch(cls, store, loaded) -> _Prefetched:
        """Every RegSO observation of the method's variables, all periods, in one query."""
        variables = sorted({sp.variabel or n for n, sp in loaded.method.indata.items()} | {"befolkning", "befolkning_0_19"})
        marks = ", ".join("?" for _ in variables)
        df = store.sql(f"SELECT * FROM observationer WHERE niva = 'regso' AND variabel IN ({marks})", variables)
        from utanforskap.observations import schema as obs_schema

        return cls(store.root, df.select(pl.col(c).cast(t) for c, t in obs_schema.COLUMNS.items()))

    def years(self) -> dict[str, set[int]]:
        """Variable -> whole years with a value for some RegSO (as _input_years)."""
        known = self.frame.filter(pl.coalesce("varde", "taljare", "namnare").is_not_null() & pl.col("period").str.contains(r"^\d{4}$"))
        pairs = known.select("variabel", pl.col("period").cast(pl.Int64)).unique()
        out: dict[str, set[int]] = {}
        for v, p in pairs.iter_rows():
            out.setdefault(v, set()).add(p)
        return out

    def read(self, *, niva=None, period=None, variabler=None) -> pl.DataFrame:
        df = self.frame
        if niva is not None:
            df = df.filter(pl.col("niva") == niva)
        if period is not None:
            df = df.filter(pl.col("period").is_in([period] if isinstance(period, str) else list(period)))
        if variabler is not None:
            df = df.filter(pl.col("variabel").is_in(list(variabler)))
        return df



def follow_up(
    method: str | os.PathLike[str] | None,
    years: Iterable[int],
    data: str | os.PathLike[str] | DataSource = "paket",
    progress: Callable[[str], None] | None = None,
) -> FollowUp:
    years = sorted(set(years))
    if len(years) < 2:
        raise InputError("uppföljning kräver minst två år")
    source = data if isinstance(data, DataSource) else open_source(data)
    if method is None:
        method = karta.DEFAULT_SYNTHETIC_METHOD if source.synthetic else karta.DEFAULT_METHOD
    loaded = loader.load(method)
    if loaded.method.nyckel != "regso_kod":
        raise InputError(f"{loaded.source}: kartan körs på RegSO; metodens nyckel måste vara regso_kod (är {loaded.method.nyckel})")
    # One read of the store for every year (a store read scans its files; once per year is 12 scans).
    store = _Prefetched.fetch(source.store, loaded)
    factor_years = check_years(loaded, source, years, have=store.years())
    maps: dict[int, MapResult] = {}
    for y in years:
        if progress:
            progress(f"beräknar {y}")
        inputs = method_inputs(loaded, store, y)
        areas = karta.areas_with_population(store, y)
        maps[y] = karta.classify(loaded, inputs, areas, source, y)
    if progress:
        progress("jämför åren")
    return assemble(loaded, source, maps, factor_years)


def _comparability(source: DataSource, years: list[int]) -> tuple[dict[int, str], list, pl.DataFrame | None]:
    """The vintage of each year's data, the breaks the range crosses, and (when the years span
    two area vintages) each RegSO's change code from the stored key."""
    from utanforskap.followup import breaks
    from utanforskap.sources import vintage_keys

    vint = breaks.vintage_years(source.store, years)
    changes = None
    if len(set(vint.values())) > 1:
        key = vintage_keys.read(source.store.root)
        if key is None:
            new = year_span(y for y, v in vint.items() if v == breaks.NEW_VINTAGE)
            raise InputError(
                f"{source.store.root}: åren {new} är i {breaks.NEW_VINTAGE}, övriga i {breaks.OLD_VINTAGE}, och lagret har ingen "
                f"nyckel mellan indelningarna ({vintage_keys.KEY_FILE}); hämta den med utanforskap hamta --omradesnycklar "
                "(eller --nyckelfil FIL), eller välj år i en indelning"
            )
        from utanforskap.geography import vintages

        changes = vintages.area_changes(key, "regso").rename({"kod": "regso_kod"})
    return vint, [], changes


def assemble(loaded, source: DataSource, maps: dict[int, MapResult], factor_years: dict[str, list[int]]) -> FollowUp:
    years = sorted(maps)
    first = maps[years[0]]
    factors = [f for f in karta.factor_details(first) if f.measured and f.flagga]
    classes = karta.classes(first)
    rank = {k: len(classes) - i for i, k in enumerate(classes)}
    areas = pl.concat(
        [karta.areas_file_frame(maps[y]).with_columns(pl.lit(y, dtype=pl.Int64).alias("ar")) for y in years], how="diagonal_relaxed"
    )
    front = ["regso_kod", "ar"]
    areas = areas.select(*front, *[c for c in areas.columns if c not in front]).sort("regso_kod", "ar")
    thresholds = pl.DataFrame(
        [{"ar": y, "faktor": f.id, "grans": f.grans} for y in years for f in karta.factor_details(maps[y]) if f.measured and f.flagga],
        schema={"ar": pl.Int64, "faktor": pl.String, "grans": pl.Float64},
    )
    from utanforskap.followup import breaks as br

    vint, _, area_key = _comparability(source, years)
    variables = {sp.variabel or n for n, sp in loaded.method.indata.items() if sp.typ != "text"} | {"befolkning"}
    crossed = br.crossed(br.load(), variables, years[0], years[-1], vintages=vint)
    first_new = min((y for y, v in vint.items() if v == br.NEW_VINTAGE), default=None)
    areas = _mark_comparability(areas, vint, area_key, first_new)
    changes = _changes(areas, factors, rank, thresholds)
    changes = _with_breaks(changes, crossed, first_new)
    summary = _summary(areas, changes, classes)
    kommuner = _kommuner(areas, changes)
    per_year = {y: "; ".join(c.brott.id for c in crossed if c.applies and c.brott.ar == y) for y in years}
    label = source.description
    areas = areas.with_columns(
        pl.col("ar").replace_strict(per_year, return_dtype=pl.String, default="").alias("seriebrott"),
        pl.lit(label).alias("datakalla"),
    )
    return FollowUp(loaded, years, source, maps, factors, factor_years, areas, changes, kommuner, summary, thresholds, crossed, vint)


def _mark_comparability(areas: pl.DataFrame, vint: dict[int, str], area_key: pl.DataFrame | None, first_new: int | None) -> pl.DataFrame:
    """indelning (the year's area vintage) and jamforbarhet: "jämförbar", or from the first
    year of the new vintage "ej jämförbar: <reason>" for every RegSO not unchanged by the key."""
    areas = areas.with_columns(indelning=pl.col("ar").replace_strict(vint, return_dtype=pl.String, default=None))
    if area_key is None or first_new is None:
        return areas.with_columns(jamforbarhet=pl.lit("jämförbar"))
    areas = areas.join(area_key.select("regso_kod", pl.col("andring").alias("_omr_andring"), pl.col("orsak").alias("_omr_orsak")), on="regso_kod", how="left")
    broken = (pl.col("ar") >= first_new) & (pl.col("_omr_andring").fill_null("ändrad") != "oförändrad")
    why = pl.coalesce(pl.col("_omr_orsak"), pl.lit("koden saknas i nyckeln mellan indelningarna"))
    return areas.with_columns(
        jamforbarhet=pl.when(broken).then(pl.format("ej jämförbar: {} ({})", pl.col("_omr_andring").fill_null("ändrad"), why)).otherwise(pl.lit("jämförbar"))
    ).drop("_omr_andring", "_omr_orsak")


def _with_breaks(changes: pl.DataFrame, crossed: list, first_new: int | None) -> pl.DataFrame:
    """seriebrott per change (the applying breaks between fran_ar and till_ar); a change across
    the area-vintage break of an area that is not unchanged is "ej jämförbar" with the reason,
    never a confirmed exit."""
    applying = [c for c in crossed if c.applies]
    if applying:
        expr = pl.concat_list([
            pl.when((pl.col("fran_ar") < c.brott.ar) & (pl.col("till_ar") >= c.brott.ar)).then(pl.lit(c.brott.id)) for c in applying
        ]).list.drop_nulls().list.join("; ")
    else:
        expr = pl.lit("")
    changes = changes.with_columns(seriebrott=expr)
    if first_new is None:
        return changes
    across = (pl.col("fran_ar") < first_new) & (pl.col("till_ar") >= first_new) & pl.col("jamforbarhet").str.starts_with("ej")
    return changes.with_columns(
        orsak=pl.when(across).then(pl.col("jamforbarhet")).otherwise(pl.col("orsak")),
        bekraftad=pl.when(across & (pl.col("andring") == "ut")).then(pl.lit("nej: ej jämförbar")).otherwise(pl.col("bekraftad")),
    )


def _changes(areas: pl.DataFrame, factors: list[Factor], rank: dict[str, int], thresholds: pl.DataFrame) -> pl.DataFrame:
    """forandringar: one row per area and pair of consecutive years where it entered (in),
    left (ut), moved up (upp) or down (ned) a class, with the flags that changed, the margin
    to each threshold in the later year, the reason for an exit, whether an exit is
    confirmed by the year after, and whether the area flips back the next year."""
    by = "regso_kod"
    r = pl.col("klass").replace_strict(rank, default=0, return_dtype=pl.Int64)
    df = areas.with_columns(_rank=r)
    prev = lambda c: pl.col(c).shift(1).over(by, order_by="ar")
    nxt = lambda c: pl.col(c).shift(-1).over(by, order_by="ar")
    wide_t = (
        thresholds.pivot(on="faktor", index="ar", values="grans").rename({f.id: f"_grans_{f.id}" for f in factors}, strict=False)
        if thresholds.height else pl.DataFrame({"ar": []}, schema={"ar": pl.Int64})
    )
    df = df.join(wide_t, on="ar", how="left")
    df = df.with_columns(
        fran_ar=prev("ar"), _rank_prev=prev("_rank"), _rank_next=nxt("_rank"),
        **{f"_prev_{f.flagga}": prev(f.flagga) for f in factors},
        _saknade_prev=prev("antal_saknade") if "antal_saknade" in areas.columns else pl.lit(None),
        _bef_prev=prev("befolkning"),
        _jf_prev=prev("jamforbarhet") if "jamforbarhet" in areas.columns else pl.lit(None, pl.String),
    ).filter(pl.col("fran_ar").is_not_null())
    listed_before, listed_now = pl.col("_rank_prev") > 0, pl.col("_rank") > 0
    andring = (
        pl.when(~listed_before & listed_now).then(pl.lit("in"))
        .when(listed_before & ~listed_now).then(pl.lit("ut"))
        .when(listed_before & (pl.col("_rank") > pl.col("_rank_prev"))).then(pl.lit("upp"))
        .when(listed_before & (pl.col("_rank") < pl.col("_rank_prev"))).then(pl.lit("ned"))
    )
    if "jamforbarhet" in df.columns:
        # Across the area-vintage break a listed area that is not unchanged is its own row.
        crossing = pl.col("jamforbarhet").str.starts_with("ej") & ~pl.col("_jf_prev").str.starts_with("ej")
        andring = pl.when(andring.is_null() & crossing & (listed_before | listed_now)).then(pl.lit("ej jämförbar")).otherwise(andring)
    df = df.with_columns(andring=andring).filter(pl.col("andring").is_not_null())

    def flag_change(f: Factor) -> pl.Expr:
        now, before = pl.col(f.flagga).cast(pl.Boolean), pl.col(f"_prev_{f.flagga}").cast(pl.Boolean)
        return (
            pl.when(now & ~before).then(pl.lit(f"+{f.id}"))
            .when(~now & before).then(pl.lit(f"-{f.id}"))
            .when(now.is_null() & before.is_not_null()).then(pl.lit(f"{f.id} saknas"))
            .when(now.is_not_null() & before.is_null()).then(pl.lit(f"{f.id} åter mätt"))
        )

    def margin(f: Factor) -> pl.Expr:
        diff = pl.col(f.varde) - pl.col(f"_grans_{f.id}") if f.varde and f"_grans_{f.id}" in df.columns else pl.lit(None, pl.Float64)
        return (-diff if f.low_is_bad else diff).alias(f"marginal_{f.id}")

    def lost(f: Factor) -> pl.Expr:
        now, before = pl.col(f.flagga).cast(pl.Boolean), pl.col(f"_prev_{f.flagga}").cast(pl.Boolean)
        tail = (
            pl.format(" (marginal {})", pl.col(f"marginal_{f.id}").round(4).cast(pl.String).str.replace(".", ",", literal=True))
            if f.varde else pl.lit("")
        )
        return (
            pl.when(before & (now == False)).then(pl.concat_str(pl.lit(f"{f.namn} under tröskeln"), tail))
            .when(before & now.is_null()).then(pl.lit(f"{f.namn} bedöms inte (grind eller saknad uppgift)"))
        )

    df = df.with_columns(
        *[margin(f) for f in factors],
        andrade_flaggor=pl.concat_list([flag_change(f) for f in factors]).list.drop_nulls().list.join(", ") if factors else pl.lit(""),
    )
    missing_now = pl.col("befolkning").is_null() | (pl.col("befolkning") == 0)
    reasons = pl.concat_list([lost(f) for f in factors]).list.drop_nulls().list.join("; ") if factors else pl.lit("")
    df = df.with_columns(
        orsak=pl.when(pl.col("andring") != "ut").then(None)
        .when(missing_now).then(pl.format("ej jämförbar: området saknar befolkning år {}", pl.col("ar")))
        .when(reasons != "").then(reasons)
        .otherwise(pl.lit("färre flaggor än gränsen (se andrade_flaggor)")),
        bekraftad=pl.when(pl.col("andring") != "ut").then(None)
        .when(pl.col("_rank_next").is_null()).then(pl.lit("ej ännu (sista året)"))
        .when(pl.col("_rank_next") == 0).then(pl.lit("ja"))
        .otherwise(pl.format("nej: listat igen {}", pl.col("ar") + 1)),
        vaxlar=pl.when(pl.col("andring") == "in").then(pl.col("_rank_next") == 0)
        .when(pl.col("andring") == "ut").then(pl.col("_rank_next") > 0)
        .otherwise(None),
    )
    cols = [
        "regso_kod", "regso_namn", "kommun_kod", "kommun_namn", "fran_ar", pl.col("ar").alias("till_ar"), "andring",
        pl.col("klass").alias("klass_till"), "antal_flaggor", "andrade_flaggor", "orsak", "bekraftad", "vaxlar",
        *[f"marginal_{f.id}" for f in factors],
        *[c for c in ("jamforbarhet",) if c in df.columns],
    ]
    return df.select(cols).with_columns(pl.col("fran_ar").cast(pl.Int64)).sort("till_ar", "kommun_kod", "regso_kod")


def _summary(areas: pl.DataFrame, changes: pl.DataFrame, classes: list[str]) -> pl.DataFrame:
    first_year = areas["ar"].min()
    listed = pl.col("klass").is_not_null()
    df = areas.with_columns(
        _listed=listed,
        _listed_prev=listed.shift(1).over("regso_kod", order_by="ar"),
        _listed_first=listed.filter(pl.col("ar") == first_year).first().over("regso_kod"),
    )
    top = classes[0] if len(classes) > 1 else None
    per_year = df.group_by("ar").agg(
        pl.col("_listed").sum().cast(pl.Int64).alias("omraden"),
        ((pl.col("klass") == top).fill_null(False).sum() if top else pl.lit(None)).cast(pl.Int64).alias("sarskilt"),
        pl.col("kommun_kod").filter(pl.col("_listed")).n_unique().cast(pl.Int64).alias("kommuner"),
        pl.col("befolkning").filter(pl.col("_listed")).sum().cast(pl.Int64).alias("befolkning"),
        pl.col("barn").filter(pl.col("_listed")).sum().cast(pl.Int64).alias("barn"),
        (pl.col("_listed") & pl.col("_listed_first")).sum().cast(pl.Int64).alias("_kvar_forsta"),
        pl.col("_listed_first").sum().cast(pl.Int64).alias("_forsta"),
        (pl.col("_listed") & pl.col("_listed_prev")).sum().cast(pl.Int64).alias("_kvar_foreg"),
        pl.col("_listed_prev").sum().cast(pl.Int64).alias("_foreg"),
    )
    moves = changes.group_by("till_ar").agg(
        (pl.col("andring") == "in").sum().cast(pl.Int64).alias("in"),
        (pl.col("andring") == "ut").sum().cast(pl.Int64).alias("ut"),
        ((pl.col("andring") == "ut") & (pl.col("bekraftad") == "ja")).sum().cast(pl.Int64).alias("ut_bekraftade"),
        pl.col("vaxlar").fill_null(False).sum().cast(pl.Int64).alias("vaxlande"),
    ).rename({"till_ar": "ar"})
    out = per_year.join(moves, on="ar", how="left").sort("ar")
    is_first = pl.col("ar") == first_year
    return out.select(
        "ar", "omraden", "sarskilt", "kommuner", "befolkning", "barn",
        pl.when(is_first).then(None).otherwise(pl.col("in").fill_null(0)).alias("in"),
        pl.when(is_first).then(None).otherwise(pl.col("ut").fill_null(0)).alias("ut"),
        pl.when(is_first).then(None).otherwise(pl.col("ut_bekraftade").fill_null(0)).alias("ut_bekraftade"),
        pl.when(is_first).then(None).otherwise(pl.col("vaxlande").fill_null(0)).alias("vaxlande"),
        pl.when(pl.col("_forsta") > 0).then(pl.col("_kvar_forsta") / pl.col("_forsta")).alias("persistens_mot_forsta_aret"),
        pl.when(~is_first & (pl.col("_foreg") > 0)).then(pl.col("_kvar_foreg") / pl.col("_foreg")).alias("persistens_mot_foregaende_ar"),
    )


def _known_sum(col: pl.Expr) -> pl.Expr:
    """The sum, or null when a term is missing (e.g. a count hidden by disclosure control):
    a sum over the known terms alone would publish an undercount, and 0/0 a NaN."""
    return pl.when(col.null_count() == 0).then(col.sum().cast(pl.Int64))


def _kommuner(areas: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    listed = pl.col("klass").is_not_null()
    per = areas.group_by("ar", "kommun_kod", "kommun_namn", "lan_kod").agg(
        listed.sum().cast(pl.Int64).alias("omraden"),
        _known_sum(pl.col("befolkning").filter(listed)).alias("befolkning"),
        _known_sum(pl.col("barn").filter(listed)).alias("barn"),
        _known_sum(pl.col("befolkning")).alias("befolkning_totalt"),
    )
    moves = changes.group_by(pl.col("till_ar").alias("ar"), "kommun_kod").agg(
        (pl.col("andring") == "in").sum().cast(pl.Int64).alias("in"),
        (pl.col("andring") == "ut").sum().cast(pl.Int64).alias("ut"),
        pl.col("regso_kod").filter(pl.col("andring") == "in").sort().str.join(", ").alias("in_omraden"),
        pl.col("regso_kod").filter(pl.col("andring") == "ut").sort().str.join(", ").alias("ut_omraden"),
    )
    out = per.join(moves, on=["ar", "kommun_kod"], how="left").with_columns(
        pl.col("in").fill_null(0), pl.col("ut").fill_null(0),
        pl.when(pl.col("befolkning_totalt") > 0).then(pl.col("befolkning") / pl.col("befolkning_totalt")).alias("andel_befolkning"),
    )
    return out.sort("kommun_kod", "ar").select(
        "kommun_kod", "kommun_namn", "lan_kod", "ar", "omraden", "befolkning", "barn", "befolkning_totalt", "andel_befolkning",
        "in", "ut", "in_omraden", "ut_omraden",
    )



