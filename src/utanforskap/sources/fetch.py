"""The fetch pipeline behind `utanforskap hamta`: the catalogue's variables from SCB and Kolada
into the observation store.

Everything is fetched first and written in one store transaction at the end: a run that
fails part-way leaves the observation store exactly as it was. The run's raw responses
are staged apart from the response cache (http.CacheStaging) and moved into it only after
the store has committed, so the cache too is as it was after a failed run, and offline
replay never mixes two publications.

A year that comes back without any value (no value and nothing suppressed) counts as not
fetched: the store keeps what it had for that year, and the summary says so.

One dataset per variable and level (`api_<variabel>_<niva>`). A run replaces the periods
it fetched and keeps the stored rows of every other period, so `--ar 2019-2020` followed
by `--ar 2022` leaves 2019, 2020 and 2022. The manifest entry's `ar` lists every period in
the dataset and `hamtningar` which fetch (table, codelist or KPI) each period came from.

    outcomes = fetch.run(["2022"], "regso", settings=settings)   # fetch_all + commit
    fetched = fetch.fetch_all(...); fetch.commit(store, fetched)  # the same in two steps
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import polars as pl

from utanforskap import catalogue
from utanforskap.errors import InputError, SourceError, UtanforskapError
from utanforskap.geography import hierarchy
from utanforskap.observations.store import ENTRY_FIELDS, ObservationStore
from utanforskap.settings import Settings
from utanforskap.sources import jsonstat, selection_check
from utanforskap.sources.http import CacheStaging, short_list
from utanforskap.sources.kolada import KoladaClient
from utanforskap.sources.pxweb import PxWebClient, area_codelist

LEVELS = ("regso", "deso", "kommun")
NO_API_SOURCE = "ingen API-källa"
SUMMARY_COLUMNS = (("Variabel", "left"), ("Källa", "left"), ("Rader", "right"), ("Med värde", "right"),
                   ("Undertryckta", "right"), ("Saknas", "right"), ("Anmärkning", "left"))

# Called before each variable: (variables done, variables in all, the variable's id).
Progress = Callable[[int, int, str], None]


@dataclass
class Outcome:
    """What happened to one catalogue variable."""

    variabel: str
    kalla: str
    frame: pl.DataFrame | None = None
    expected: int = 0  # cells asked for: the level's areas x the years asked for
    note: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    written: bool = False  # set by commit()

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
        # Every area x year asked for that has neither a value nor a suppressed cell: empty
        # cells, and the combinations the source does not have at all.
        missing = max(self.expected - valued - suppressed, int((f["status"] == "saknas").sum()))
        return rows, valued, suppressed, missing


@dataclass
class Fetched:
    """What fetch_all gathered, not yet written: the outcomes and the staged raw responses."""

    outcomes: list[Outcome]
    staging: CacheStaging | None = None


class FetchAborted(SourceError):
    """A run stopped at `variable`; `outcomes` holds the variables fetched before it."""

    def __init__(self, message: str, variable: str, outcomes: list[Outcome]):
        super().__init__(message)
        self.variable = variable
        self.outcomes = outcomes


def run(
    years: Sequence[str],
    niva: str,
    *,
    settings: Settings,
    offline: bool = False,
    katalog: Path | None = None,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Fetch every catalogue variable, then write them in one transaction."""
    fetched = fetch_all(years, niva, settings=settings, offline=offline, katalog=katalog, progress=progress)
    commit(ObservationStore(settings.store_dir), fetched)
    return fetched.outcomes


