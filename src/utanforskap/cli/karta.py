"""`utanforskap karta`, `kalibrera` and `jamfor`: the map of Sweden and how it fits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from utanforskap.atomic import check_output
from utanforskap.cli import app, console
from utanforskap.cli.metoder import parse_parameters
from utanforskap.errors import InputError
from utanforskap.formatting import format_number, format_percent, format_short
from utanforskap.results.defaults import DEFAULT_METHOD, DEFAULT_SYNTHETIC_METHOD, DEFAULT_YEAR, REGISTERDATA_METHOD

MetodOpt = Annotated[str | None, typer.Option("--metod", help=f"Metod-id eller TOML-fil (standard: {DEFAULT_METHOD}; för syntetiska data {DEFAULT_SYNTHETIC_METHOD}; för ett lager med SCB:s registermått per RegSO {REGISTERDATA_METHOD})")]  # noqa: E501 (Swedish text for users)
ArOpt = Annotated[int, typer.Option("--ar", help="Årgång")]
UtOpt = Annotated[Path, typer.Option("--ut", help="Katalog för resultaten")]
DataOpt = Annotated[str, typer.Option("--data", help="paket (öppna data som följer med), syntetisk, eller en lagerkatalog")]


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=True,
    )


@app.command("karta")
def karta(
    metod: MetodOpt = None,
    ar: ArOpt = DEFAULT_YEAR,
    ut: UtOpt = Path("resultat"),
    data: DataOpt = "paket",
    parameter: Annotated[list[str] | None, typer.Option("--parameter", "-p", help="Ändra en parameter: namn=värde")] = None,
) -> None:
    """Beräkna kartan över alla RegSO och skriv listan, kartlager och en sammanfattning."""
    from utanforskap.results import calibrate, export
    from utanforskap.results import karta as k

    check_output(ut, folder=True)
    with _progress() as progress:
        task = progress.add_task("läser data", total=3 + len(export.WRITE_STEPS))

        def done(next_description: str) -> None:
            """The current step is finished; show the next."""
            progress.update(task, advance=1, description=next_description)

        source = k.open_source(data)
        done("beräknar metoden")
        result = k.compute(metod, ar, source, parameters=parse_parameters(parameter))
        done("sammanfattar")
        summary = k.summarize(result)
        fit = calibrate.published_fit(result)
        from utanforskap.reports.sammanfattning import render_summary

        written = export.write_all(result, summary, fit, ut, step=lambda name: done(f"skriver {name}"), summary_page=render_summary)
        progress.advance(task)
    _print_summary(result, summary, fit)
    console.print(escape(f"\nSkrev till {ut}/: " + ", ".join(p.name for p in written.values())), highlight=False)


def _print_summary(result, summary, fit) -> None:
    from utanforskap.results.karta import top_class

    r = summary.riket
    if result.source.synthetic:
        console.print("[bold white on red] SYNTETISKA DATA [/] inte verkliga personer – visar hur metoden fungerar")
    console.print(f"[bold]{escape(result.method.method.titel)}[/] ({escape(result.method.id)}), {result.year}", highlight=False)
    console.print(f"Data: {escape(result.source.description)}", highlight=False)
    console.print(
        f"\n[bold]{r['omraden']}[/] av {format_number(result.areas.height)} RegSO listade"
        + (f", varav {r['sarskilt']} med {top_class(result)} problematik" if r["sarskilt"] else "")
        + f", i [bold]{r['kommuner']}[/] kommuner.",
        highlight=False,
    )
    console.print(
        f"Där bor {format_number(r['befolkning'])} invånare ({format_percent(r['andel_befolkning'])} av befolkningen), "
        f"varav {format_number(r['barn'])} barn och unga 0–19 år.",
        highlight=False,
    )
    factors = ", ".join(f"{f.namn.lower()} ({'verklig' if f.status == 'verklig' else 'proxy' if f.status == 'proxy' else 'saknas'})" for f in result.factors)
    if factors:
        console.print(f"Faktorer: {escape(factors)}.", highlight=False)
    table = Table(title="Per län", title_justify="left")
    for col, just in (("län", "left"), ("områden", "right"), ("kommuner", "right"), ("invånare", "right"), ("barn 0–19", "right")):
        table.add_column(col, justify=just)
    for row in summary.per_lan.iter_rows(named=True):
        table.add_row(escape(row["lan_namn"]), str(row["omraden"]), str(row["kommuner"]), format_number(row["befolkning"]), format_number(row["barn"]))
    console.print(table)
    if fit is not None:
        ft = Table(title="Passning mot de publicerade totalerna (2024 års karta)", title_justify="left")
        for col, just in (("mål", "left"), ("publicerat", "right"), ("denna karta", "right"), ("avvikelse", "right")):
            ft.add_column(col, justify=just)
        for row in fit.iter_rows(named=True):
            dev = format_percent(row["relativ_avvikelse"]) if row["relativ_avvikelse"] is not None else format_number(row["avvikelse"])
            ft.add_row(escape(row["beskrivning"]), format_number(row["publicerat"]), format_number(row["vart"]), dev)
        console.print(ft)


@app.command("kalibrera")
def kalibrera(
    spec: Annotated[Path | None, typer.Option("--spec", help="Kalibreringsfil (standard: den som följer med för metoden)")] = None,
    metod: Annotated[str | None, typer.Option("--metod", help="Metod vars medföljande kalibreringsfil används (standard: se-oppna-data-2022)")] = None,
    data: Annotated[str, typer.Option("--data", help="paket, syntetisk eller en katalog med ett observationslager")] = "paket",
    ut: Annotated[Path | None, typer.Option("--ut", help="Skriv de valda parametrarna som TOML hit")] = None,
) -> None:
    """Välj metodens trösklar så att listans totaler hamnar nära de publicerade."""
    from utanforskap.atomic import write_text
    from utanforskap.datasets import open_source
    from utanforskap.results import calibrate

    if ut is not None:
        check_output(ut, folder=False)
    if spec is not None and metod is not None:
        raise InputError("kalibrera: ange antingen --spec eller --metod, inte båda")
    s = calibrate.spec_for_method(metod) if metod else calibrate.load_spec(spec)
    source = open_source(data)
    total = 1
    for v in s.rutnat.values():
        total *= len(v)
    with console.status(f"Prövar {total} kombinationer för {escape(s.metod)} ..."):
        cal = calibrate.calibrate(s, source)
    console.print(f"[bold]{escape(s.metod)}[/], {s.ar}: {format_number(cal.kombinationer)} kombinationer prövade, förlust {format_short(cal.forlust, 4)}")
    console.print(f"Data: {escape(source.description)}", highlight=False)
    if source.synthetic:
        console.print("[bold]SYNTETISKA DATA[/]: trösklarna passar en påhittad befolkning, inte Sveriges områden.")
    pt = Table(title="Valda parametrar", title_justify="left")
    pt.add_column("parameter")
    pt.add_column("värde", justify="right")
    for name, value in cal.parametrar.items():
        pt.add_row(escape(name), format_short(value))
    console.print(pt)
    ft = Table(title="Passning", title_justify="left")
    for col in ("mål", "publicerat", "vår", "avvikelse"):
        ft.add_column(col)
    for row in cal.passning.iter_rows(named=True):
        ft.add_row(escape(row["beskrivning"]), format_number(row["publicerat"]), format_number(row["vart"]), format_number(row["avvikelse"]))
    console.print(ft)
    if ut:
        write_text(ut, calibrate.parameter_snippet(cal))
        console.print(f"Skrev parametrarna till {escape(str(ut))}", highlight=False)


# Column titles for the other lists in `jamfor` (the ids stay in the CSV).
COLUMN_TITLES = {
    "omradestyp_1": "Segregations-\nbarometern typ 1",
    "omradestyp_1_2": "Segregations-\nbarometern typ 1–2",
    "polisen_2025": "Polisen utsatta\noch särskilt utsatta",
    "polisen_sarskilt_2025": "Polisen särskilt\nutsatta",
    "alla_omraden": "Alla områden",
}


@app.command("jamfor")
def jamfor(
    metod: MetodOpt = None,
    ar: ArOpt = DEFAULT_YEAR,
    ut: UtOpt = Path("resultat"),
) -> None:
    """Jämför listan med Segregationsbarometerns områdestyper och Polisens utsatta områden."""
    from utanforskap.atomic import atomic_dir
    from utanforskap.results import compare
    from utanforskap.results import karta as k

    check_output(ut, folder=True)
    source = k.open_source("paket")
    result = k.compute(metod, ar, source)
    lists, factors = compare.compare(result, source.store)
    table = Table(title=f"Vår lista ({escape(result.method.id)}, {ar}) mot andra listor, RegSO för RegSO", title_justify="left")
    for col, just in (("referens", "left"), ("båda", "right"), ("bara vår", "right"), ("bara deras", "right"), ("ingen", "right"), ("precision", "right"), ("täckning", "right")):
        table.add_column(col, justify=just)
    for row in lists.iter_rows(named=True):
        table.add_row(escape(row["referens"]), *(format_number(row[c]) for c in ("bada", "bara_vara", "bara_deras", "ingen")),
                      format_percent(row["precision"]), format_percent(row["tackning"]))
    console.print(table)
    console.print("Precision: andel av våra områden som finns på deras lista. Täckning: andel av deras områden som finns på vår.")
    ft = Table(title="Andel av varje listas områden som flaggas på faktorn", title_justify="left")
    ft.add_column("faktor")
    ft.add_column("status")
    ref_cols = [c for c in factors.columns if c not in ("faktor", "namn", "status")]
    for c in ref_cols:
        ft.add_column(COLUMN_TITLES.get(c, c.replace("_", " ")), justify="right")
    for row in factors.iter_rows(named=True):
        ft.add_row(escape(row["namn"]), row["status"], *[format_percent(row[c], 0) for c in ref_cols])
    console.print(ft)
    with atomic_dir(ut) as stage:
        lists.write_csv(stage / "jamforelse_listor.csv")
        factors.write_csv(stage / "jamforelse_faktorer.csv")
    console.print(escape(f"Skrev {ut}/jamforelse_listor.csv och {ut}/jamforelse_faktorer.csv"), highlight=False)
