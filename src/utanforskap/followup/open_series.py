"""Real series over time from the bundled open data, where the map's other factors have one year:

* the crime factor year by year: the six police codes per RegSO and year (whole years
  2020-2023; 2019 has no DeSO codes, 2024 only its first quarter), per 1 000 inhabitants,
  flagged at the method's multiple of the national rate: relative (each year's national
  rate) and fixed (the base year's national rate);
* SCB/Boverket's områdestyp 2022 and 2023: which RegSO entered or left type 1.

    crime = crime_flags(store, method="se-oppna-data-2022", base_year=2022)
    types = area_type_changes(store)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import polars as pl

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.followup.series import year_span
from utanforskap.methods import loader
from utanforskap.observations.store import ObservationStore

CRIME_VARIABLE = "brott_urval"
CRIME_NOTES = {
    2019: "saknas: Polisens DeSO-kodning började 2020 (2019 års brott har ingen DeSO-kod)",
    2024: "saknas: bara första kvartalet 2024 finns i underlaget",
}


def crime_years(store: ObservationStore) -> tuple[list[int], dict[int, str]]:
    """Whole years with crime counts per RegSO, and what is said about the other years."""
    df = store.sql(
        "SELECT period, count(varde) AS n FROM observationer WHERE niva = 'regso' AND variabel = ? GROUP BY period",
        [CRIME_VARIABLE],
    )
    have = sorted(int(p) for p, n in df.iter_rows() if str(p).isdigit() and n > 0)
    periods = [str(p) for p in df["period"].to_list()]
    notes = {y: t for y, t in CRIME_NOTES.items() if y not in have and (str(y) in periods or any(p.startswith(str(y)) for p in periods))}
    return have, notes


def crime_flags(store: ObservationStore, method: str = "se-oppna-data-2022", base_year: int = 2022) -> pl.DataFrame:
    """One row per RegSO and whole year: crimes, inhabitants (the nearest year with a
    population count), crimes per 1 000, the national rate, and the crime flag relative to
    the year's national rate and fixed at `base_year`'s national rate. The multiple is the
    method's parameter `multipel_brott` (a single year's count, not the method's 3-year sum)."""
    loaded = loader.load(method)
    param = loaded.method.parametrar.get("multipel_brott")
    if param is None or isinstance(param.varde, list):
        raise InputError(f"{loaded.source}: parametern multipel_brott saknas; brottsflaggorna per år behöver den")
    multiple = float(param.varde)
    years, _ = crime_years(store)
    if base_year not in years:
        raise InputError(f"{store.root}: basåret {base_year} saknar brottsdata; år med data: {', '.join(map(str, years))}")
    obs = store.read(niva="regso", variabler=[CRIME_VARIABLE, "befolkning"])
    obs = obs.filter(pl.col("period").str.contains(r"^\d{4}$")).with_columns(ar=pl.col("period").cast(pl.Int64))
    crimes = obs.filter((pl.col("variabel") == CRIME_VARIABLE) & pl.col("ar").is_in(years)).select(
        pl.col("omrade").alias("regso_kod"), "ar", pl.col("varde").alias("brott")
    )
    pop = obs.filter(pl.col("variabel") == "befolkning").select(pl.col("omrade").alias("regso_kod"), pl.col("ar").alias("befolkning_ar"), pl.col("varde").alias("befolkning"))
    pop_years = sorted(pop["befolkning_ar"].unique().to_list())
    if not pop_years:
        raise InputError(f"{store.root}: befolkning saknas för RegSO; brottstalen behöver den")
    nearest = pl.DataFrame({"ar": years, "befolkning_ar": [min(pop_years, key=lambda p: (abs(p - y), -p)) for y in years]})
    df = crimes.join(nearest, on="ar").join(pop, on=["regso_kod", "befolkning_ar"], how="left")
    df = df.with_columns(brott_per_1000=pl.when(pl.col("befolkning") > 0).then(pl.col("brott") / pl.col("befolkning") * 1000))
    national = df.group_by("ar").agg((pl.col("brott").sum() / pl.col("befolkning").filter(pl.col("brott").is_not_null()).sum() * 1000).alias("riket_per_1000"))
    base_rate = national.filter(pl.col("ar") == base_year)["riket_per_1000"][0]
    df = df.join(national, on="ar").with_columns(
        grans_relativ=pl.col("riket_per_1000") * multiple,
        grans_fixerad=pl.lit(base_rate * multiple),
    ).with_columns(
        flagga_relativ=pl.col("brott_per_1000") >= pl.col("grans_relativ"),
        flagga_fixerad=pl.col("brott_per_1000") >= pl.col("grans_fixerad"),
    )
    names = geography.areas("regso").select("regso_kod", "regso_namn", "kommun_kod", "kommun_namn")
    return names.join(df, on="regso_kod", how="inner").sort("regso_kod", "ar").with_columns(
        multipel=pl.lit(multiple), basar=pl.lit(base_year),
        datakalla=pl.lit("Polisen: anmälda brott med sex brottskoder per DeSO (verkliga öppna data); SCB: befolkning"),
    )


