"""`utanforskap insatser mall|importera|exportera`: the metodbank's measures as files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from utanforskap.cli import app, console
from utanforskap.cli.anvandare import DatabasOpt, _db

insatser_app = typer.Typer(help="Metodbankens insatser: Excelmall, import och export.", no_args_is_help=True)
app.add_typer(insatser_app, name="insatser")


@insatser_app.command("mall")
def mall(ut: Annotated[Path, typer.Option("--ut", help="Mallens fil (.xlsx)")] = Path("insatser_mall.xlsx")) -> None:
    """Skriv Excelmallen som en kommun fyller i och importerar."""
    from utanforskap.metodbank.transfer import write_template

    write_template(ut)
    console.print(f"Mallen: {escape(str(ut))} (blad insatser; anvisningar och tillåtna värden på bladet anvisningar)", highlight=False)


@insatser_app.command("importera")
def importera(
    fil: Annotated[Path, typer.Argument(help="Ifylld mall (.xlsx) eller CSV")],
    som: Annotated[str | None, typer.Option("--som", help="Importera som denna användare (dess roll och kommun gäller); standard: administratör från kommandoraden")] = None,
    publicera: Annotated[bool, typer.Option("--publicera", help="Publicera raderna direkt (inte för redaktörer)")] = False,
    databas: DatabasOpt = None,
) -> None:
    """Importera insatser; varje rad kontrolleras och ingenting skrivs om någon rad är fel."""
    from utanforskap.metodbank.accounts import user_actor
    from utanforskap.metodbank.registry import Actor
    from utanforskap.metodbank.transfer import import_file

    db = _db(databas)
    actor = user_actor(db, som) if som else Actor("kommandoraden", "administrator")
    n = import_file(db, actor, fil, status="publicerad" if publicera else "utkast")
    console.print(f"Importerade {n} insatser ({'publicerade' if publicera else 'som utkast'}) från {escape(fil.name)}.", highlight=False)


@insatser_app.command("exportera")
def exportera(
    ut: Annotated[Path, typer.Option("--ut", help="Fil: .csv, .xlsx eller .json")] = Path("insatser.csv"),
    databas: DatabasOpt = None,
) -> None:
    """Exportera alla publicerade insatser (aldrig EXEMPEL)."""
    from utanforskap.metodbank.transfer import export

    n = export(_db(databas), ut)
    console.print(f"Exporterade {n} publicerade insatser till {escape(str(ut))}.", highlight=False)


@insatser_app.command("luckor")
def luckor(
    ut: Annotated[Path, typer.Option("--ut", help="Fil: .csv eller .xlsx")] = Path("luckor.csv"),
    databas: DatabasOpt = None,
) -> None:
    """Skriv lägesbilden: varje listat område och flaggad faktor, med insatserna och luckorna."""
    from utanforskap.metodbank.gaps import area_gaps, export_gaps, summarize
    from utanforskap.results import karta

    db = _db(databas)
    with console.status("Beräknar kartan ..."):
        result = karta.compute()
    n = export_gaps(db, result, ut)
    s = summarize(area_gaps(db, result), None).row(0, named=True) if n else {"luckor": 0, "flaggade_faktorer": 0}
    console.print(f"{n} flaggade faktorer i listade områden, {s['luckor']} utan lokal insats (luckor): {escape(str(ut))}", highlight=False)
