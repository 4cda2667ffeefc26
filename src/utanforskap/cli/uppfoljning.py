"""`utanforskap uppfoljning`: the map year by year, entries and exits with their reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from utanforskap.cli import app, console
from utanforskap.formatting import format_number, format_percent


@app.command("uppfoljning")
def uppfoljning(
    fran: Annotated[int, typer.Option("--fran", help="Första året")],
    till: Annotated[int, typer.Option("--till", help="Sista året")],
    metod: Annotated[str | None, typer.Option("--metod", help="Metod-id eller TOML-fil (t.ex. en fixerad version från metoder --frys)")] = None,
    data: Annotated[str, typer.Option("--data", help="paket (öppna data som följer med), syntetisk, eller en lagerkatalog")] = "paket",
    ut: Annotated[Path, typer.Option("--ut", help="Katalog för resultaten")] = Path("uppfoljning"),
    mikrodata: Annotated[Path | None, typer.Option("--mikrodata", help="Mapp med persondata per år (med lopnr): dela förändringen i kvarboende, inflyttade och utflyttade")] = None,
) -> None:
    """Kartan för varje år i intervallet, vilka områden som kom in och lämnade listan och varför."""
    from utanforskap.followup import export
    from utanforskap.followup.series import follow_up, parse_years, year_span

    years = parse_years(fran, till)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as progress:
        task = progress.add_task("läser data", total=len(years) + 3 + len(export.FILES))

        def done(next_description: str) -> None:
            progress.update(task, advance=1, description=next_description)

        fu = follow_up(metod, years, data, progress=done)
        movers = None
        if mikrodata is not None:
            from utanforskap.followup.movers import follow_up_movers

            done("delar upp förändringen: kvarboende, inflyttade, utflyttade")
            movers = follow_up_movers(fu, mikrodata)
        written = export.write_all(fu, ut, step=lambda name: done(f"skriver {name}"), movers=movers)
        progress.update(task, completed=progress.tasks[0].total)
    console.print(f"[bold]{escape(fu.method.method.titel)}[/] ({escape(fu.method.id)}), {year_span(fu.years)}", highlight=False)
    console.print(escape(fu.label), highlight=False)
    for row in fu.summary.iter_rows(named=True):
        moves = "" if row["in"] is None else (
            f"; in {row['in']}, ut {row['ut']} (bekräftade {row['ut_bekraftade']}), kvar sedan föregående år "
            f"{format_percent(row['persistens_mot_foregaende_ar'])}"
        )
        console.print(
            f"  {row['ar']}: {format_number(row['omraden'])} områden i {row['kommuner']} kommuner, "
            f"{format_number(row['befolkning'])} invånare{moves}", highlight=False,
        )
    for row in fu.factor_table().iter_rows(named=True):
        console.print(f"  faktorn {escape(row['namn'])}: data {row['ar_med_data']}", highlight=False)
    console.print(f"Skrev till {escape(str(ut))}/: " + ", ".join(p.name for p in written.values()), highlight=False)
