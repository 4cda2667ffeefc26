"""`utanforskap hamta`: fetch the catalogue's variables from SCB and Kolada into the store.

Everything is fetched first and written in one store transaction at the end: a run that
fails part-way leaves the observation store exactly as it was.

One dataset per variable and level (`api_<variabel>_<niva>`). A run replaces the periods
it fetched and keeps the stored rows of every other period, so `--ar 2019-2020` followed
by `--ar 2022` leaves 2019, 2020 and 2022. The manifest entry's `ar` lists every period in
the dataset and `hamtningar` which fetch (table, codelist or KPI) each period came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from utanforskap import catalogue
from utanforskap.cli import app, console
from utanforskap.errors import InputError, SourceError, UtanforskapError
from utanforskap.observations.store import ENTRY_FIELDS, ObservationStore
from utanforskap.settings import Settings
from utanforskap.settings import load as load_settings
from utanforskap.sources import jsonstat, selection_check
from utanforskap.sources.http_cache import short_list
from utanforskap.sources.kolada import KoladaClient
from utanforskap.sources.pxweb import PxWebClient, area_codelist

LEVELS = ("regso", "deso", "kommun")


@dataclass
class Outcome:
    """What happened to one catalogue variable."""

    variabel: str
    kalla: str
    frame: pl.DataFrame | None = None
    expected: int = 0  # cells asked for (areas x years) where known
    note: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        return f"api_{self.variabel}_{self.meta.get('niva', '')}"

    def counts(self) -> tuple[int, int, int, int]:
        """Rows, with a value, suppressed, missing (absent cells count as missing)."""
        if self.frame is None:
            return 0, 0, 0, self.expected
        f = self.frame
        rows = f.height
        valued = int(f["varde"].is_not_null().sum())
        suppressed = int((f["status"] == "undertryckt").sum())
        missing = int((f["status"] == "saknas").sum()) + max(self.expected - rows, 0)
        return rows, valued, suppressed, missing


@app.command("hamta")
def hamta(
    ar: str = typer.Option("2019-2024", "--ar", help="År: 2022, 2019-2024 eller 2019,2021"),
    niva: str = typer.Option("regso", "--niva", help="Områdesnivå: regso, deso eller kommun"),
    lager: Path | None = typer.Option(None, "--lager", help="Observationslagrets katalog (standard: UTANFORSKAP_STORE_DIR eller ./lager)"),
    offline: bool = typer.Option(False, "--offline", help="Hämta inget från nätet; spela upp svar ur cachen"),
    katalog: Path | None = typer.Option(None, "--katalog", help="Egen katalogfil (TOML) i stället för den inbyggda"),
    cache: Path | None = typer.Option(None, "--cache", help="Katalog för råa API-svar (standard: UTANFORSKAP_CACHE_DIR eller ./cache)"),
) -> None:
    """Hämtar katalogens variabler från SCB (PxWebApi 2.0) och Kolada till observationslagret."""
    overrides: dict[str, object] = {}
    if cache is not None:
        overrides["cache_dir"] = cache
    if lager is not None:
        overrides["store_dir"] = lager
    settings = load_settings(**overrides)
    run(parse_years(ar), niva, settings=settings, offline=offline, katalog=katalog, out=console)


def run(
    years: Sequence[str],
    niva: str,
    *,
    settings: Settings,
    offline: bool = False,
    katalog: Path | None = None,
    out: Console | None = None,
) -> list[Outcome]:
    """Fetch, then write in one transaction; print progress and a summary to `out`."""
    out = out or Console()
    if niva not in LEVELS:
        raise InputError(f"okänd nivå {niva!r}; välj en av {', '.join(LEVELS)}")
    cat = catalogue.load(katalog)
    store = ObservationStore(settings.store_dir)
    scb: PxWebClient | None = None
    kolada: KoladaClient | None = None
    outcomes: list[Outcome] = []
    current = ""
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=out, transient=True,
        ) as progress:
            task = progress.add_task("Hämtar", total=len(cat.variabel))
            for vid, var in cat.variabel.items():
                current = vid
                progress.update(task, description=f"Hämtar {vid}")
                if var.scb is not None and (niva in var.scb.kodlistor or var.kolada is None):
                    scb = scb or PxWebClient(settings=settings, offline=offline)
                    outcomes.append(_from_scb(scb, vid, var, niva, years))
                elif var.kolada is not None:
                    kolada = kolada or KoladaClient(settings=settings, offline=offline)
                    outcomes.append(_from_kolada(kolada, vid, var, niva, years))
                else:
                    outcomes.append(Outcome(vid, "ingen API-källa", note="finns bara i paketerade filer"))
                progress.advance(task)
    except UtanforskapError as exc:
        _summary(out, outcomes, niva, years, failed=current)
        raise SourceError(
            f"hämtningen avbröts vid variabeln {current}; observationslagret {settings.store_dir} är oförändrat. {exc}"
        ) from exc
    finally:
        for client in (scb, kolada):
            if client is not None:
                client.close()

    fetched = [o for o in outcomes if o.frame is not None and o.frame.height]
    before = store.datasets()
    for o in fetched:  # a table of another area vintage than the stored dataset: stop before writing
        if "kodlista" in o.meta:
            selection_check.check_vintage(o.variabel, o.meta["tabell"], o.meta["kodlista"], before.get(o.dataset, {}).get("kodlista"))
    if fetched:
        with store.transaction() as tx:
            stored = store.datasets()  # read under the transaction's lock
            for o in fetched:
                frame, meta = o.frame, {**o.meta, "hamtningar": [_fetch_record(o.meta)]}
                if o.dataset in stored:
                    frame, meta = _keep_earlier_periods(o, store.dataset(o.dataset), stored[o.dataset])
                tx.put(o.dataset, frame, **meta)
    _summary(out, outcomes, niva, years)
    if fetched:
        version = store.manifest().get("version")
        out.print(f"Skrev {len(fetched)} dataset till {settings.store_dir} (manifestversion {version}).")
    else:
        out.print(f"Inget att skriva; {settings.store_dir} är oförändrat.")
    return outcomes


def parse_years(text: str) -> list[str]:
    """'2019-2024', '2022' or '2019,2021-2022' as a sorted list of years."""
    years: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        m = re.fullmatch(r"(\d{4})(?:\s*-\s*(\d{4}))?", part)
        if not m:
            raise InputError(f"ogiltigt år {part!r} i --ar; skriv t.ex. 2022, 2019-2024 eller 2019,2021")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo or hi - lo > 100:
            raise InputError(f"ogiltigt årsintervall {part!r} i --ar")
        years.update(range(lo, hi + 1))
    return [str(y) for y in sorted(years)]


def _keep_earlier_periods(o: Outcome, old: pl.DataFrame, old_meta: dict) -> tuple[pl.DataFrame, dict]:
    """This run's rows plus the stored rows of the periods it did not fetch, and their manifest entry."""
    now = [str(y) for y in o.meta["ar"]]
    kept = old.filter(~pl.col("period").is_in(now))
    kept_periods = sorted(kept["period"].unique().to_list())
    earlier = old_meta.get("hamtningar") or [_fetch_record(old_meta)]
    records = [
        {**r, "ar": [y for y in r.get("ar", kept_periods) if y in kept_periods]} for r in earlier
    ]
    records = [r for r in records if r["ar"]] + [_fetch_record(o.meta)]
    if kept_periods:
        o.note = "; ".join(filter(None, [o.note, f"behöll tidigare hämtade {_years(kept_periods)}"]))
    meta = {**o.meta, "ar": sorted({*kept_periods, *now}), "hamtningar": records}
    return pl.concat([kept, o.frame], how="vertical"), meta


