"""The reports' sections on change over the years (lägesbild): for riket, entries and exits
(of the map's list where the data have several years; of the crime flag and områdestyp 1 from
the bundled real data), persistence, and relative against fixed thresholds; for a kommun, a
table per listed area over the years and a chart of its crime rate against the thresholds."""

from __future__ import annotations

import polars as pl

from utanforskap.followup.series import year_span
from utanforskap.followup.service import FollowUpService
from utanforskap.reports import figures as fg
from utanforskap.results.karta import memo

_SERVICES: dict[tuple[str, str], FollowUpService] = {}


def service(prep) -> FollowUpService:
    """One follow-up per method and store in a process (shared by every report)."""
    r = prep.result
    method = r.method.id if r.method.source.startswith("utanforskap/methods/builtin/") else r.method.source
    key = (method, str(r.source.store.root))
    if key not in _SERVICES:
        _SERVICES[key] = FollowUpService(method, r.source)
    return _SERVICES[key]


def riket(prep) -> dict:
    return memo(prep.result, "reports.uppfoljning.riket", lambda: _riket(prep))


def _riket(prep) -> dict:
    svc = service(prep)
    fu = svc.follow_up
    out: dict = {"note": svc.note, "summary": None, "by_kommun": None, "crime": None, "types": None, "span": None}
    if fu is not None:
        out["span"] = year_span(fu.years)
        out["summary"] = fu.summary.to_dicts()
        moves = fu.changes.filter(pl.col("andring").is_in(["in", "ut"]))
        out["by_kommun"] = (
            moves.group_by("kommun_namn").agg(
                (pl.col("andring") == "in").sum().alias("in"), (pl.col("andring") == "ut").sum().alias("ut"),
                pl.col("andrade_flaggor").drop_nulls().str.split(", ").flatten().filter(pl.col("andrade_flaggor").is_not_null()).alias("_f"),
            ).with_columns(flaggor=pl.col("_f").list.unique().list.sort().list.join(", ")).drop("_f")
            .sort(["in", "ut"], descending=True).to_dicts()
        )
    if svc._crime is not None:
        from utanforskap.followup.open_series import crime_summary

        out["crime"] = crime_summary(svc._crime).to_dicts()
    if svc._types is not None:
        ch = svc._types.filter(pl.col("andring").is_not_null())
        out["types"] = {"rows": ch.to_dicts(), "in": ch.filter(pl.col("andring") == "in").height, "ut": ch.filter(pl.col("andring") == "ut").height}
    return out


def kommun(prep, code: str) -> dict | None:
    svc = service(prep)
    listed = prep.areas.filter((pl.col("kommun_kod") == code) & pl.col("listad")).sort("regso_kod")
    if listed.height == 0:
        return None
    areas = []
    src = "Källa: Polisen (anmälda brott, sex brottskoder) och SCB (befolkning). Tröskel: metodens multipel av rikets värde."
    for row in listed.iter_rows(named=True):
        s = svc.area_series(row["regso_kod"])
        chart = None
        if s["kriminalitet"]:
            years = [c["ar"] for c in s["kriminalitet"]]
            png = fg.time_chart(
                years,
                [
                    ("Området", [c["brott_per_1000"] for c in s["kriminalitet"]], "#8c1c13", "-", "o"),
                    ("Tröskel, årets riksvärde", [c["grans_relativ"] for c in s["kriminalitet"]], "#555555", "--", ""),
                    ("Tröskel fixerad vid 2022", [c["grans_fixerad"] for c in s["kriminalitet"]], "#1f5fa8", ":", ""),
                ],
                f"{row['regso_namn']}: brott per 1 000 invånare",
                "per 1 000 invånare",
                [],
                src,
                width_in=5.6,
                horizon=0,
            )
            values = ", ".join(f"{c['ar']}: {fg.sv(c['brott_per_1000'] or 0, 2)}" for c in s["kriminalitet"])
            chart = {
                "img": fg.data_uri(png),
                "alt": f"Linjediagram: brott per 1 000 invånare i {row['regso_namn']} {years[0]}–{years[-1]} ({values}) "
                       "med tröskeln vid årets riksvärde (streckad) och vid 2022 års (prickad).",
            }
        areas.append({"kod": row["regso_kod"], "namn": row["regso_namn"], "serie": s, "chart": chart})
    return {"areas": areas, "factors": svc.follow_up.factors if svc.follow_up else [], "note": svc.note}
