"""`utanforskap rojandekontroll granska`: the intruder's audit of a published microdata table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from utanforskap.cli import app, console
from utanforskap.errors import InputError
from utanforskap.formatting import format_number

rojandekontroll = typer.Typer(help="Röjandekontroll för tabeller ur mikrodata.", no_args_is_help=True)
app.add_typer(rojandekontroll, name="rojandekontroll")


@rojandekontroll.command("granska")
def granska(
    publicerat: Annotated[Path, typer.Argument(help="Publicerad tabell (.parquet eller .csv) från `utanforskap aggregera`")],
    min_antal: Annotated[int | None, typer.Option("--min-antal", help="Tröskeln N (standard UTANFORSKAP_MIN_ANTAL eller 5)")] = None,
    intervall: Annotated[Path | None, typer.Option("--intervall", help="Skriv varje dold uppgifts härledda intervall till en .csv")] = None,
    exakta: Annotated[bool, typer.Option("--exakta", help="Räkna ut exakta intervall för alla dolda uppgifter (fler LP)")] = False,
) -> None:
    """Räknar ut vad en inkräktare kan härleda om varje dold uppgift ur allt som publicerats, och listar bristerna."""
    from utanforskap.microdata import aggregate as ag
    from utanforskap.microdata import audit as au
    from utanforskap.settings import load as load_settings

    if not publicerat.exists():
        raise InputError(f"{publicerat}: filen finns inte")
    if publicerat.suffix.lower() == ".parquet":
        obs = pl.read_parquet(publicerat)
    elif publicerat.suffix.lower() == ".csv":
        obs = pl.read_csv(publicerat, schema_overrides={"omrade": pl.String, "period": pl.String})
    else:
        raise InputError(f"{publicerat}: okänd filändelse; använd .parquet eller .csv")
    missing = {"omrade", "niva", "period", "variabel", "varde", "status", "enhet", "taljare"} - set(obs.columns)
    if missing:
        raise InputError(f"{publicerat}: kolumner saknas: {', '.join(sorted(missing))}; är det en tabell från aggregera?")
    n = min_antal if min_antal is not None else load_settings().min_antal
    result = ag.audit_observations(obs, min_antal=n, rules=au.load_rules(), exact=exakta)
    dolda = result.intervals
    console.print(
        f"Granskade {format_number(obs.height)} rader: {format_number(dolda.filter(~pl.col('dold')).height)} dolda uppgifter "
        f"och {format_number(dolda.filter(pl.col('dold')).height)} opublicerade grupper, "
        f"{format_number(result.n_lp)} LP på " + f"{result.seconds:.1f} s.".replace(".", ",", 1),
        highlight=False,
    )
    if intervall is not None:
        from utanforskap.atomic import atomic_path

        with atomic_path(intervall) as tmp:
            dolda.write_csv(tmp)
        console.print(f"Skrev {escape(str(intervall))}", highlight=False)
    if result.ok:
        console.print(f"[bold green]Godkänd:[/] ingen dold uppgift kan härledas snävare än reglerna tillåter (N = {n}).")
        return
    table = Table(title=f"Brister ({format_number(result.violations.height)})", title_justify="left")
    for col in ("område", "nivå", "period", "variabel", "intervall", "skäl"):
        table.add_column(col)
    for r in result.violations.head(50).iter_rows(named=True):
        span = "" if r["lo"] is None or r["lo"] != r["lo"] else f"{r['lo']:.0f}–{r['hi']:.0f}"
        table.add_row(*(escape(str(x)) for x in (r["omrade"], r["niva"], r["period"], r["variabel"], span, r["skal"])))
    console.print(table)
    raise InputError(f"{publicerat}: underkänd av röjandekontrollen: {result.violations.height} brister")