def _fetch_record(meta: dict) -> dict:
    """Where one fetch came from (table, contents, codelist or KPI, years), for `hamtningar`."""
    return {k: v for k, v in meta.items() if k not in (*ENTRY_FIELDS, "niva", "hamtningar")}


# ---- one variable per source ----------------------------------------------------------
def _from_scb(client: PxWebClient, vid: str, var: catalogue.Variable, niva: str, years: Sequence[str]) -> Outcome:
    src = var.scb
    assert src is not None
    kalla = f"SCB {src.tabell}"
    codelist = src.kodlistor.get(niva)
    if codelist is None:
        return Outcome(vid, kalla, note=f"ingen kodlista för nivån {niva} i katalogen")
    meta = client.metadata(src.tabell)
    selection_check.check_scb(meta, variable=vid, contents=src.innehall, urval=src.urval, region=src.region_variabel, codelist=codelist)
    tid = meta.variable(src.tid_variabel)
    available = [y for y in years if y in tid.codes]
    absent = [y for y in years if y not in tid.codes]
    notes = [] if src.verifierad else ["tabell och urval ej verifierade"]
    if absent:
        notes.append(f"tabellen saknar {_years(absent)}")
    if niva in ("deso", "regso") and not codelist.endswith("2025"):
        # SCB publishes reference years from 2024 only in the 2025 area vintages; a 2018/2020
        # codelist would return empty cells for them. Say so rather than fetch nothing silently.
        later = [y for y in available if int(y) >= 2024]
        if later:
            notes.append(
                f"{_years(later)} finns bara i 2025 års indelning ({area_codelist(niva, later[0])}), "
                f"inte i {codelist}: serien bryts mellan 2023 och 2024, så de hämtas inte"
            )
            available = [y for y in available if y not in later]
    if not available:
        return Outcome(vid, kalla, note="; ".join(notes))
    contents = next((v.code for v in meta.variables.values() if v.is_contents), "ContentsCode")
    selection: dict[str, str | list[str]] = {src.region_variabel: "*", src.tid_variabel: available, contents: src.innehall}
    selection.update(src.urval)
    ds = client.data(src.tabell, selection, {src.region_variabel: codelist})
    res = jsonstat.to_observations(
        ds, niva=niva, region=meta.variable(src.region_variabel).code, time=tid.code,
        variables={src.innehall: vid}, contents=contents, kalla=kalla, enhet=var.enhet,
        where=f"SCB-tabell {src.tabell} för {vid}",
    )
    meta_out = {"niva": niva, "hamtat_fran": "SCB PxWebApi 2.0", "tabell": src.tabell, "innehall": src.innehall,
                "kodlista": codelist, "ar": available}
    unmatched = res.rapport["ej_kopplade_koder"]
    selection_check.check_matched(vid, src.tabell, codelist, res.observationer.height, unmatched)
    if unmatched:
        notes.append(
            f"{len(unmatched)} koder i {codelist} finns inte i DeSO 2018/RegSO 2020 och lämnades utanför: "
            f"{short_list(unmatched, 3, ', ')}"
        )
        meta_out["ej_kopplade_koder"] = unmatched
    frame = res.observationer
    return Outcome(vid, f"{kalla} ({codelist})", frame, frame.height, "; ".join(notes), meta_out)


