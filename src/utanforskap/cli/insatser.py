"""`utanforskap insatser mall|importera|exportera`: the metodbank's measures as files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from utanforskap.cli import app, console
from utanforskap.cli.anvandare import DatabasOpt, _db

insatser_app = typer.Typer(help="Metodbankens insatser: Excelmall, import, export och rapporteringsomgångar.", no_args_is_help=True)
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


# ---- reporting rounds ---------------------------------------------------------------------
omgang_app = typer.Typer(help="Rapporteringsomgångar: kommunernas lägesbild som en återkommande enkät.", no_args_is_help=True)
insatser_app.add_typer(omgang_app, name="omgang")
STAFF_ACTOR = ("kommandoraden", "administrator")


def _day(value: str | None, flag: str):
    from datetime import date

    from utanforskap.errors import InputError

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag}: ange ett datum som ÅÅÅÅ-MM-DD, inte {value!r}") from None


@omgang_app.command("oppna")
def omgang_oppna(
    namn: Annotated[str, typer.Argument(help="Omgångens namn, t.ex. 'Lägesbild 2026'")],
    fran: Annotated[str, typer.Option("--fran", help="Periodens första dag ÅÅÅÅ-MM-DD")],
    till: Annotated[str, typer.Option("--till", help="Periodens sista dag ÅÅÅÅ-MM-DD")],
    sista_dag: Annotated[str | None, typer.Option("--sista-dag", help="Sista dag att svara ÅÅÅÅ-MM-DD")] = None,
    enkat: Annotated[str, typer.Option("--enkat", help="Enkät: ett namn som följer med programmet (lagesbild) eller en TOML-fil")] = "lagesbild",
    kommuner: Annotated[str | None, typer.Option("--kommuner", help="Kommunkoder som ska svara, åtskilda med komma (standard: alla)")] = None,
    databas: DatabasOpt = None,
) -> None:
    """Öppna en rapporteringsomgång: varje kommuns redaktörer svarar på webben (Metodbank → Rapportering)."""
    from utanforskap.metodbank import rounds
    from utanforskap.metodbank.registry import Actor

    start, end = _day(fran, "--fran"), _day(till, "--till")
    codes = [k.strip() for k in kommuner.split(",") if k.strip()] if kommuner else None
    rid = rounds.open_round(_db(databas), Actor(*STAFF_ACTOR), namn, start, end, sista_dag=_day(sista_dag, "--sista-dag"), enkat=enkat, kommuner=codes)
    console.print(f"Öppnade omgång {rid}: {escape(namn)} ({start}–{end}). Svaren på /metodbank/omgangar/{rid}.", highlight=False)


@omgang_app.command("lista")
def omgang_lista(databas: DatabasOpt = None) -> None:
    """Lista omgångarna med antal svar per status."""
    from rich.table import Table

    from utanforskap.metodbank import rounds
    from utanforskap.metodbank.registry import Actor
    from utanforskap.metodbank.rules import vocab

    db, actor = _db(databas), Actor(*STAFF_ACTOR)
    found = rounds.list_rounds(db, actor)
    if not found:
        console.print("Inga omgångar ännu; öppna en med `utanforskap insatser omgang oppna`.", highlight=False)
        return
    v = vocab()
    t = Table("id", "namn", "period", "status", *[v.svarsstatus[s] for s in rounds.STATUSES])
    for o in found:
        n = rounds.counts(rounds.status_rows(db, actor, o.id))
        t.add_row(str(o.id), escape(o.namn), f"{o.period_fran}–{o.period_till}", v.omgangsstatus[o.status], *[str(n[s]) for s in rounds.STATUSES])
    console.print(t)


@omgang_app.command("paminnelser")
def omgang_paminnelser(
    omgang: Annotated[int, typer.Argument(help="Omgångens id (se `omgang lista`)")],
    ut: Annotated[Path | None, typer.Option("--ut", help="Skriv listan som CSV")] = None,
    databas: DatabasOpt = None,
) -> None:
    """Kommunerna som inte har skickat in, med redaktörerna att påminna."""
    import csv
    import io

    from utanforskap.atomic import write_text
    from utanforskap.metodbank import rounds
    from utanforskap.metodbank.registry import Actor

    rows = rounds.reminders(_db(databas), Actor(*STAFF_ACTOR), omgang)
    if ut is not None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["kommun_kod", "status", "redaktorer", "sista_dag"])
        w.writerows([r["kommun_kod"], r["status"], ";".join(r["redaktorer"]), r["sista_dag"]] for r in rows)
        write_text(ut, buf.getvalue())
    for r in rows[:40]:
        console.print(f"{r['kommun_kod']}  {r['status']:<12} {escape(', '.join(r['redaktorer']) or '(ingen redaktör har konto)')}", highlight=False)
    more = f" (alla i {escape(str(ut))})" if ut is not None else ""
    console.print(f"{len(rows)} kommuner har inte skickat in{more}.", highlight=False)


@omgang_app.command("sammanstall")
def omgang_sammanstall(
    omgang: Annotated[int, typer.Argument(help="Omgångens id")],
    ut: Annotated[Path, typer.Option("--ut", help="Fil: .csv eller .xlsx")] = Path("omgang_svar.csv"),
    databas: DatabasOpt = None,
) -> None:
    """Skriv alla kommuners svar i en tabell (en kolumn per fråga)."""
    from utanforskap.metodbank import rounds
    from utanforskap.metodbank.registry import Actor

    n = rounds.export_compiled(_db(databas), Actor(*STAFF_ACTOR), omgang, ut)
    console.print(f"{n} kommuners svar: {escape(str(ut))}", highlight=False)


@omgang_app.command("stang")
def omgang_stang(omgang: Annotated[int, typer.Argument(help="Omgångens id")], databas: DatabasOpt = None) -> None:
    """Stäng omgången: svaren låses och sparas i insatsernas historik."""
    from utanforskap.metodbank import rounds
    from utanforskap.metodbank.registry import Actor

    n = rounds.close_round(_db(databas), Actor(*STAFF_ACTOR), omgang)
    console.print(f"Omgång {omgang} är stängd; {n} kommuners svar är sparade i historiken.", highlight=False)
