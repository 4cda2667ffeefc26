"""Labour-market follow-up by sex and by birth region: listed areas against the rest of the kommun and the country.

Employment, unemployment and long-term unemployment, year by year, for everyone and for
women, men, persons born in Sweden and persons born abroad, from whatever the store holds:

* counts (microdata through `utanforskap aggregera`, or the synthetic population): ratios of
  summed numerators and denominators for the listed areas, the rest of the kommun, the whole
  kommun and the country. Rates are never averaged; a suppressed or missing cell in a group
  makes that group's value unknown (the protected cells stay protected).
* SCB's integration table IntGr1RegSOBASN (fetched by `utanforskap hamta`): SCB's own
  percentages per RegSO. They come without numerators and denominators, so they cannot be
  summed into "listed areas" or "the rest of the kommun": each listed area is shown on its own.

`followup(store, kommun, listed)` returns a tidy frame; the report section and the web pages
draw it, the API serves it, and the exports write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from utanforskap import geography
from utanforskap.observations.store import ObservationStore

GROUPS = {"": "Alla", "_kvinnor": "Kvinnor", "_man": "Män", "_inrikes_fodda": "Inrikes födda", "_utrikes_fodda": "Utrikes födda"}
# measure -> (label, numerator, denominator) for counts; the SCB percentage variable.
COUNT_MEASURES = {
    "sysselsattning": ("Andel sysselsatta 20–64 år", "sysselsatta_20_64", "befolkning_20_64"),
    "arbetsloshet": ("Andel arbetslösa av arbetskraften 16–64 år", "arbetslosa_16_64", "arbetskraften_16_64"),
}
SHARE_MEASURES = {
    "sysselsattning": ("Andel förvärvsarbetande (SCB IntGr1RegSOBASN)", "andel_forvarvsarbetande"),
    "arbetsloshet": ("Andel inskrivna arbetslösa (SCB IntGr1RegSOBASN)", "andel_arbetslosa"),
    "langtidsarbetsloshet": ("Andel långtidsarbetslösa (SCB IntGr1RegSOBASN)", "andel_langtidsarbetslosa"),
}
MEASURE_LABELS = {
    "sysselsattning": "Sysselsättning",
    "arbetsloshet": "Arbetslöshet",
    "langtidsarbetsloshet": "Långtidsarbetslöshet",
}
COLUMNS = pl.Schema({"ar": pl.Int64, "matt": pl.String, "indelning": pl.String, "grupp": pl.String, "omrade": pl.String,
                     "taljare": pl.Float64, "namnare": pl.Float64, "varde": pl.Float64, "kalla": pl.String, "typ": pl.String})


@dataclass
class Followup:
    """The follow-up for one kommun (or riket): `rows` has COLUMNS; `typ` says how each row was made."""

    kommun: str
    rows: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False

    @property
    def years(self) -> list[int]:
        return sorted(self.rows["ar"].unique().to_list()) if self.rows.height else []

    @property
    def measures(self) -> list[str]:
        present = set(self.rows["matt"].unique().to_list()) if self.rows.height else set()
        return [m for m in MEASURE_LABELS if m in present]


@dataclass(frozen=True)
class Loaded:
    """The store's labour-market rows at RegSO, read once (reports and the web app reuse them per kommun)."""

    counts: pl.DataFrame
    shares: pl.DataFrame


def load(store: ObservationStore) -> Loaded:
    count_vars = [f"{v}{g}" for _, num, den in COUNT_MEASURES.values() for v in (num, den) for g in GROUPS]
    share_vars = [f"{var}{g}" for _, var in SHARE_MEASURES.values() for g in GROUPS]
    areas = geography.areas("regso").select("regso_kod", "kommun_kod")
    regso = store.read(niva="regso", variabler=count_vars).join(areas, left_on="omrade", right_on="regso_kod", how="left")
    # The kommun's and the country's own rows (aggregated with their disclosure status), not re-summed.
    upper = [
        store.read(niva=level, variabler=count_vars).with_columns(
            kommun_kod=pl.col("omrade") if level == "kommun" else pl.lit(None, pl.String)
        )
        for level in ("kommun", "riket")
    ]
    return Loaded(pl.concat([regso, *upper], how="vertical"), store.read(niva="regso", variabler=share_vars))


