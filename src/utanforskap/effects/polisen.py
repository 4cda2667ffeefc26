"""The demonstration on real data: did Polisen's designation of an area as utsatt change the
reported crimes of the six bundled police crime codes? A demonstration of the method, not a finding.

Which areas and when (stated in the output):
* the 2025 list overlaid on DeSO/RegSO (bundled reference polisen_uso_2025) says which areas are
  designated; an area counts as designated when at least half its surface lies in a designated area;
* the 2023 layer (polisen_uso_2023) carries a date per designated area (AKTUALITET: 2018-10-01,
  2019-06-01, 2021-12-01, 2023-12-01). No national DeSO polygons are bundled, so a date reaches an
  area through its kommun, and only where every designated area of the kommun has the same date;
* start = the first full calendar year after the date (2021-12-01 -> 2022);
* areas dated 2018/2019 (treated before the panel begins), 2023-12-01 (after it ends), in kommuner
  with mixed dates, or partly designated, are left out of both groups.
"""

from __future__ import annotations

import polars as pl

from utanforskap.effects.panel import start_year

LABEL = "DEMONSTRATION av metoden på verkliga data – inte ett forskningsresultat"
OUTCOME = "brott_urval"
PER = "befolkning"
YEARS = (2020, 2023)
SHARE = 50.0

VERDICT = (
    "Detta är en demonstration av metoden, inte ett svar: anmälda brott följer polisens närvaro och utpekandet "
    "följer problemen, så inte ens en säker skillnad vore en effekt av utpekandet på brottsligheten."
)

CAVEATS = (
    "Anmälda brott beror på polisens närvaro: ett utpekat område får mer polis, och fler brott upptäcks och anmäls där "
    "– en ökning kan vara mer polis, inte mer brott.",
    "Utpekandet följer problemen: områden pekas ut när brottsligheten redan stiger, så jämförelsen före och efter "
    "blandar ihop insatsen med skälet till den (och med återgång mot medelvärdet).",
    "Bara sex ovanliga brottskoder (bilbrand, brand, sabotage mot blåljusverksamhet, upplopp, våld mot polis) – inte "
    "den totala brottsligheten; 2019 saknar DeSO-kod i de paketerade uppgifterna och 2024 har bara första kvartalet.",
    "AKTUALITET i 2023 års skikt är datum för områdets senaste klassning, inte alltid det första utpekandet.",
    "Datumet når ett område via kommunen (inga rikstäckande DeSO-polygoner följer med): bara kommuner där alla "
    "utpekade områden har samma datum används.",
    "Befolkningen finns bara för 2022 och 2023; 2020–2021 delas med befolkningen 2022.",
)


def treated_areas(level: str = "deso") -> tuple[dict[str, int], set[str], list[str]]:
    """(area -> start year, areas to leave out of the comparison pool, how they were chosen)."""
    from utanforskap.sources import bundle

    layer = bundle.reference("polisen_uso_2023")
    dates = layer.group_by("kommun_kod").agg(pl.col("aktualitet").unique())
    single = dates.filter(pl.col("aktualitet").list.len() == 1).with_columns(pl.col("aktualitet").list.first())
    overlay = (
        bundle.reference("polisen_uso_2025")
        .filter(pl.col("niva") == level, pl.col("kod_2018_2020").is_not_null())
        .with_columns(pl.col("kod_2018_2020").str.slice(0, 4).alias("kommun_kod"))
        .join(single, on="kommun_kod", how="left")
    )
    lo, hi = YEARS
    starts = overlay.with_columns(
        pl.col("aktualitet").map_elements(lambda d: start_year(d, "polisen_uso_2023"), return_dtype=pl.Int64).alias("start")
    )
    ok = starts.filter((pl.col("ytandel_procent") >= SHARE) & pl.col("start").is_between(lo + 2, hi))
    treated = dict(zip(ok["kod_2018_2020"].to_list(), ok["start"].to_list(), strict=True))
    exclude = set(starts["kod_2018_2020"].to_list()) - set(treated)
    kommuner = sorted(set(ok["kommun_kod"].to_list()))
    notes = [
        f"behandlade: {len(treated)} {level}-områden (minst {SHARE:.0f} % av ytan utpekad 2025) i kommunerna "
        f"{', '.join(kommuner)}, daterade {', '.join(sorted(set(ok['aktualitet'].to_list())))} (start {', '.join(map(str, sorted(set(treated.values()))))})",
        f"utelämnade ur jämförelsen: {len(exclude)} andra utpekade eller delvis utpekade {level}-områden "
        "(utpekade före 2020, efter 2023, i kommuner med blandade datum, eller under hälften av ytan)",
    ]
    return treated, exclude, notes
