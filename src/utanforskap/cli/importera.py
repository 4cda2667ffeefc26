"""`utanforskap importera`: build the bundled data package from the open source files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from utanforskap.cli import app, console
from utanforskap.formatting import format_number


@app.command("importera")
def importera(
    fran: Path = typer.Option(..., "--fran", help="Mappen med källfilerna (shared/data, med undermappen se/)."),
    till: Path | None = typer.Option(
        None, "--till", help="Paketmappen som skrivs (standard: utanforskap/data/paket i paketet)."
    ),
) -> None:
    """Läs SCB:s, Polisens, Skolverkets och Segregationsbarometerns filer och skriv paketet som Parquet."""
    from utanforskap.sources import bundle

    with console.status("Läser källfilerna och aggregerar ..."):
        manifest = bundle.build(fran, till)
    target = Path(till) if till is not None else bundle.package_dir()
    table = Table(title=f"Paketet i {target}")
    table.add_column("Fil")
    table.add_column("Innehåll")
    table.add_column("Byte", justify="right")
    for entry in manifest["harledda_filer"]:
        table.add_row(escape(entry["fil"]), escape(entry["innehall"]), format_number(entry["bytes"]))
    console.print(table)
    brott = manifest["rapport"]["polisen_brott"]
    uso = manifest["rapport"]["polisen_uso_2025"]
    console.print(
        f"Källfiler: {len(manifest['kallfiler'])}. "
        f"Brott utan DeSO-kod: {brott['utan_deso_med_kommun']} lagda på kommun, "
        f"{brott['utan_deso_och_kommun_med_lan']} på län, {brott['utan_plats']} på riket; "
        f"{brott['fore_2019_utelamnade']} registrerade före 2019 utelämnade. "
        f"Utsatta områden 2025: {uso['ej_kopplade']} DeSO 2025-koder kunde inte kopplas till DeSO 2018 "
        "(se referens/polisen_uso_2025.parquet).",
        highlight=False,
    )