def _from_kolada(client: KoladaClient, vid: str, var: catalogue.Variable, niva: str, years: Sequence[str]) -> Outcome:
    src = var.kolada
    assert src is not None
    kalla = f"Kolada {src.kpi}"
    if niva != "kommun":
        return Outcome(vid, kalla, note="Kolada har bara kommunnivå; hämta med --niva kommun")
    selection_check.check_kolada(client.kpis(ids=[src.kpi]), src.kpi, vid)
    kommuner = [str(r["id"]) for r in client.municipalities(kind="K")]
    frame = client.observations(src.kpi, years, variabel=vid, kon=src.kon, enhet=var.enhet)
    notes = [] if src.verifierad else ["nyckeltalet ej verifierat"]
    meta_out = {"niva": niva, "hamtat_fran": "Kolada v3", "kpi": src.kpi, "kon": src.kon, "ar": list(years)}
    return Outcome(vid, kalla, frame, len(kommuner) * len(years), "; ".join(notes), meta_out)


def _years(years: Sequence[str]) -> str:
    return ", ".join(years) if len(years) <= 4 else f"{years[0]}–{years[-1]} ({len(years)} år)"


def _summary(out: Console, outcomes: Sequence[Outcome], niva: str, years: Sequence[str], failed: str = "") -> None:
    title = f"Hämtning, nivå {niva}, år {_years(list(years))}" + (" — AVBRUTEN, inget skrevs" if failed else "")
    table = Table(title=title, title_justify="left")
    for name, justify in (("Variabel", "left"), ("Källa", "left"), ("Rader", "right"), ("Med värde", "right"),
                          ("Undertryckta", "right"), ("Saknas", "right"), ("Anmärkning", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for o in outcomes:
        if o.kalla == "ingen API-källa":
            table.add_row(o.variabel, o.kalla, "–", "–", "–", "–", o.note)
            continue
        rows, valued, suppressed, missing = o.counts()
        note = o.note or ("" if o.frame is not None else "inget hämtat")
        table.add_row(o.variabel, o.kalla, str(rows), str(valued), str(suppressed), str(missing), note)
    if failed:
        table.add_row(failed, "", "", "", "", "", "[bold red]fel – se nedan[/]")
    out.print(table)
