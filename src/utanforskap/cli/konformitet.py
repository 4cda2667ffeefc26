"""`utanforskap konformitet`: check the shipped peer methods against their published outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from utanforskap.cli import app, console
from utanforskap.errors import InputError
from utanforskap.formatting import format_number

# The published files are 6 MB and not in the installed package; a source checkout has them
# under tests/data/conformance, found from this file wherever the command is run.
FILES = {"svi": "SVI_2022_US_county.csv", "imd": "imd2025_england_lsoa21.csv"}
WHERE = {
    "svi": "CDC/ATSDR:s SVI 2022 för USA:s countyn (https://www.atsdr.cdc.gov/place-health/php/svi/svi-data-documentation-download.html)",
    "imd": "English Indices of Deprivation 2025, fil 7 per LSOA 2021 (https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025)",
}


def _default(name: str) -> Path:
    checkout = Path(__file__).resolve().parents[3] / "tests" / "data" / "conformance" / FILES[name]
    if checkout.is_file():
        return checkout
    raise InputError(
        f"{FILES[name]} följer inte med det installerade paketet; ladda ner {WHERE[name]} och ange filen med --{name}"
    )


@app.command("konformitet")
def check(
    svi: Annotated[Path | None, typer.Option(help="CDC:s publicerade SVI 2022-fil (countyn); standard: källkodens kopia")] = None,
    imd: Annotated[Path | None, typer.Option(help="IMD 2025-filen (LSOA); standard: källkodens kopia")] = None,
) -> None:
    """Kör SVI- och IMD-metoderna på de publicerade filerna och jämför varje officiell cell."""
    svi = svi or _default("svi")
    imd = imd or _default("imd")
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
