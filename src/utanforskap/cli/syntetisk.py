"""`utanforskap syntetisk`: draw a SYNTETISKA DATA population in the microdata schema."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from utanforskap.atomic import check_output
from utanforskap.cli import app, console
from utanforskap.errors import InputError
from utanforskap.formatting import format_number, format_percent


@app.command("syntetisk")
def syntetisk(
    ut: Annotated[Path, typer.Option("--ut", help="Parquet-fil att skriva personerna till (med --ar över flera år: en mapp)")],
    personer: Annotated[int | None, typer.Option("--personer", help="Antal personer (standard: hela befolkningen, 10 521 556)")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Slumpfrö; samma frö ger samma personer")] = 2022,
    ar: Annotated[str | None, typer.Option("--ar", help="År eller intervall, t.ex. 2019-2024: en panel med samma personer (lopnr) varje år")] = None,
    insats: Annotated[Path | None, typer.Option("--insats", help="TOML-fil med en påhittad insats (utfall, start, omraden, effekt): dess kända effekt läggs in")] = None,
) -> None:
    """Dra en syntetisk befolkning (SYNTETISKA DATA) kalibrerad mot SCB:s DeSO-tabeller 2022."""
    from utanforskap.microdata import synthetic

    if insats is not None and ar is None:
        raise InputError("--insats lägger in en effekt över åren: ange också --ar, t.ex. --ar 2019-2024")
    if ar is not None:
        _panel(ut, personer, seed, ar, insats)
        return
    if ut.suffix.lower() != ".parquet":
        raise InputError(f"{ut}: den syntetiska befolkningen skrivs som Parquet (.parquet)")
    check_output(ut, folder=False)
    console.print("[bold yellow]SYNTETISKA DATA[/] – påhittade personer, får aldrig redovisas som verkliga.", highlight=False)
    t0 = time.perf_counter()
    with console.status("Drar personer ..."):
        table = synthetic.draw(personer, seed)
    drawn = time.perf_counter() - t0
    with console.status(escape(f"Skriver {ut} ...")):
        synthetic.write(table, ut)
    console.print(
        f"{format_number(table.num_rows)} personer dragna på {drawn:.1f} s".replace(".", ",") + escape(f" och skrivna till {ut}."),
        highlight=False,
    )
    console.print(_levels(pl.from_arrow(table)))
    console.print(escape(synthetic.label(table.num_rows, seed)), highlight=False)


def _levels(df: pl.DataFrame) -> Table:
    """National levels as drawn (the targets are in data/syntetisk_modell.toml)."""
    a = pl.col("alder")
    rows = df.select(
        (pl.col("sysselsattning") == "sysselsatt").filter(a.is_between(20, 64)).mean().alias("Sysselsatta 20–64 år"),
        (pl.col("bistand_manader") >= 1).filter(a.is_between(20, 64)).mean().alias("Ekonomiskt bistånd 20–64 år"),
        pl.col("trangbodd").drop_nulls().mean().alias("Trångbodda (norm 2)"),
        pl.col("rostat").filter(pl.col("rostberattigad")).mean().alias("Valdeltagande"),
        pl.col("behorig_gymnasiet").filter(pl.col("lamnat_ak9")).mean().alias("Behöriga till gymnasiet"),
        pl.col("misstankt_brott").filter(a >= 15).mean().alias("Misstänkta för brott 15+"),
        pl.col("lag_ekonomisk_standard").drop_nulls().mean().alias("Låg ekonomisk standard"),
        pl.col("ohalsodagar").filter(a.is_between(16, 64)).mean().alias("Ohälsotal 16–64 år (dagar)"),
    ).row(0, named=True)
    table = Table(title="Riket (SYNTETISKA DATA)", title_justify="left")
    table.add_column("indikator")
    table.add_column("värde", justify="right")
    for name, value in rows.items():
        text = f"{value:.1f}".replace(".", ",") if "dagar" in name and value is not None else format_percent(value)
        table.add_row(name, "–" if value is None else text)
    return table


def _panel(ut: Path, personer: int | None, seed: int, ar: str, insats: Path | None = None) -> None:
    """A panel: one Parquet file per year in the folder `ut` (personer_<år>.parquet), written as one set.
    With `insats`: a made-up measure's known effect injected (microdata.insats), and the folder
    also gets behandlade.csv (for `utanforskap effekt --behandlade`) and insats.toml (the truth)."""
    from utanforskap.atomic import atomic_dir
    from utanforskap.microdata import insats as injected
    from utanforskap.microdata import panel, synthetic

    years = panel.parse_years(ar)
    spec = injected.read_spec(insats, years) if insats is not None else None
    if ut.suffix.lower() == ".parquet":
        raise InputError(f"{ut}: en panel över flera år skrivs som en mapp med en fil per år; ange en mapp som --ut")
    if ut.exists() and any(ut.glob("*.parquet")):
        raise InputError(f"{ut}: mappen har redan .parquet-filer; en panel skrivs i en tom mapp (år får inte finnas i två filer)")
    console.print("[bold yellow]SYNTETISKA DATA[/] – påhittade personer, får aldrig redovisas som verkliga.", highlight=False)
    t0 = time.perf_counter()
    rows = []
    capped = 0
    with atomic_dir(ut) as stage, console.status("Drar panelen ...") as status:
        for year, table in panel.draw_panel(years, personer, seed):
            status.update(f"Skriver {year} ...")
            if spec is not None:
                table, short = injected.inject(table, spec)
                capped = max(capped, short)
            synthetic.write(table, stage / f"personer_{year}.parquet")
            df = pl.from_arrow(table.select(["alder", "sysselsattning", "lopnr"]))
            rows.append((year, table.num_rows, df.select(
                (pl.col("sysselsattning") == "sysselsatt").filter(pl.col("alder").is_between(20, 64)).mean()).item()))
        if spec is not None:
            (stage / "behandlade.csv").write_text(injected.treated_csv(spec), encoding="utf-8")
            (stage / "insats.toml").write_text(injected.truth_toml(spec), encoding="utf-8")
    console.print(f"Panel {years[0]}–{years[-1]} dragen på {time.perf_counter() - t0:.1f} s".replace(".", ",") + f", skriven till {ut}/", highlight=False)
    for year, n, emp in rows:
        console.print(f"  {year}: {format_number(n)} personer, sysselsatta 20–64 år {format_percent(emp)}", highlight=False)
    console.print(panel.panel_label(personer or synthetic.marginals().total, seed), highlight=False)
    if spec is not None:
        o = spec.outcome
        console.print(
            f"[bold yellow]SYNTETISKA DATA[/] med {escape(spec.label())}. Känd effekt på {o.lagesvariabel} per 1 000 {o.namnare}: "
            + f"{spec.effect_per_thousand:+.1f}".replace(".", ",").replace("-", "−") + escape(f" (behandlade.csv och insats.toml i {ut}/)."),
            highlight=False,
        )
        if capped:
            console.print(f"I {capped} behandlade områden rymdes inte hela effekten något år (andelen nådde 0 eller 1); den skattade effekten blir där mindre.", highlight=False)
        console.print(
            escape(f"Skatta den: utanforskap aggregera --mikrodata {ut} --lager LAGER && utanforskap effekt --behandlade "
                   f"{ut}/behandlade.csv --utfall {o.lagesvariabel} --per-tusen {o.namnare} --data LAGER --ut UT"),
            highlight=False,
        )
