"""The kommun report's labour-market follow-up by sex and birth region (labourmarket.followup).

Charts year by year with the dated national measures (the events file) and a table per
measure by group for the latest year; template ``_uppfoljning_arbetsmarknad.html.j2``.
"""

from __future__ import annotations

from typing import cast

import polars as pl

from utanforskap.formatting import format_percent as procent
from utanforskap.labourmarket import followup as fu
from utanforskap.reports import figures as fg
from utanforskap.results.karta import MapResult, memo

GROUP_LABELS = {"listade": "Listade områden", "ovriga": "Övriga områden", "kommun": "Hela kommunen", "riket": "Riket"}
_STYLE = {"listade": (fg.LISTED, "-", "o"), "ovriga": (fg.OTHER, "--", "s"), "kommun": (fg.KOMMUN, "-.", "D"), "riket": (fg.RIKET, ":", "^")}
_AREA_STYLES = [("#7a1f1f", "-", "o"), ("#b35900", "--", "s"), ("#4b3b8f", "-.", "D"), ("#1f5f7a", ":", "^"), ("#555555", "-", "v")]


def loaded(result: MapResult) -> fu.Loaded:
    """The store's labour-market rows, read once per map."""
    return memo(result, "labourmarket.loaded", lambda: fu.load(result.source.store))


def listed_codes(result: MapResult) -> list[str]:
    return result.areas.filter(pl.col("klass").is_not_null())["regso_kod"].to_list()


def section(result: MapResult, events: list, kod: str | None, namn: str, source_note: str) -> dict:
    """Template variables: charts, tables and notes (always a dict; `rows` empty when the store has nothing)."""
    f = fu.followup(loaded(result), kod, listed_codes(result), result.source.synthetic)
    charts: list[dict] = []
    tables: list[dict] = []
    out = {"namn": namn, "notes": f.notes, "charts": charts, "tables": tables, "syntetisk": f.synthetic, "years": f.years}
    if f.rows.is_empty():
        return out
    years = f.years
    for matt in f.measures:
        part = f.rows.filter(pl.col("matt") == matt)
        counted = part.filter(pl.col("typ") == "kvot av summor")
        shares = part.filter(pl.col("typ") != "kvot av summor")
        if counted.height:
            everyone = counted.filter(pl.col("indelning") == "Alla")
            series = []
            for grupp in ("listade", "ovriga", "kommun", "riket"):
                g = everyone.filter(pl.col("grupp") == grupp)
                if g.is_empty():
                    continue
                by_year = dict(zip(g["ar"].to_list(), g["varde"].to_list(), strict=False))
                series.append((GROUP_LABELS[grupp], [_pct(by_year.get(y)) for y in years], *_STYLE[grupp]))
            charts.append(_chart(f"{fu.MEASURE_LABELS[matt]}: {fu.COUNT_MEASURES[matt][0].lower()}, {namn}", years, series, events, source_note))
            tables.append(_table(counted, fu.COUNT_MEASURES[matt][0], [g for g in GROUP_LABELS if g in set(counted["grupp"])],
                                 GROUP_LABELS))
        if shares.height:
            everyone = shares.filter(pl.col("indelning") == "Alla")
            areas = sorted(everyone["omrade"].unique().to_list())
            series = []
            for i, code in enumerate(areas[: len(_AREA_STYLES)]):
                g = everyone.filter(pl.col("omrade") == code)
                by_year = dict(zip(g["ar"].to_list(), g["varde"].to_list(), strict=False))
                series.append((code, [_pct(by_year.get(y)) for y in years], *_AREA_STYLES[i]))
            label = fu.SHARE_MEASURES[matt][0]
            charts.append(_chart(f"{label}, listade områden i {namn}", years, series, events,
                                 source_note + " SCB IntGr1RegSOBASN (EJ VERIFIERAD)."))
            tables.append(_table(shares.with_columns(grupp=pl.col("omrade")), label, areas, {a: a for a in areas}))
    return out


def _pct(v):
    return None if v is None else 100 * v


def _chart(title: str, years: list[int], series: list, events: list, source: str) -> dict:
    png = fg.time_chart(years, series, title, "procent", events, source)
    parts = []
    for name, vals, *_ in series:
        known = [(y, v) for y, v in zip(years, vals, strict=False) if v is not None]
        if known:
            parts.append(f"{name}: {fg.sv(known[0][1])} % år {known[0][0]}" + (
                f" och {fg.sv(known[-1][1])} % år {known[-1][0]}" if len(known) > 1 else ""))
    shown = fg.shown_events(years, events)
    alt = f"Linjediagram: {title}. " + "; ".join(parts) + "." + (
        f" Lodräta linjer markerar {len(shown)} policyhändelser." if shown else "")
    return {"img": fg.data_uri(png), "alt": alt, "title": title}


def _table(rows: pl.DataFrame, label: str, columns: list[str], names: dict[str, str]) -> dict:
    latest = int(cast(int, rows["ar"].max()))
    last = rows.filter(pl.col("ar") == latest)
    body = []
    for indelning in fu.GROUPS.values():
        r = last.filter(pl.col("indelning") == indelning)
        if r.is_empty():
            continue
        values = dict(zip(r["grupp"].to_list(), r["varde"].to_list(), strict=False))
        body.append({"indelning": indelning, "values": [procent(values.get(c)) for c in columns]})
    return {"caption": f"{label} efter kön och födelseregion, {latest}", "columns": [names[c] for c in columns], "rows": body}
