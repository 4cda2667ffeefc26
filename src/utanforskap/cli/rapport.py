"""`utanforskap rapport`: the lägesbild for riket, a kommun, an area, or every kommun."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from utanforskap.atomic import check_output
from utanforskap.cli import app, console
from utanforskap.cli.karta import ArOpt, DataOpt, MetodOpt
from utanforskap.errors import InputError
from utanforskap.geography.codes import restore_zeros
from utanforskap.results.defaults import DEFAULT_YEAR


@app.command("rapport")
def rapport(
    riket: Annotated[bool, typer.Option("--riket", help="Rapport för hela riket")] = False,
    lan: Annotated[str | None, typer.Option("--lan", help="Länskod, t.ex. 01 (1 läses som 01)")] = None,
    kommun: Annotated[str | None, typer.Option("--kommun", help="Kommunkod, t.ex. 0180 (127 läses som 0127)")] = None,
    omrade: Annotated[str | None, typer.Option("--omrade", help="RegSO-kod, t.ex. 0180R001")] = None,
    alla_kommuner: Annotated[bool, typer.Option("--alla-kommuner", help="En rapport för var och en av de 290 kommunerna")] = False,
    format: Annotated[str, typer.Option("--format", help="html eller pdf")] = "html",
    ut: Annotated[Path, typer.Option("--ut", help="Katalog för rapporterna")] = Path("rapporter"),
    metod: MetodOpt = None,
    data: DataOpt = "paket",
    ar: ArOpt = DEFAULT_YEAR,
    handelser: Annotated[Path | None, typer.Option("--handelser", help="Egen TOML-fil med policyhändelser för tidsdiagrammen")] = None,
    geometri: Annotated[Path | None, typer.Option("--geometri", help="GeoPackage med RegSO- eller DeSO-polygoner (annars UTANFORSKAP_REGSO_GEOMETRI)")] = None,
) -> None:
    """Skriv lägesbilden som HTML eller PDF: för riket, ett län, en kommun, ett område eller alla kommuner."""
    from utanforskap.atomic import atomic_path
    from utanforskap.reports import api as r
    from utanforskap.reports import events
    from utanforskap.results import karta

    check_output(ut, folder=True)
    chosen = [name for name, on in (("--riket", riket), ("--lan", lan), ("--kommun", kommun), ("--omrade", omrade), ("--alla-kommuner", alla_kommuner)) if on]
    if len(chosen) != 1:
        raise InputError("välj precis en av --riket, --lan KOD, --kommun KOD, --omrade KOD och --alla-kommuner" + (f" (angavs: {', '.join(chosen)})" if chosen else ""))
    fmt = format.lower()
    if fmt not in r.FORMATS:
        raise InputError(f"okänt format {format!r}; välj html eller pdf")
    if handelser is not None:
        events.load(handelser)  # a bad file fails before the map is computed
    if geometri is not None and not geometri.is_file():
        raise InputError(f"{geometri}: geometrifilen finns inte (--geometri)")

    with console.status("Beräknar kartan ..."):
        result = karta.compute(metod, ar, data)
        prep = r.prepared(result, handelser, geometri)
    if result.source.synthetic:
        console.print("[bold white on red] SYNTETISKA DATA [/] rapporterna märks så på varje sida")

    if alla_kommuner:
        started = time.perf_counter()
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=True,
        ) as progress:
            task = progress.add_task("Kommunrapporter", total=len(prep.kommuner))

            def step(done: int, total: int, name: str) -> None:
                progress.update(task, completed=done, description=f"Kommunrapporter ({name})")

            written = r.render_all_kommuner(fmt, ut, result, progress=step, handelser=handelser, geometri=geometri)
        elapsed = time.perf_counter() - started
        per = f"{elapsed / len(written):.2f}".replace(".", ",")
        console.print(escape(f"Skrev {len(written)} kommunrapporter ({fmt}) till {ut}/ på {elapsed:.0f} s ({per} s per rapport)."), highlight=False)
        return

    kind, code = (
        ("riket", None) if riket
        else ("lan", restore_zeros(lan, "lan")) if lan
        else ("kommun", restore_zeros(kommun, "kommun")) if kommun
        else ("omrade", restore_zeros(omrade or "", "regso"))
    )
    with console.status(f"Skriver rapporten ({fmt}) ..."):
        data_bytes = r.render(kind, code, fmt, result, handelser=handelser, geometri=geometri)
        path = ut / r.file_name(kind, code, fmt, result)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data_bytes)
    console.print(escape(f"Skrev {path}"), highlight=False)
