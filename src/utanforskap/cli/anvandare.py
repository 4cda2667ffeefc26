"""`utanforskap anvandare skapa|lista|sparra|token|aterkalla`: the metodbank's accounts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from utanforskap.cli import app, console

anvandare_app = typer.Typer(help="Metodbankens användare: skapa, lista, spärra, API-token.", no_args_is_help=True)
app.add_typer(anvandare_app, name="anvandare")

DatabasOpt = Annotated[str | None, typer.Option("--databas", help="Databasens adress (standard: UTANFORSKAP_DATABAS eller en SQLite-fil i användarkatalogen)")]


def _db(databas: str | None):
    from utanforskap.metodbank.db import open_database

    return open_database(databas)


@anvandare_app.command("skapa")
def skapa(
    namn: Annotated[str, typer.Argument(help="Användarnamn (inloggning)")],
    roll: Annotated[str, typer.Option("--roll", help="redaktor, granskare eller administrator")],
    kommun: Annotated[str | None, typer.Option("--kommun", help="Kommunkod (krävs för en redaktör), t.ex. 0180")] = None,
    losenord: Annotated[str, typer.Option("--losenord", prompt="Lösenord (minst 12 tecken)", hide_input=True, confirmation_prompt="Upprepa lösenordet", help="Lösenordet (frågas efter om det inte anges)")] = "",  # noqa: E501 (Swedish text for users)
    databas: DatabasOpt = None,
) -> None:
    """Skapa ett konto i metodbanken."""
    from utanforskap.metodbank import accounts

    user = accounts.create_user(_db(databas), namn, roll, kommun, losenord)
    where = f" för kommun {user.kommun_kod}" if user.kommun_kod else ""
    console.print(f"Skapade {escape(user.namn)} ({user.roll}{where}). Logga in på /metodbank/logga-in i `utanforskap webb`.", highlight=False)


@anvandare_app.command("lista")
def lista(
    token: Annotated[bool, typer.Option("--token", help="Visa API-token i stället för konton")] = False,
    databas: DatabasOpt = None,
) -> None:
    """Lista konton (eller API-token)."""
    from utanforskap.metodbank import accounts

    db = _db(databas)
    if token:
        t = Table("id", "användare", "roll", "kommun", "beskrivning", "skapad", "återkallad")
        for r in accounts.list_tokens(db):
            t.add_row(str(r["id"]), escape(r["anvandare"]), r["roll"], r["kommun"] or "–", escape(r["beskrivning"]), r["skapad"], r["aterkallad"] or "–")
    else:
        t = Table("namn", "roll", "kommun", "spärrad", "skapad")
        for u in accounts.list_users(db):
            t.add_row(escape(u.namn), u.roll, u.kommun_kod or "–", "ja" if u.sparrad else "nej", u.skapad)
    console.print(t)


@anvandare_app.command("sparra")
def sparra(
    namn: Annotated[str, typer.Argument(help="Användarnamn")],
    oppna: Annotated[bool, typer.Option("--oppna", help="Häv spärren")] = False,
    databas: DatabasOpt = None,
) -> None:
    """Spärra ett konto: inloggningar, sessioner och API-token slutar gälla direkt."""
    from utanforskap.metodbank import accounts

    user = accounts.block_user(_db(databas), namn, not oppna)
    console.print(f"{escape(user.namn)} är {'spärrad' if user.sparrad else 'inte längre spärrad'}.", highlight=False)


anvandare_app.command("spärra", hidden=True)(sparra)


@anvandare_app.command("token")
def token(
    namn: Annotated[str, typer.Argument(help="Användarnamn; token får användarens roll och kommun")],
    beskrivning: Annotated[str, typer.Option("--beskrivning", help="Vad token används till")] = "",
    databas: DatabasOpt = None,
) -> None:
    """Skapa en API-token (visas bara en gång; sparas som hash)."""
    from utanforskap.metodbank import accounts

    token_id, value = accounts.create_token(_db(databas), namn, beskrivning)
    console.print(f"Token {token_id} för {escape(namn)} (skickas som `Authorization: Bearer ...`; visas bara nu):", highlight=False)
    print(value)


@anvandare_app.command("aterkalla")
def aterkalla(
    token_id: Annotated[int, typer.Argument(help="Tokens id (se `anvandare lista --token`)")],
    databas: DatabasOpt = None,
) -> None:
    """Återkalla en API-token."""
    from utanforskap.metodbank import accounts

    accounts.revoke_token(_db(databas), token_id)
    console.print(f"Token {token_id} är återkallad.")
