"""`utanforskap robusthet`: how sure each listing is, and which parameters move the list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from utanforskap.cli import app, console
from utanforskap.formatting import format_number, format_percent
from utanforskap.results.defaults import DEFAULT_METHOD, DEFAULT_YEAR


@app.command("robusthet")
def robusthet(
    metod: Annotated[str | None, typer.Option("--metod", help=f"Metod-id eller TOML-fil (standard: {DEFAULT_METHOD})")] = None,
    data: Annotated[str, typer.Option("--data", help="paket, syntetisk eller en lagerkatalog")] = "paket",
    ar: Annotated[int, typer.Option("--ar", help="Årgång")] = DEFAULT_YEAR,
    dragningar: Annotated[int, typer.Option("--dragningar", help="Antal Monte Carlo-dragningar")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Slumpfrö (samma frö ger samma resultat)")] = 2022,
    osakerhet: Annotated[Path | None, typer.Option("--osakerhet", help="TOML-fil med en tabell [osakerhet] (annars metodens egen)")] = None,
    sobol: Annotated[int, typer.Option("--sobol", help="Bas-sampel för Sobol-index (tvåpotens; 0 hoppar över känslighetsanalysen)")] = 2048,
    ut: Annotated[Path, typer.Option("--ut", help="Katalog för resultaten")] = Path("robusthet"),
) -> None:
    """Monte Carlo över metodens deklarerade osäkerhet: hur säker varje listning är."""
    from utanforskap.robustness import montecarlo, output, sensitivity, spec

    setup = montecarlo.prepare(metod, ar, data, osakerhet)
    if spec.is_empty(setup.spec):
        console.print("Inget är deklarerat som osäkert: varje sannolikhet blir 0 eller 1 och lika med dagens lista.")
    loose = spec.undeclared(setup.result.method, setup.spec)
    if loose:
        console.print(f"Hålls fasta utan angivet intervall (ej officiella): {escape(', '.join(loose))}", highlight=False)
    run = montecarlo.simulate(setup, dragningar, seed)
    sens = sensitivity.analyse(setup, sobol, seed) if sobol and setup.dims else None
    written = output.write(run, sens, ut)
    _print(run, sens)
    console.print(f"\nSkrev till {escape(str(ut))}/: " + ", ".join(p.name for p in written), highlight=False)


def _print(run, sens) -> None:
    s = run.summary()
    r = run.setup.result
    if r.source.synthetic:
        console.print("[bold white on red] SYNTETISKA DATA [/] inte verkliga personer")
    console.print(f"[bold]{escape(r.method.method.titel)}[/] ({escape(r.method.id)}), {r.year}: {s['dragningar']} dragningar, frö {s['seed']}")
    if run.setup.spec.beskrivning:
        console.print(f"Osäkerhet: {escape(run.setup.spec.beskrivning)}", highlight=False)
    console.print(
        f"Listans storlek: {s['omraden_min']}–{s['omraden_max']} områden (5–95 %: {format_number(s['omraden_p05'])}–"
        f"{format_number(s['omraden_p95'])}, median {format_number(s['omraden_median'])}); i dag {s['listade_idag']}.",
        highlight=False,
    )
    console.print(
        f"Säkert listade: [bold]{s['sakert_listade']}[/], osäkra: [bold]{s['osakra']}[/], säkert ej listade: "
        f"{format_number(s['sakert_ej_listade'])}; listade i varje dragning: {s['alltid_listade']}; "
        f"listade i 10–90 % av dragningarna: {s['listade_10_90']}.",
        highlight=False,
    )
    if sens is not None:
        table = Table(title="Vilka parametrar flyttar listan mest (Sobol, listans storlek)", title_justify="left")
        for col in ("parameter", "första ordningen", "totalt", "OAT: områden", "områden som byter"):
            table.add_column(col)
        for row in sens.table.iter_rows(named=True):
            table.add_row(
                escape(row["parameter"]), format_percent(row["sobol_forsta"]), format_percent(row["sobol_total"]),
                f"{row['oat_min_omraden']}–{row['oat_max_omraden']}", str(row["oat_omraden_som_byter"]),
            )
        console.print(table)
