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
    out: dict = {"note": svc.note, "summary": None, "by_kommun": None, "crime": None, "types": None, "span": None,
                 "breaks": svc.breaks()}
    if fu is not None:
        out["span"] = year_span(fu.years)
        out["summary"] = fu.summary.to_dicts()
        moves = fu.changes.filter(pl.col("andring").is_in(["in", "ut"]))
        counts = moves.group_by("kommun_namn").agg(
            (pl.col("andring") == "in").sum().alias("in"), (pl.col("andring") == "ut").sum().alias("ut"),
        )
        flags = (
            moves.select("kommun_namn", pl.col("andrade_flaggor").str.split(", ").alias("_f")).explode("_f")
            .filter(pl.col("_f").is_not_null() & (pl.col("_f") != ""))
            .group_by("kommun_namn").agg(pl.col("_f").unique().sort().str.join(", ").alias("flaggor"))
        )
        out["by_kommun"] = counts.join(flags, on="kommun_namn", how="left").sort(["in", "ut"], descending=True).to_dicts()
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
    for row in listed.iter_rows(named=True):
        areas.append({"kod": row["regso_kod"], "namn": row["regso_namn"], "serie": svc.area_series(row["regso_kod"])})
    years = sorted({c["ar"] for a in areas for c in a["serie"]["kriminalitet"]})
    chart = _small_multiples(areas, years, prep) if years else None
    return {
        "areas": areas, "factors": svc.follow_up.factors if svc.follow_up else [], "note": svc.note,
        "crime_years": years, "chart": chart,
    }


def _small_multiples(areas: list[dict], years: list[int], prep) -> dict:
    """One figure, one small chart per listed area: crimes per 1 000 with both thresholds.

    Written as SVG directly (reports.svg) as matplotlib drew it with its default style
    (boxed axes, black ticks): for Malmö's 23 areas WeasyPrint read a quarter of the
    report's PDF work out of matplotlib's version of this one image."""
    from utanforskap.reports.svg import Axes, Drawing, nice_ticks

    n = len(areas)
    cols = min(4, n)
    rows = (n + cols - 1) // cols
    width, cell_h = 6.6, 1.35
    src = "Källa: Polisen (anmälda brott, sex brottskoder; verkliga öppna data) och SCB (befolkning)."
    height = 0.5 + rows * cell_h + 0.45
    d = Drawing(width, height)
    lo, hi = (years[0] - 0.05 * (years[-1] - years[0]), years[-1] + 0.05 * (years[-1] - years[0])) if len(years) > 1 else (years[0] - 0.5, years[0] + 0.5)
    styles = (("#8c1c13", "-", 1.4), ("#555555", "--", 0.9), ("#1f5fa8", ":", 1.1))
    for i, a in enumerate(areas):
        r, c = divmod(i, cols)
        k = {v["ar"]: v for v in a["serie"]["kriminalitet"]}
        val = [k[y]["brott_per_1000"] if y in k and k[y]["brott_per_1000"] is not None else None for y in years]
        rel = [k[y]["grans_relativ"] if y in k else None for y in years]
        fix = [k[y]["grans_fixerad"] if y in k else None for y in years]
        known = [v for v in (*val, *rel, *fix) if v is not None and v == v]
        top = max(known) if known else 1.0
        bottom_in = 0.45 + (rows - 1 - r) * cell_h + 0.3
        ax_h = (cell_h - 0.55) * 72
        ax = Axes((0.06 + c * (0.94 / cols)) * d.width, d.height - bottom_in * 72 - ax_h, (0.94 / cols - 0.05) * d.width, ax_h,
                  (lo, hi), (0.0, top * 1.15 or 1.0))
        clip = d.clip(ax.left, ax.top, ax.width, ax.height)
        for values, (colour, style, lw) in zip((val, rel, fix), styles, strict=True):
            points = [(ax.x(y), ax.y(v)) if v is not None and v == v else None for y, v in zip(years, values, strict=True)]
            run: list[tuple[float, float]] = []
            for p in [*points, None]:
                if p is None:
                    d.line(run, colour, lw, style, clip=clip)
                    run = []
                else:
                    run.append(p)
            if style == "-":
                d.markers("o", 3, colour, [p for p in points if p is not None], clip=clip)
        fg._x_axis(d, ax, [(ax.x(y), str(y)[2:]) for y in years], "", size=6, colour="#000000")
        ticks = nice_ticks(*ax.ylim, ax.height, 2 * 6)
        fg._y_ticks(d, ax, [(ax.y(t), fg.swedish_tick(t)) for t in ticks], size=6, colour="#000000")
        fg._spines(d, ax, box=True, colour="#000000")
        d.text(ax.left, ax.top - 6, fg.wrap(a["namn"], 24), 6.5, va="last_baseline", fill="#000000")
    d.text(0.015 * d.width, 0.08 * 72, "Brott per 1 000 invånare i de listade områdena, med tröskeln", 9, va="top", bold=True, fill="#000000")
    d.text(0.015 * d.width, 0.3 * 72, "röd: området; streckad grå: årets riksvärde × multipeln; prickad blå: 2022 års riksvärde × multipeln", 6.8,
           va="top", fill="#000000")
    fg._footnote(d, src)
    alt = (
        f"Små diagram, ett per listat område ({n}), över brott per 1 000 invånare {years[0]}–{years[-1]} med tröskeln vid årets "
        "riksvärde (streckad) och vid 2022 års (prickad); värdena står i tabellen nedanför."
    )
    return {"img": fg.data_uri(d.svg()), "alt": alt}  # laid out to fit its figure