def fetch_all(
    years: Sequence[str],
    niva: str,
    *,
    settings: Settings,
    offline: bool = False,
    katalog: Path | None = None,
    progress: Progress | None = None,
) -> Fetched:
    """One Outcome per catalogue variable; nothing is written. Raises FetchAborted."""
    if niva not in LEVELS:
        raise InputError(f"okänd nivå {niva!r}; välj en av {', '.join(LEVELS)}")
    cat = catalogue.load(katalog)
    CacheStaging.recover(settings.cache_dir)  # finish a cache commit a crash interrupted
    staging = None if offline else CacheStaging(settings.cache_dir)
    areas = hierarchy.default().codes(niva).len()
    scb: PxWebClient | None = None
    kolada: KoladaClient | None = None
    outcomes: list[Outcome] = []
    current = ""
    try:
        for i, (vid, var) in enumerate(cat.variabel.items()):
            current = vid
            if progress is not None:
                progress(i, len(cat.variabel), vid)
            if var.scb is not None and (niva in var.scb.kodlistor or var.kolada is None):
                scb = scb or PxWebClient(settings=settings, offline=offline, staging=staging)
                outcomes.append(_without_empty_years(_from_scb(scb, vid, var, niva, years), areas * len(years)))
            elif var.kolada is not None:
                kolada = kolada or KoladaClient(settings=settings, offline=offline, staging=staging)
                outcomes.append(_without_empty_years(_from_kolada(kolada, vid, var, niva, years), areas * len(years)))
            else:
                outcomes.append(Outcome(vid, NO_API_SOURCE, note="finns bara i paketerade filer"))
        if progress is not None:
            progress(len(cat.variabel), len(cat.variabel), "")
    except BaseException as exc:
        if staging is not None:
            staging.discard()
        if not isinstance(exc, UtanforskapError):
            raise
        raise FetchAborted(
            f"hämtningen avbröts vid variabeln {current}; observationslagret {settings.store_dir} är oförändrat. {exc}",
            current, outcomes,
        ) from exc
    finally:
        for client in (scb, kolada):
            if client is not None:
                client.close()
    return Fetched(outcomes, staging)


def commit(store: ObservationStore, fetched: Fetched) -> list[Outcome]:
    """Write every outcome with rows in one store transaction, then move the run's raw
    responses into the cache; returns the outcomes written."""
    written = [o for o in fetched.outcomes if o.frame is not None and o.frame.height]
    before = store.datasets()
    for o in written:  # a table of another area vintage than the stored dataset: stop before writing
        if "kodlista" in o.meta:
            selection_check.check_vintage(o.variabel, o.meta["tabell"], o.meta["kodlista"], before.get(o.dataset, {}).get("kodlista"))
    try:
        if written:
            with store.transaction() as tx:
                stored = store.datasets()  # read under the transaction's lock
                for o in written:
                    assert o.frame is not None  # `written` holds the outcomes that have rows
                    frame, meta = o.frame, {**o.meta, "hamtningar": [_fetch_record(o.meta)]}
                    if o.dataset in stored:
                        frame, meta = _keep_earlier_periods(o, store.dataset(o.dataset), stored[o.dataset])
                    tx.put(o.dataset, frame, **meta)
    except BaseException:
        if fetched.staging is not None:
            fetched.staging.discard()
        raise
    if fetched.staging is not None:
        fetched.staging.commit()
    for o in written:
        o.written = True
    return written


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


# ---- the summary ----------------------------------------------------------------------
def summary_title(niva: str, years: Sequence[str], failed: str = "") -> str:
    return f"Hämtning, nivå {niva}, år {format_years(list(years))}" + (" — AVBRUTEN, inget skrevs" if failed else "")


def summary_rows(outcomes: Sequence[Outcome]) -> list[tuple[str, ...]]:
    """One row per variable, in the order of SUMMARY_COLUMNS (plain text, unescaped)."""
    out: list[tuple[str, ...]] = []
    for o in outcomes:
        if o.kalla == NO_API_SOURCE:
            out.append((o.variabel, o.kalla, "–", "–", "–", "–", o.note))
            continue
        rows, valued, suppressed, missing = o.counts()
        note = o.note or ("" if o.frame is not None else "inget hämtat")
        out.append((o.variabel, o.kalla, str(rows), str(valued), str(suppressed), str(missing), note))
    return out