def followup(
    store: ObservationStore | Loaded, kommun: str | None, listed: list[str], synthetic: bool = False
) -> Followup:
    """The follow-up for kommun `kommun` (None: the whole country) with the map's `listed` RegSO codes."""
    data = store if isinstance(store, Loaded) else load(store)
    frames, notes = [], []
    counts = _from_counts(data.counts, kommun, listed)
    if counts is not None:
        frames.append(counts)
    shares = _from_shares(data.shares, kommun, listed)
    if shares is not None:
        frames.append(shares)
        notes.append(
            "SCB:s integrationstabell ger andelar per område utan täljare och nämnare; de kan inte läggas ihop till "
            "listade områden eller resten av kommunen, så varje listat område visas för sig. Tabellen och koderna är "
            "EJ VERIFIERADE mot SCB:s metadata."
        )
    if counts is None:
        notes.append(
            "Lagret har inga antal efter kön och födelseregion (de kommer ur mikrodata via utanforskap aggregera eller "
            "ur den syntetiska befolkningen); därför inga kvoter för listade områden mot resten av kommunen."
        )
    if shares is None:
        notes.append(
            "Långtidsarbetslöshet finns bara i SCB:s integrationstabell IntGr1RegSOBASN (hämtas med utanforskap hamta), "
            "som lagret inte har."
        )
    rows = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=COLUMNS)
    return Followup(kommun or "SE", rows.sort("matt", "indelning", "grupp", "ar"), notes, synthetic)


def _from_counts(obs: pl.DataFrame, kommun: str | None, listed: list[str]) -> pl.DataFrame | None:
    split = [v for v in obs["variabel"].unique().to_list() if v.endswith(("_kvinnor", "_utrikes_fodda"))]
    if obs.is_empty() or not split:
        return None
    obs = obs.with_columns(listad=pl.col("omrade").is_in(listed))
    in_kommun = (pl.col("kommun_kod") == kommun) if kommun else pl.lit(True)
    regso = pl.col("niva") == "regso"
    groups = {
        "listade": regso & pl.col("listad") & in_kommun,
        "ovriga": regso & ~pl.col("listad") & in_kommun,
        "riket": pl.col("niva") == "riket",
    }
    if kommun:
        groups["kommun"] = (pl.col("niva") == "kommun") & (pl.col("omrade") == kommun)
    parts = []
    for grupp, cond in groups.items():
        # A null value anywhere in the group makes the group's sum unknown (never a partial sum).
        summed = obs.filter(cond).group_by("variabel", "period").agg(
            pl.when(pl.col("varde").null_count() == 0).then(pl.col("varde").sum()).alias("v"),
            pl.col("kalla").unique().sort().str.join(", ").alias("kalla"),
        )
        for matt, (_, num, den) in COUNT_MEASURES.items():
            for suffix, label in GROUPS.items():
                n = summed.filter(pl.col("variabel") == num + suffix).select("period", pl.col("v").alias("taljare"), "kalla")
                d = summed.filter(pl.col("variabel") == den + suffix).select("period", pl.col("v").alias("namnare"))
                if n.is_empty() or d.is_empty():
                    continue
                parts.append(
                    n.join(d, on="period").select(
                        pl.col("period").cast(pl.Int64).alias("ar"),
                        pl.lit(matt).alias("matt"),
                        pl.lit(label).alias("indelning"),
                        pl.lit(grupp).alias("grupp"),
                        pl.lit(kommun or "SE").alias("omrade"),
                        "taljare",
                        "namnare",
                        pl.when(pl.col("namnare") > 0).then(pl.col("taljare") / pl.col("namnare")).alias("varde"),
                        "kalla",
                        pl.lit("kvot av summor").alias("typ"),
                    )
                )
    return pl.concat(parts, how="vertical").cast(COLUMNS) if parts else None


def _from_shares(obs: pl.DataFrame, kommun: str | None, listed: list[str]) -> pl.DataFrame | None:
    if obs.is_empty():
        return None
    wanted = [c for c in listed if not kommun or c.startswith(kommun)]
    obs = obs.filter(pl.col("omrade").is_in(wanted))
    if obs.is_empty():
        return None
    lookup = {f"{var}{suffix}": (matt, label) for matt, (_, var) in SHARE_MEASURES.items() for suffix, label in GROUPS.items()}
    keys = pl.DataFrame({"variabel": list(lookup), "matt": [m for m, _ in lookup.values()],
                         "indelning": [lab for _, lab in lookup.values()]})
    return (
        obs.join(keys, on="variabel")
        .select(
            pl.col("period").cast(pl.Int64).alias("ar"),
            "matt",
            "indelning",
            pl.lit("omrade").alias("grupp"),
            "omrade",
            pl.lit(None, pl.Float64).alias("taljare"),
            pl.lit(None, pl.Float64).alias("namnare"),
            (pl.col("varde") / 100).alias("varde"),
            "kalla",
            pl.lit("SCB:s andel per område").alias("typ"),
        )
        .cast(COLUMNS)
    )


def to_csv(f: Followup) -> str:
    """The follow-up as CSV (UTF-8, comma-separated; shares as fractions)."""
    return f.rows.write_csv()
