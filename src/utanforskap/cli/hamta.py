"""`utanforskap hamta`: fetch the catalogue's variables from SCB and Kolada into the store.

A thin command over utanforskap.sources.fetch (the pipeline): it shows progress and
prints the summary table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from utanforskap.cli import app, console
from utanforskap.errors import InputError


@app.command("hamta")
def hamta(
    ar: str = typer.Option("2019-2024", "--ar", help="År: 2022, 2019-2024 eller 2019,2021"),
    niva: str = typer.Option("regso", "--niva", help="Områdesnivå: regso, deso eller kommun"),
    lager: Path | None = typer.Option(None, "--lager", help="Observationslagrets katalog (standard: UTANFORSKAP_STORE_DIR eller ./lager)"),
    offline: bool = typer.Option(False, "--offline", help="Hämta inget från nätet; spela upp svar ur cachen"),
    katalog: Path | None = typer.Option(None, "--katalog", help="Egen katalogfil (TOML) i stället för den inbyggda"),
    cache: Path | None = typer.Option(None, "--cache", help="Katalog för råa API-svar (standard: UTANFORSKAP_CACHE_DIR eller ./cache)"),
    omradesnycklar: bool = typer.Option(False, "--omradesnycklar", help="Hämta bara nyckeln DeSO 2018 → 2025 och RegSO 2020 → 2025 ur SCB:s aggregeringskodlistor"),
    nyckelfil: Path | None = typer.Option(None, "--nyckelfil", help="Läs nyckeln mellan indelningarna ur SCB:s nyckelfil (xlsx eller CSV) i stället"),
    geometri: bool = typer.Option(False, "--geometri", help="Hämta i stället områdesgränserna (RegSO 2020, DeSO 2018) från SCB:s WFS till lagret"),
) -> None:
    """Hämta katalogens variabler från SCB (PxWebApi 2.0) och Kolada till observationslagret."""
    from utanforskap.observations.store import ObservationStore
    from utanforskap.settings import load as load_settings
    from utanforskap.sources import fetch

    overrides: dict[str, object] = {}
    if cache is not None:
        overrides["cache_dir"] = cache
    if lager is not None:
        overrides["store_dir"] = lager
    settings = load_settings(**overrides)
    if (omradesnycklar or nyckelfil is not None) and geometri:
        raise InputError("hamta: ange antingen --geometri eller --omradesnycklar/--nyckelfil, inte båda")
    if omradesnycklar or nyckelfil is not None:
        _keys(settings, nyckelfil, offline)
        return
    if geometri:
        _geometry(settings)
        return
    years = fetch.parse_years(ar)
    out = console
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=out, transient=True,
        ) as bar:
            task = bar.add_task("Hämtar", total=None)

            def progress(done: int, total: int, vid: str) -> None:
                bar.update(task, completed=done, total=total, description=f"Hämtar {vid}" if vid else "Hämtar")

            fetched = fetch.fetch_all(years, niva, settings=settings, offline=offline, katalog=katalog,
                                      progress=progress)
    except fetch.FetchAborted as exc:
        _summary(out, exc.outcomes, niva, years, failed=exc.variable)
        raise
    store = ObservationStore(settings.store_dir)
    written = fetch.commit(store, fetched)
    _summary(out, fetched.outcomes, niva, years)
    if written:
        version = store.manifest().get("version")
        out.print(f"Skrev {len(written)} dataset till {escape(str(settings.store_dir))} (manifestversion {version}).")
    else:
        out.print(f"Inget att skriva; {escape(str(settings.store_dir))} är oförändrat.")


def _geometry(settings) -> None:
    """`hamta --geometri`: SCB's WFS layers into <lager>/geometri (whole or not at all)."""
    from utanforskap.formatting import format_number
    from utanforskap.geography import wfs

    folder = Path(settings.store_dir) / "geometri"
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("Hämtar gränser", total=None)

        def progress(layer: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None, description=f"Hämtar {layer}")

        fetched = wfs.fetch_layers(folder, settings.geometri_wfs, timeout=settings.http_timeout, progress=progress)
    table = Table(title="Områdesgränser från SCB:s WFS", title_justify="left")
    for name, justify in (("lager", "left"), ("nivå", "left"), ("områden", "right"), ("fil", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for f in fetched:
        table.add_row(escape(f.layer), f.level, format_number(f.count), escape(f.file))
    console.print(table)
    console.print(f"Skrev gränserna till {escape(str(folder))}; kartor och rapporter använder dem nu.", highlight=False)


def _summary(out: Console, outcomes: Sequence, niva: str, years: Sequence[str], failed: str = "") -> None:
    from utanforskap.sources import fetch

    table = Table(title=escape(fetch.summary_title(niva, years, failed)), title_justify="left")
    for name, justify in fetch.SUMMARY_COLUMNS:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in fetch.summary_rows(outcomes):
        table.add_row(*(escape(cell) for cell in row))
    if failed:
        table.add_row(escape(failed), "", "", "", "", "", "[bold red]fel – se nedan[/]")
    out.print(table)


def _keys(settings, nyckelfil: Path | None, offline: bool) -> None:
    """The key between area vintages into the store directory, with a count per change code."""
    from utanforskap.geography import vintages
    from utanforskap.sources import vintage_keys
    from utanforskap.sources.pxweb import PxWebClient

    if nyckelfil is not None:
        key = vintage_keys.from_key_file(nyckelfil)
        origin = str(nyckelfil)
    else:
        with PxWebClient(settings=settings, offline=offline) as client:
            key = vintage_keys.from_codelists(client)
        ids = vintage_keys.codelist_ids()
        origin = f"SCB-kodlistorna {ids['regso_fran']} och {ids['regso_till']}"
    path = vintage_keys.write(key, settings.store_dir)
    console.print(f"Nyckel mellan indelningarna ur {escape(origin)}:", highlight=False)
    for niva in vintages.VINTAGES:
        counts = vintages.area_changes(key, niva).group_by("andring").len().sort("andring")
        parts = ", ".join(f"{r['andring']} {r['len']}" for r in counts.iter_rows(named=True))
        console.print(f"  {niva}: {parts}", highlight=False)
    console.print(f"Skrev {escape(str(path))}", highlight=False)
