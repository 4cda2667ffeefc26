"""`utanforskap konformitet`: check the shipped peer methods against their published outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from utanforskap.cli import app, console
from utanforskap.errors import InputError
from utanforskap.formatting import format_number

_DEFAULT = Path("tests") / "data" / "conformance"


@app.command("konformitet")
def check(
    svi: Annotated[Path, typer.Option(help="CDC:s publicerade SVI 2022-fil (countyn)")] = _DEFAULT / "SVI_2022_US_county.csv",
    imd: Annotated[Path, typer.Option(help="IMD 2025-filen (LSOA)")] = _DEFAULT / "imd2025_england_lsoa21.csv",
) -> None:
    """Kör SVI- och IMD-metoderna på de publicerade filerna och jämför varje officiell cell."""
    from utanforskap.methods import conformance

    table = Table(title="Överensstämmelse med publicerade utdata", title_justify="left")
    for col in ("metod", "kolumner", "celler lika", "celler", "första avvikelse"):
        table.add_column(col)
    all_equal = True
    for method_id, path in (("cdc-svi-2022", svi), ("england-imd-2025", imd)):
        if not path.is_file():
            raise InputError(f"{path}: filen finns inte; ange sökvägen med --{method_id.split('-')[1]}")
        agreement = conformance.check_published(method_id, path)
        equal = sum(a.lika for a in agreement)
        cells = sum(a.celler for a in agreement)
        first = next((a.forsta_avvikelse for a in agreement if a.forsta_avvikelse), "")
        all_equal &= equal == cells
        table.add_row(method_id, str(len(agreement)), format_number(equal), format_number(cells), first or "–")
    console.print(table)
    if not all_equal:
        raise typer.Exit(1)
