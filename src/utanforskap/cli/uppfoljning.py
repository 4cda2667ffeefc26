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
    fran: Annotated[int | None, typer.Option("--fran", help="Första året")] = None,
    till: Annotated[int | None, typer.Option("--till", help="Sista året")] = None,
    metod: Annotated[str | None, typer.Option("--metod", help="Metod-id eller TOML-fil (t.ex. en fixerad version från metoder --frys)")] = None,
    data: Annotated[str, typer.Option("--data", help="paket (öppna data som följer med), syntetisk, eller en lagerkatalog")] = "paket",
    ut: Annotated[Path, typer.Option("--ut", help="Katalog för resultaten")] = Path("uppfoljning"),
    mikrodata: Annotated[Path | None, typer.Option("--mikrodata", help="Mapp med persondata per år (med lopnr): dela förändringen i kvarboende, inflyttade och utflyttade")] = None,
    oppna_serier: Annotated[bool, typer.Option("--oppna-serier", help="De verkliga serierna i paketet: brottsflaggor per år och områdestyp 2022–2023")] = False,
) -> None:
    """Kartan för varje år i intervallet, vilka områden som kom in och lämnade listan och varför."""
    from utanforskap.followup import export
    from utanforskap.followup.series import follow_up, parse_years, year_span

    if oppna_serier:
        _open_series(ut, data)
        return
    if fran is None or till is None:
        from utanforskap.errors import InputError

        raise InputError("ange --fran ÅR och --till ÅR (eller --oppna-serier för paketets verkliga serier)")
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
    real = export.open_series.bundled(tuple(fu.years))
    for row in real.factor_rows.iter_rows(named=True) if real is not None else []:
        lacks = "" if row["ar_utan_data"] == "–" else f"; saknas {row['ar_utan_data']}"
        console.print(f"  {escape(row['namn'])}: data {row['ar_med_data']}{escape(lacks)}", highlight=False)
    for c in fu.breaks:
        state = "" if c.applies else f" ({c.note})"
        console.print(f"  brott i serien {c.brott.ar - 1}–{c.brott.ar}: {escape(c.brott.id)}{escape(state)}", highlight=False)
    console.print(f"Skrev till {escape(str(ut))}/: " + ", ".join(p.name for p in written.values()), highlight=False)


def _open_series(ut: Path, data: str) -> None:
    """Crime flags per year and områdestyp 2022-2023 from the bundled open data, as one set of files."""
    from utanforskap.atomic import atomic_dir
    from utanforskap.datasets import open_source
    from utanforskap.followup import open_series as o
    from utanforskap.followup.series import year_span

    source = open_source(data)
    years, notes = o.crime_years(source.store)
    flags = o.crime_flags(source.store)
    summary = o.crime_summary(flags)
    types = o.area_type_changes(source.store)
    with atomic_dir(ut) as stage:
        flags.write_csv(stage / "brott_per_ar.csv")
        summary.write_csv(stage / "brott_sammanfattning.csv")
        types.write_csv(stage / "omradestyp_forandringar.csv")
    console.print(f"[bold]Kriminalitet per år[/] (Polisen, sex brottskoder, verkliga data): {year_span(years)}", highlight=False)
    for y, text in sorted(notes.items()):
        console.print(f"  {y}: {text}", highlight=False)
    for r in summary.iter_rows(named=True):
        console.print(
            f"  {r['ar']}: riket {format_number(round(r['riket_per_1000'], 2))} per 1 000 (befolkning {r['befolkning_ar']}); "
            f"flaggade {r['flaggade_relativ']} relativt, {r['flaggade_fixerad']} med tröskeln fixerad vid 2022", highlight=False,
        )
    for (a, b), grp in types.group_by(["fran_ar", "till_ar"], maintain_order=True):
        n_in = grp.filter(grp["andring"] == "in").height
        n_out = grp.filter(grp["andring"] == "ut").height
        console.print(f"[bold]Områdestyp 1[/] (SCB/Boverket, verkliga data) {a}–{b}: {n_in} RegSO in, {n_out} ut", highlight=False)
        for r in grp.filter(grp["andring"].is_not_null()).iter_rows(named=True):
            console.print(f"  {r['andring']:>2}: {escape(r['kommun_namn'])}, {escape(r['regso_namn'])} ({r['regso_kod']}): typ {r['typ_fran']} → {r['typ_till']}", highlight=False)
    console.print(f"Skrev till {escape(str(ut))}/: brott_per_ar.csv, brott_sammanfattning.csv, omradestyp_forandringar.csv", highlight=False)