def crime_summary(flags: pl.DataFrame) -> pl.DataFrame:
    """Per year: the national rate, flagged RegSO (relative and fixed), entries and exits of the flag."""
    prev = lambda c: pl.col(c).shift(1).over("regso_kod", order_by="ar")
    d = flags.with_columns(_p_rel=prev("flagga_relativ"), _p_fix=prev("flagga_fixerad"))
    return d.group_by("ar").agg(
        pl.col("riket_per_1000").first(),
        pl.col("befolkning_ar").first(),
        pl.col("flagga_relativ").sum().cast(pl.Int64).alias("flaggade_relativ"),
        pl.col("flagga_fixerad").sum().cast(pl.Int64).alias("flaggade_fixerad"),
        (pl.col("flagga_relativ") & (pl.col("_p_rel") == False)).sum().cast(pl.Int64).alias("nya_relativ"),
        (~pl.col("flagga_relativ") & pl.col("_p_rel")).sum().cast(pl.Int64).alias("upphorda_relativ"),
        (pl.col("flagga_fixerad") & (pl.col("_p_fix") == False)).sum().cast(pl.Int64).alias("nya_fixerad"),
        (~pl.col("flagga_fixerad") & pl.col("_p_fix")).sum().cast(pl.Int64).alias("upphorda_fixerad"),
    ).sort("ar")


def area_type_changes(store: ObservationStore) -> pl.DataFrame:
    """Every RegSO with its områdestyp each bundled year, and `andring` (in | ut of type 1,
    or null) between consecutive years."""
    obs = store.read(niva="regso", variabler=["omradestyp"])
    years = sorted(int(p) for p in obs["period"].unique().to_list() if str(p).isdigit())
    if len(years) < 2:
        raise InputError(f"{store.root}: områdestyp finns bara för {', '.join(map(str, years)) or 'inga år'}; jämförelsen behöver två år")
    wide = obs.with_columns(ar=pl.col("period").cast(pl.Int64)).select(pl.col("omrade").alias("regso_kod"), "ar", pl.col("varde").cast(pl.Int64).alias("typ"))
    wide = wide.with_columns(typ_fore=pl.col("typ").shift(1).over("regso_kod", order_by="ar"), fran_ar=pl.col("ar").shift(1).over("regso_kod", order_by="ar"))
    changes = wide.filter(pl.col("fran_ar").is_not_null()).with_columns(
        andring=pl.when((pl.col("typ") == 1) & (pl.col("typ_fore") != 1)).then(pl.lit("in"))
        .when((pl.col("typ") != 1) & (pl.col("typ_fore") == 1)).then(pl.lit("ut"))
    )
    names = geography.areas("regso").select("regso_kod", "regso_namn", "kommun_kod", "kommun_namn")
    return names.join(changes, on="regso_kod").select(
        "regso_kod", "regso_namn", "kommun_kod", "kommun_namn", pl.col("fran_ar").cast(pl.Int64), pl.col("ar").alias("till_ar"),
        pl.col("typ_fore").alias("typ_fran"), pl.col("typ").alias("typ_till"), "andring",
    ).with_columns(datakalla=pl.lit("SCB/Boverket: Segregationsbarometerns områdestyp (verkliga öppna data)")).sort("till_ar", "regso_kod")


@dataclass(frozen=True)
class RealSeries:
    crime: pl.DataFrame
    crime_summary: pl.DataFrame
    types: pl.DataFrame
    factor_rows: pl.DataFrame  # faktorer.csv rows: which years each real factor has, and why not the others


@functools.lru_cache(maxsize=4)
def bundled(years: tuple[int, ...]) -> RealSeries | None:
    """The real series in the bundle beside any follow-up (also a synthetic one), and for each
    of them the years it has within `years` and the reason for each year it lacks. None when
    the bundle lacks them (said by the caller's files having no such rows)."""
    from utanforskap.sources import bundle

    store = bundle.default_store()
    try:
        have, notes = crime_years(store)
        crime = crime_flags(store)
        types = area_type_changes(store)
    except InputError:
        return None
    label = "VERKLIGA ÖPPNA DATA (paketet), inte uppföljningens datakälla"
    type_years = sorted(set(types["fran_ar"].to_list()) | set(types["till_ar"].to_list()))
    missing_crime = [y for y in years if y not in have]
    why = {y: notes.get(y, "saknas i underlaget").removeprefix("saknas: ") for y in missing_crime}
    rows = [
        {"faktor": "kriminalitet_verklig", "namn": "Kriminalitet: Polisens sex brottskoder per RegSO (verkliga data)", "status": label,
         "ar_med_data": year_span(y for y in have if y in years) or "inga", "ar_utan_data": "; ".join(f"{y}: {t}" for y, t in why.items()) or "–"},
        {"faktor": "omradestyp_verklig", "namn": "Områdestyp (SCB/Boverket, verkliga data)", "status": label,
         "ar_med_data": year_span(y for y in type_years if y in years) or "inga",
         "ar_utan_data": (year_span(y for y in years if y not in type_years) + ": finns inte i paketet (SCB:s serie TAB6586)") if set(years) - set(type_years) else "–"},
    ]
    factor_rows = pl.DataFrame(rows).with_columns(datakalla=pl.lit(label))
    crime = crime.filter(pl.col("ar").is_in(years))
    return RealSeries(crime, crime_summary(crime) if crime.height else crime_summary(crime_flags(store)).head(0), types, factor_rows)
