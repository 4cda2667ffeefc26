"""`utanforskap metoder` and `utanforskap berakna`: list methods and run one on a table."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from utanforskap.atomic import check_output
from utanforskap.cli import app, say
from utanforskap.errors import InputError
from utanforskap.formatting import format_short


@app.command("metoder")
def list_methods(
    visa: Annotated[str | None, typer.Option("--visa", help="Visa parametrar och steg för en metod (id eller fil)")] = None,
    frys: Annotated[str | None, typer.Option("--frys", help="Fixera metodens relativa trösklar vid basårets nivåer (id eller fil)")] = None,
    ar: Annotated[int | None, typer.Option("--ar", help="Basåret för --frys")] = None,
    ut: Annotated[Path | None, typer.Option("--ut", help="Den fixerade metodfilen (.toml) för --frys")] = None,
    data: Annotated[str, typer.Option("--data", help="Data för --frys: paket, syntetisk eller en lagerkatalog")] = "paket",
) -> None:
    """Lista metoderna som följer med, med titel, version och proveniens; --frys fixerar trösklarna."""
    if frys:
        _freeze(frys, ar, ut, data)
        return
    from rich.markup import escape
    from rich.table import Table

    from utanforskap.cli import console
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
        table.add_row(mid, escape(method.titel), escape(method.version), escape(engine.provenance_summary(method)))
    console.print(table)


def _num(value) -> str:
    return format_short(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _show(loaded) -> None:  # a methods.loader.LoadedMethod
    from rich.markup import escape
    from rich.table import Table

    from utanforskap.cli import console
    from utanforskap.methods import engine, loader

    method = loaded.method
    console.print(f"[bold]{escape(method.titel)}[/] ({escape(method.id)}, version {escape(method.version)})", highlight=False)
    if method.kalla:
        console.print(f"Källa: {escape(method.kalla)}", highlight=False)
    console.print(escape(" ".join(method.beskrivning.split())), highlight=False)
    if method.parametrar:
        console.print("\n[bold]Parametrar[/]")
        for row in engine.describe_parameters(loaded):
            unit = f" {escape(str(row['enhet']))}" if row["enhet"] else ""
            value = row["varde"]
            shown = ", ".join(_num(v) for v in value) if isinstance(value, list) else _num(value)
            console.print(f"  [bold]{escape(str(row['parameter']))}[/] = {shown}{unit}  \\[{escape(str(row['proveniens']))}]", highlight=False)
            if row["motivering"]:
                console.print(f"      {escape(str(row['motivering']))}", highlight=False)
    if method.osakerhet is not None:
        _show_uncertainty(method.osakerhet)
    steps = Table(title=f"Steg ({len(method.steg)}, i {len(loaded.layers)} nivåer)", title_justify="left")
    for col in ("#", "namn", "typ", "indata"):
        steps.add_column(col)
    for i, step in enumerate(method.steg):
        refs = ", ".join(dict.fromkeys(c for _, c in loader.step_columns(step)))
        steps.add_row(str(i + 1), escape(step.namn), step.typ, escape(refs))
    console.print(steps)


def _show_uncertainty(spec) -> None:
    """The [osakerhet] table, as reviewers read it (utanforskap robusthet draws from it)."""
    from rich.markup import escape

    from utanforskap.cli import console

    console.print("\n[bold]Osäkerhet[/] (utanforskap robusthet)" + (f": {escape(spec.beskrivning)}" if spec.beskrivning else ""), highlight=False)
    for name, p in spec.parametrar.items():
        if p.fordelning == "diskret":
            what = "ett av " + ", ".join(format_short(v) for v in p.varden)
        elif p.relativ is not None:
            what = f"{p.fordelning}, ±{format_short(p.relativ * 100)} %" if p.fordelning == "likformig" else f"normal, sd {format_short(p.relativ * 100)} % av värdet"
        else:
            what = f"likformig {format_short(p.min)}–{format_short(p.max)}" if p.fordelning == "likformig" else f"normal, sd {format_short(p.sd)}"
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
            number = float(value.strip().replace(",", ".").replace("\u2212", "-"))
        except ValueError:
            raise InputError(f"--parameter {item!r}: skriv namn=värde med decimalpunkt eller decimalkomma, t.ex. flagggrans=0,8") from None
        if not math.isfinite(number):
            raise InputError(f"--parameter {item!r}: {value.strip()!r} är inte ett ändligt tal; ange ett vanligt tal, t.ex. 0.8")
        out[name.strip()] = number
    return out


@app.command("berakna")
def compute(
    metod: Annotated[str, typer.Argument(help="Id för en medföljande metod, eller sökväg till en TOML-fil")],
    data_fil: Annotated[Path, typer.Option("--data", help="Indata: CSV (med eller utan BOM) eller Parquet")],
    ut: Annotated[Path | None, typer.Option("--ut", help="Utdata: .csv eller .parquet (annars CSV till skärmen)")] = None,
    parameter: Annotated[list[str] | None, typer.Option("--parameter", "-p", help="Ändra en parameter: namn=värde")] = None,
    alla_kolumner: Annotated[bool, typer.Option("--alla-kolumner", help="Skriv även indata och mellanled")] = False,
) -> None:
    """Beräkna en metod på en tabell med ett område per rad."""
    if ut is not None:
        check_output(ut, folder=False)
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
    say(f"Skrev {out.height} områden och {out.width - 1} kolumner till {ut}")


@app.command("frys")
def freeze_command(
    metod: Annotated[str, typer.Argument(help="Id för en medföljande metod, eller sökväg till en TOML-fil")],
    ar: Annotated[int, typer.Option("--ar", help="Basåret vars nivåer trösklarna fixeras vid")],
    ut: Annotated[Path, typer.Option("--ut", help="Den nya metodfilen (.toml)")],
    data: Annotated[str, typer.Option("--data", help="paket, syntetisk eller en lagerkatalog")] = "paket",
) -> None:
    """Samma som `metoder --frys METOD --ar ÅR --ut FIL`."""
    _freeze(metod, ar, ut, data)


def _freeze(metod: str, ar: int | None, ut: Path | None, data: str) -> None:
    from rich.markup import escape

    from utanforskap.atomic import write_text
    from utanforskap.cli import console
    from utanforskap.followup.frozen import frozen_method

    if ar is None or ut is None:
        raise InputError("--frys kräver --ar ÅR (basåret) och --ut FIL.toml (den nya metodfilen)")
    if ut.suffix != ".toml":
        raise InputError(f"{ut}: den fixerade metoden skrivs som TOML; ge filen ändelsen .toml")
    raw, text = frozen_method(metod, ar, data)
    write_text(ut, text)
    fixed = [(n, p) for n, p in raw["parametrar"].items() if p["proveniens"] == "fixerad"]
    console.print(f"Skrev {escape(str(ut))}: metoden {escape(raw['id'])} med {len(fixed)} fixerade trösklar (basår {ar})", highlight=False)
    for name, p in fixed:
        console.print(f"  {escape(name)} = {p['varde']:.6g}  [fixerad]", highlight=False)
    if not fixed:
        console.print("Metoden har inga relativa trösklar; den fixerade versionen räknar som originalet.")
