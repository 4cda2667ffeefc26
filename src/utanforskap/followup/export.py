"""Write a follow-up to a directory, all files as one set (atomically): omraden_per_ar.csv,
forandringar.csv, kommuner_per_ar.csv, sammanfattning.csv, faktorer.csv and uppfoljning.xlsx
(the same tables with Swedish headers). Every file says which years each factor has."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import polars as pl

from utanforskap.atomic import atomic_dir
from utanforskap.followup import open_series, workbook
from utanforskap.followup.series import FollowUp, year_span

FILES = {
    "omraden": "omraden_per_ar.csv",
    "forandringar": "forandringar.csv",
    "kommuner": "kommuner_per_ar.csv",
    "sammanfattning": "sammanfattning.csv",
    "faktorer": "faktorer.csv",
    "flyttningar": "flyttningar.csv",
    "seriebrott": "seriebrott.csv",
    "brott_per_ar": "brott_per_ar.csv",
    "brott_sammanfattning": "brott_sammanfattning.csv",
    "omradestyp": "omradestyp_forandringar.csv",
    "xlsx": "uppfoljning.xlsx",
}

HEADERS = {
    "regso_kod": "RegSO-kod", "regso_namn": "Område", "kommun_kod": "Kommunkod", "kommun_namn": "Kommun",
    "lan_kod": "Länskod", "lan_namn": "Län", "ar": "År", "befolkning": "Invånare", "barn": "Barn och unga 0–19 år",
    "antal_flaggor": "Antal flaggor", "antal_saknade": "Antal saknade faktorer", "klass": "Klass", "datakalla": "Datakälla",
    "fran_ar": "Från år", "till_ar": "Till år", "andring": "Förändring", "klass_till": "Klass (till år)",
    "andrade_flaggor": "Ändrade flaggor", "orsak": "Orsak till att området lämnade listan", "bekraftad": "Bekräftad",
    "vaxlar": "Växlar tillbaka nästa år", "omraden": "Listade områden", "sarskilt": "Därav särskilt stor",
    "kommuner": "Kommuner", "in": "Nya på listan", "ut": "Lämnade listan", "ut_bekraftade": "Lämnade (bekräftat)",
    "vaxlande": "Växlande", "persistens_mot_forsta_aret": "Kvar sedan första året (andel)",
    "persistens_mot_foregaende_ar": "Kvar sedan föregående år (andel)", "befolkning_totalt": "Invånare i kommunen",
    "andel_befolkning": "Andel av kommunens invånare", "in_omraden": "Nya områden", "ut_omraden": "Områden som lämnade",
    "faktor": "Faktor", "namn": "Namn", "status": "Status", "ar_med_data": "År med data", "ar_utan_data": "År utan data",
    "faktorer_med_data": "Faktorer med data",
    "grupp": "Område eller grupp", "varde_fran": "Värde (från år)", "varde_till": "Värde (till år)",
    "forandring": "Förändring", "kvarboende": "Del från kvarboende", "inflyttade": "Del från inflyttade",
    "utflyttade": "Del från utflyttade", "antal_kvarboende": "Kvarboende (personer)",
    "antal_inflyttade": "Inflyttade (personer)", "antal_utflyttade": "Utflyttade (personer)",
    "uppdelning": "Uppdelning", "skyddad": "Skyddad (röjandekontroll)",
    "seriebrott": "Brott i serien", "jamforbarhet": "Jämförbarhet", "indelning": "Områdesindelning",
    "id": "Id", "typ": "Typ", "mellan": "Mellan år", "variabler": "Variabler", "faktorer_berorda": "Berörda faktorer",
    "galler": "Gäller dessa data", "beskrivning": "Beskrivning", "kalla": "Källa", "proveniens": "Proveniens",
}


def _factor_note(fu: FollowUp, column: str = "ar") -> pl.Expr:
    """Per year: the factors with data that year (so every file says which years each factor has)."""
    by_year = {y: ", ".join(f.id for f in fu.factors if y in fu.factor_years.get(f.id, [])) or "inga" for y in fu.years}
    return pl.col(column).replace_strict(by_year, return_dtype=pl.String, default="inga")


def tables(fu: FollowUp) -> dict[str, pl.DataFrame]:
    areas = fu.areas.with_columns(faktorer_med_data=_factor_note(fu))
    changes = fu.changes.with_columns(
        faktorer_med_data=_factor_note(fu, "till_ar"),
        datakalla=pl.lit(fu.label),
    )
    summary = fu.summary.with_columns(faktorer_med_data=_factor_note(fu), datakalla=pl.lit(fu.label))
    kommuner = fu.kommuner.with_columns(faktorer_med_data=_factor_note(fu), datakalla=pl.lit(fu.label))
    factors = fu.factor_table().with_columns(datakalla=pl.lit(fu.label))
    out = {"omraden": areas, "forandringar": changes, "kommuner": kommuner, "sammanfattning": summary, "faktorer": factors,
           "seriebrott": fu.break_table().rename({"faktorer": "faktorer_berorda"})}
    real = open_series.bundled(tuple(fu.years))
    if real is not None:
        out["faktorer"] = pl.concat([factors, real.factor_rows], how="diagonal_relaxed")
        out.update(brott_per_ar=real.crime, brott_sammanfattning=real.crime_summary, omradestyp=real.types)
    return out


def write_all(fu: FollowUp, out: str | os.PathLike[str], step: Callable[[str], None] | None = None,
              movers: pl.DataFrame | None = None) -> dict[str, Path]:
    out = Path(out)
    frames = tables(fu)
    if movers is not None:
        frames["flyttningar"] = movers
    written = {}
    with atomic_dir(out) as stage:
        for key, df in frames.items():
            if step:
                step(FILES[key])
            df.write_csv(stage / FILES[key])
            written[key] = out / FILES[key]
        if step:
            step(FILES["xlsx"])
        _excel(fu, frames, stage / FILES["xlsx"])
        written["xlsx"] = out / FILES["xlsx"]
    return written


def _swedish(fu: FollowUp, df: pl.DataFrame) -> pl.DataFrame:
    names = dict(HEADERS)
    for f in fu.factors:
        if f.varde:
            names[f.varde] = f"{f.namn} (värde)"
        names[f.flagga] = f"{f.namn} (flagga)"
        names[f"marginal_{f.id}"] = f"Marginal till tröskeln: {f.namn}"
    used, rename = set(), {}
    for c in df.columns:
        new = names.get(c, c)
        while new in used:
            new += " "
        used.add(new)
        rename[c] = new
    return df.rename(rename)


def _excel(fu: FollowUp, frames: dict[str, pl.DataFrame], path: Path) -> None:
    about = pl.DataFrame({
        "Uppgift": ["Metod", "År", "Data", "Tröskeltyp"],
        "Värde": [
            f"{fu.method.method.titel} ({fu.method.id}, version {fu.method.method.version})",
            year_span(fu.years), fu.label,
            "fixerade vid ett basår" if any(p.proveniens == "fixerad" for p in fu.method.method.parametrar.values())
            else "relativa (följer årets värden) eller absoluta enligt metoden",
        ],
    })
    sheets = [
        ("Sammanfattning", "sammanfattning"), ("Förändringar", "forandringar"), ("Kommuner per år", "kommuner"),
        ("Områden per år", "omraden"), ("Faktorer och år", "faktorer"), ("Brott i serierna", "seriebrott"),
    ] + ([("Flyttare och kvarboende", "flyttningar")] if "flyttningar" in frames else []) + [
        (title, key) for title, key in (("Kriminalitet per år (verkliga)", "brott_sammanfattning"), ("Områdestyp (verkliga)", "omradestyp"))
        if key in frames
    ]
    workbook.write(path, [(title, _swedish(fu, frames[key])) for title, key in sheets] + [("Om uppföljningen", about)])