def format_years(years: Sequence[str]) -> str:
    return ", ".join(years) if len(years) <= 4 else f"{years[0]}–{years[-1]} ({len(years)} år)"


# ---- keeping earlier periods ----------------------------------------------------------
def _keep_earlier_periods(o: Outcome, old: pl.DataFrame, old_meta: dict[str, Any]) -> tuple[pl.DataFrame, dict[str, Any]]:
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
        o.note = "; ".join(filter(None, [o.note, f"behöll tidigare hämtade {format_years(kept_periods)}"]))
    meta = {**o.meta, "ar": sorted({*kept_periods, *now}), "hamtningar": records}
    assert o.frame is not None  # only outcomes with rows are committed
    return pl.concat([kept, o.frame], how="vertical"), meta


def _fetch_record(meta: dict[str, Any]) -> dict[str, Any]:
    """Where one fetch came from (table, contents, codelist or KPI, years), for `hamtningar`."""
    return {k: v for k, v in meta.items() if k not in (*ENTRY_FIELDS, "niva", "hamtningar")}


def _without_empty_years(o: Outcome, expected: int) -> Outcome:
    """Leave out the years with no value at all (nothing suppressed either): they were not
    fetched, and the store keeps what it has for them. Sets the cells asked for."""
    if o.frame is None or "ar" not in o.meta:
        return o
    o.expected = expected
    has_data = pl.col("varde").is_not_null() | (pl.col("status") == "undertryckt")
    with_data = set(o.frame.filter(has_data)["period"].unique().to_list())
    empty = [y for y in o.meta["ar"] if y not in with_data]
    if empty:
        source = o.kalla.split(" ")[0]
        o.frame = o.frame.filter(pl.col("period").is_in(sorted(with_data)))
        o.meta = {**o.meta, "ar": [y for y in o.meta["ar"] if y in with_data]}
        note = f"{source} har inga värden för {format_years(empty)}; lagrade värden för dem behålls"
        o.note = "; ".join(filter(None, [o.note, note]))
    return o


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
        notes.append(f"tabellen saknar {format_years(absent)}")
    if niva in ("deso", "regso") and not codelist.endswith("2025"):
        # SCB publishes reference years from 2024 only in the 2025 area vintages; a 2018/2020
        # codelist would return empty cells for them. Say so rather than fetch nothing silently.
        later = [y for y in available if int(y) >= 2024]
        if later:
            notes.append(
                f"{format_years(later)} finns bara i 2025 års indelning ({area_codelist(niva, later[0])}), "
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
    unmatched = cast(list[str], res.rapport["ej_kopplade_koder"])
    selection_check.check_matched(vid, src.tabell, codelist, res.observationer.height, unmatched)
    if unmatched:
        notes.append(
            f"{len(unmatched)} koder i {codelist} finns inte i DeSO 2018/RegSO 2020 och lämnades utanför: "
            f"{short_list(unmatched, 3, ', ')}"
        )
        meta_out["ej_kopplade_koder"] = unmatched
    frame = res.observationer
    return Outcome(vid, f"{kalla} ({codelist})", frame, note="; ".join(notes), meta=meta_out)


def _from_kolada(client: KoladaClient, vid: str, var: catalogue.Variable, niva: str, years: Sequence[str]) -> Outcome:
    src = var.kolada
    assert src is not None
    kalla = f"Kolada {src.kpi}"
    if niva != "kommun":
        return Outcome(vid, kalla, note="Kolada har bara kommunnivå; hämta med --niva kommun")
    selection_check.check_kolada(client.kpis(ids=[src.kpi]), src.kpi, vid)
    frame = client.observations(src.kpi, years, variabel=vid, kon=src.kon, enhet=var.enhet)
    notes = [] if src.verifierad else ["nyckeltalet ej verifierat"]
    meta_out = {"niva": niva, "hamtat_fran": "Kolada v3", "kpi": src.kpi, "kon": src.kon, "ar": list(years)}
    return Outcome(vid, kalla, frame, note="; ".join(notes), meta=meta_out)
