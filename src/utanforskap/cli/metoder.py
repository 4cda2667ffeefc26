"""`utanforskap metoder` and `utanforskap berakna`: list methods and run one on a table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from utanforskap.cli import app, console
from utanforskap.errors import InputError


@app.command("metoder")
def list_methods(
    visa: Annotated[str | None, typer.Option("--visa", help="Visa parametrar och steg för en metod (id eller fil)")] = None,
) -> None:
    """Lista metoderna som följer med, med titel, version och proveniens."""
    from utanforskap.methods import engine, loader

    if visa:
        _show(loader.load(visa))
        return
    table = Table(title="Metoder", title_justify="left")
    table.add_column("id", no_wrap=True)
    for col in ("titel", "version", "proveniens"):
        table.add_column(col)
    for mid in loader.builtin_ids():
        method = loader.load(mid).method
        table.add_row(mid, method.titel, method.version, engine.provenance_summary(method))
    console.print(table)


def _show(loaded) -> None:
    from utanforskap.methods import engine, loader

    method = loaded.method
    console.print(f"[bold]{method.titel}[/] ({method.id}, version {method.version})")
    if method.kalla:
        console.print(f"Källa: {method.kalla}")
    console.print(" ".join(method.beskrivning.split()), highlight=False)
    if method.parametrar:
        console.print("\n[bold]Parametrar[/]")
        for row in engine.describe_parameters(loaded):
            unit = f" {row['enhet']}" if row["enhet"] else ""
            console.print(f"  [bold]{row['parameter']}[/] = {row['varde']}{unit}  [{row['proveniens']}]", highlight=False)
            if row["motivering"]:
                console.print(f"      {row['motivering']}", highlight=False)
    if method.osakerhet is not None:
        _show_uncertainty(method.osakerhet)
    steps = Table(title=f"Steg ({len(method.steg)}, i {len(loaded.layers)} nivåer)", title_justify="left")
    for col in ("#", "namn", "typ", "indata"):
        steps.add_column(col)
    for i, step in enumerate(method.steg):
        refs = ", ".join(dict.fromkeys(c for _, c in loader.step_columns(step)))
        steps.add_row(str(i + 1), step.namn, step.typ, refs)
    console.print(steps)


def _show_uncertainty(spec) -> None:
    """The [osakerhet] table, as reviewers read it (utanforskap robusthet draws from it)."""
    from rich.markup import escape

    console.print("\n[bold]Osäkerhet[/] (utanforskap robusthet)" + (f": {escape(spec.beskrivning)}" if spec.beskrivning else ""), highlight=False)
    for name, p in spec.parametrar.items():
        if p.fordelning == "diskret":
            what = "ett av " + ", ".join(f"{v:g}" for v in p.varden)
        elif p.relativ is not None:
            what = f"{p.fordelning}, ±{p.relativ * 100:g} %" if p.fordelning == "likformig" else f"normal, sd {p.relativ * 100:g} % av värdet"
        else:
            what = f"likformig {p.min:g}–{p.max:g}" if p.fordelning == "likformig" else f"normal, sd {p.sd:g}"
        console.print(f"  [bold]{name}[/]: {what}  \\[{p.proveniens}]", highlight=False)
        console.print("      " + escape(p.motivering), highlight=False)
    for alt in spec.alternativ:
        console.print(f"  [bold]{alt.steg}.{alt.falt}[/]: ett av {', '.join(alt.val)}  \\[{alt.proveniens}]", highlight=False)
        console.print("      " + escape(alt.motivering), highlight=False)
    for name, noise in spec.indata.items():
        console.print(f"  [bold]{name}[/]: brus {noise.brus}  \\[{noise.proveniens}]", highlight=False)
        console.print("      " + escape(noise.motivering), highlight=False)


def parse_parameters(values: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"--parameter {item!r}: skriv namn=värde, t.ex. flagggrans=0.8") from None
    return out


@app.command("berakna")
def compute(
    metod: Annotated[str, typer.Argument(help="Id för en medföljande metod, eller sökväg till en TOML-fil")],
    data_fil: Annotated[Path, typer.Option("--data", help="Indata: CSV (med eller utan BOM) eller Parquet")],
    ut: Annotated[Path | None, typer.Option("--out", "--ut", help="Utdata: .csv eller .parquet (annars CSV till skärmen)")] = None,
    parameter: Annotated[list[str] | None, typer.Option("--parameter", "-p", help="Ändra en parameter: namn=värde")] = None,
    alla_kolumner: Annotated[bool, typer.Option("--alla-kolumner", help="Skriv även indata och mellanled")] = False,
) -> None:
    """Beräkna en metod på en tabell med ett område per rad."""
    from utanforskap.methods import data, engine, loader

    loaded = loader.load(metod)
    overrides = parse_parameters(parameter)
    prepared = data.prepare(loaded, data.read_table(data_fil), str(data_fil))
    result = engine.run(loaded, prepared, parameters=overrides, keep_all=alla_kolumner, source=str(data_fil))
    out = engine.output_frame(loaded, result)
    if ut is None:
        out.write_csv(sys.stdout)
        return
    data.write_table(out, ut)
    console.print(f"Skrev {out.height} områden och {out.width - 1} kolumner till {ut}")
