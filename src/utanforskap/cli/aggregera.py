"""`utanforskap aggregera`: person-level microdata -> every indicator per area, with disclosure control."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from utanforskap.atomic import check_output
from utanforskap.cli import app, console, err_console
from utanforskap.errors import InputError
from utanforskap.formatting import format_number, format_percent

# Shown after aggregating: the national value of each indicator of se-utanforskap-2024.
SUMMARY = (
    ("Sysselsatta 20–64 år", "sysselsatta_20_64", "befolkning_20_64", "%"),
    ("Ekonomiskt bistånd 20–64 år", "ekonomiskt_bistand_20_64", "befolkning_20_64", "%"),
    ("Trångbodda (norm 2)", "trangbodda", "befolkning_i_bostad", "%"),
    ("Valdeltagande", "rostande", "rostberattigade", "%"),
    ("Behöriga till gymnasiet", "behoriga_gymnasiet", "elever_ak9", "%"),
    ("Misstänkta för brott 15+", "misstankta_brott_15plus", "befolkning_15plus", "%"),
    ("Ohälsotal 16–64 år", "ohalsodagar_16_64", "befolkning_16_64", "dagar"),
)


@app.command("aggregera")
def aggregera(
    mikrodata: Annotated[Path, typer.Option("--mikrodata", help="Parquet-fil (eller mapp med filer), en rad per person och år")],
    niva: Annotated[str, typer.Option("--niva", help="Minsta områdesnivå: deso, regso eller kommun (alla större följer med)")] = "deso",
    ut: Annotated[Path | None, typer.Option("--ut", help="Skriv observationerna till .parquet eller .csv")] = None,
    lager: Annotated[Path | None, typer.Option("--lager", help="Skriv observationerna som dataset i ett observationslager")] = None,
    dataset: Annotated[str, typer.Option("--dataset", help="Datasetets namn i lagret")] = "mikrodata",
    motor: Annotated[str, typer.Option("--motor", help="duckdb (standard) eller spark")] = "duckdb",
    min_antal: Annotated[int | None, typer.Option("--min-antal", help="Röjandekontroll: minsta antal personer bakom en uppgift (standard UTANFORSKAP_MIN_ANTAL eller 5)")] = None,
    bistand_minst_manader: Annotated[int, typer.Option("--bistand-minst-manader", help="Minsta antal månader med ekonomiskt bistånd för att räknas (1–12)")] = 1,
    granska: Annotated[bool, typer.Option("--granska/--utan-granskning", help=(
        "Skydda tills inkräktarens granskning (LP) godkänner tabellen och skriv den bara då (standard); "
        "--utan-granskning ger bara det linjära skyddet, som inte får publiceras"))] = True,
    utan_rojandekontroll: Annotated[bool, typer.Option("--utan-rojandekontroll", help="Skriv oskyddade antal (bara för internt bruk, aldrig för publicering)")] = False,
    visa_sql: Annotated[bool, typer.Option("--visa-sql", help="Visa SQL-frågan som körs per person och DeSO, och avsluta")] = False,
) -> None:
    """Räkna alla indikatorers täljare och nämnare per område ur mikrodata (en rad per person och år)."""
    from utanforskap.microdata import aggregate as ag
    from utanforskap.settings import load as load_settings

    settings = load_settings(bistand_min_manader=bistand_minst_manader)
    if visa_sql:
        import ibis

        console.print(ibis.to_sql(ag.per_deso_expr(ag.placeholder_table(), settings), dialect="duckdb"),
                      highlight=False, soft_wrap=True)
        return
    if ut is None and lager is None:
        raise InputError("ange --ut FIL eller --lager MAPP (eller båda)")
    if ut is not None and ut.suffix.lower() not in (".parquet", ".csv"):
        raise InputError(f"{ut}: okänd filändelse; använd .parquet eller .csv")
    for target, folder in ((ut, False), (lager, True)):
        if target is not None:
            check_output(target, folder=folder)
    n = min_antal if min_antal is not None else load_settings().min_antal
    persons = ag.open_persons(mikrodata)
    if persons.syntetisk:
        console.print(escape(persons.kalla).replace("SYNTETISKA DATA", "[bold yellow]SYNTETISKA DATA[/]", 1), highlight=False)
    t0 = time.perf_counter()
    with console.status(f"Räknar med {motor} ..."):
        counts, _ = ag.count(persons, niva, motor=motor, settings=settings)
        obs, account = ag.protected_observations(
            counts, persons.kalla, min_antal=n, skydda=not utan_rojandekontroll, granska=granska and not utan_rojandekontroll)
    if account is not None and account.audit is not None and not account.audit.ok:
        raise InputError(account.audit.message() + "; inget skrevs")
    seconds = time.perf_counter() - t0
    if ut is not None:
        from utanforskap.methods.data import write_table

        write_table(obs, ut)
    if lager is not None:
        from utanforskap.observations.store import ObservationStore

        ObservationStore(lager).write(
            {dataset: obs},
            meta={dataset: {"kalla": persons.kalla, "syntetisk": persons.syntetisk, "min_antal": None if utan_rojandekontroll else n}},
        )
    _report(obs, counts, persons, n, utan_rojandekontroll, seconds, ut, lager, account)


def _report(obs, counts, persons, n, unprotected, seconds, ut, lager, account=None) -> None:
    personer = int(counts.filter(pl.col("niva") == "riket")["befolkning"].sum())
    console.print(
        f"{format_number(personer)} personer, {format_number(obs.height)} observationer på {obs['niva'].n_unique()} nivåer "
        + f"på {seconds:.1f} s.".replace(".", ",", 1),
        highlight=False,
    )
    if unprotected:
        err_console.print("[bold red]Varning:[/] utan röjandekontroll – får inte publiceras.", highlight=False)
    else:
        table = Table(title=f"Röjandekontroll (N = {n})", title_justify="left")
        cols = ("nivå", "publicerade", "skyddade (primärt)", "skyddade (sekundärt)", "andel dold före", "andel dold efter")
        for col in cols:
            table.add_column(col, justify="right" if col != "nivå" else "left")
        # The reasons come from the local account (never from the published rows: one status there).
        by = account.cells.group_by("niva", "skal").len()
        for niva in account.cells["niva"].unique(maintain_order=True):
            row = {s: int(c) for _, s, c in by.filter(pl.col("niva") == niva).iter_rows()}
            total = max(sum(row.values()), 1)
            # Information loss: the share of cells suppressed with primary suppression only, and in the end.
            before = row.get("primar", 0) / total
            after = (row.get("primar", 0) + row.get("sekundar", 0) + row.get("niva", 0)) / total
            table.add_row(niva, format_number(row.get(None, 0)), format_number(row.get("primar", 0)),
                          format_number(row.get("sekundar", 0) + row.get("niva", 0)),
                          format_percent(before), format_percent(after))
        console.print(table)
        _loss_by_indicator(account)
        if account.withheld:
            console.print(
                f"Publiceras inte alls: {', '.join(account.withheld)} (mer än {format_percent(account.rules.hogsta_primarandel)} "
                "av uppgifterna bygger på färre än N personer; tabellen har inga rader för dem).",
                highlight=False,
            )
        if account.audit is None and not account.withheld:
            err_console.print(
                "[bold red]Varning:[/] ej granskad mot en inkräktare (bara linjärt skydd: ingen skyddad uppgift kan räknas "
                "fram exakt ur samband, men intervall kan snävas in) – får inte publiceras; kör utan --utan-granskning.",
                highlight=False,
            )
        elif account.audit is not None:
            console.print(
                f"Granskningen (LP, HiGHS): godkänd efter {account.rounds} varv, {format_number(account.n_lp)} LP, "
                + f"{account.seconds_audit:.1f} s.".replace(".", ",", 1),
                highlight=False,
            )
    # National values from the published (protected) rows only.
    riket = obs.filter((pl.col("niva") == "riket") & pl.col("status").is_null())
    values = {(r["period"], r["variabel"]): r["varde"] for r in riket.iter_rows(named=True)}
    summary = Table(title="Riket" + (" (SYNTETISKA DATA)" if persons.syntetisk else ""), title_justify="left")
    summary.add_column("år")
    summary.add_column("indikator")
    summary.add_column("värde", justify="right")
    for period in sorted({p for p, _ in values}):
        for label, num, den, unit in SUMMARY:
            t, d = values.get((period, num)), values.get((period, den))
            if t is None or not d:
                text = "skyddad"
            else:
                text = format_percent(t / d) if unit == "%" else f"{t / d:.1f} {unit}".replace(".", ",")
            summary.add_row(escape(str(period)), label, text)
    console.print(summary)
    for target in (ut, lager):
        if target is not None:
            console.print(escape(f"Skrev {target}") + (" (SYNTETISKA DATA)" if persons.syntetisk else ""), highlight=False)


def _loss_by_indicator(account) -> None:
    """Information loss per indicator (numerators and denominators of SUMMARY), over all levels."""
    names = {n for _, num, den, _ in SUMMARY for n in (num, den)}
    by = account.cells.filter(pl.col("variabel").is_in(list(names))).group_by("variabel").agg(
        n=pl.len(), primar=(pl.col("skal") == "primar").sum(), dold=pl.col("skal").is_not_null().sum())
    table = Table(title="Informationsförlust per variabel (andel dolda celler, alla nivåer)", title_justify="left")
    for col in ("variabel", "före (primärt)", "efter"):
        table.add_column(col, justify="left" if col == "variabel" else "right")
    for r in by.sort("variabel").iter_rows(named=True):
        table.add_row(r["variabel"], format_percent(r["primar"] / r["n"]), format_percent(r["dold"] / r["n"]))
    console.print(table)
