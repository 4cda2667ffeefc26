"""The reports' section on the work against the flagged problems: from the metodbank, which
flagged problem variables in the listed areas no registered measure addresses (gaps), and,
in a kommun's report, the kommun's own measures.

    section(result, "riket", None)            # per factor and per län
    section(result, "kommun", "0180")         # per listed area and factor, and the kommun's measures

The metodbank is the one `databas` names, else UTANFORSKAP_DATABAS, else the local SQLite
file if it exists. Without one (or when it cannot be read) the section says so plainly and
the report is written as before. Only published, real measures count (never EXEMPEL), as in
metodbank.gaps.
"""

from __future__ import annotations

import contextlib
import logging
from functools import lru_cache

import polars as pl

from utanforskap.errors import InputError, SourceError
from utanforskap.metodbank import gaps
from utanforskap.metodbank.db import Database, default_path, open_database
from utanforskap.metodbank.rules import rules, vocab
from utanforskap.results.karta import MapResult

log = logging.getLogger(__name__)

NOT_CONNECTED = (
    "Ingen metodbank är ansluten: UTANFORSKAP_DATABAS är inte satt och det finns ingen lokal metodbank på den här datorn. "
    "Rapporten kan därför inte visa vilka insatser som finns mot de flaggade problemen eller var de saknas. "
    "Starta `utanforskap webb` eller ange databasen med UTANFORSKAP_DATABAS för att få med avsnittet."
)


@lru_cache(maxsize=4)
def _open(url: str) -> Database:
    """One Database per address and process (the batch renders 290 reports)."""
    return open_database(url, seed=False)


def _address(databas: str | None) -> str | None:
    """The metodbank's address: `databas`, UTANFORSKAP_DATABAS or the local SQLite file; None without one."""
    if not databas:
        from utanforskap.settings import load

        databas = load().databas
    if not databas:
        path = default_path()
        if not path.is_file():
            return None
        databas = f"sqlite:///{path}"
    return databas


def connect(databas: str | None = None) -> tuple[Database | None, str | None]:
    """The metodbank to read, or None and the plain reason why there is none."""
    address = _address(databas)
    if address is None:
        return None, NOT_CONNECTED
    try:
        return _open(address), None
    except (InputError, SourceError) as exc:
        log.warning("metodbanken kunde inte läsas för rapporten: %s", exc)
        return None, f"Metodbanken kunde inte läsas ({exc}). Rapporten visar därför inte vilka insatser som finns mot de flaggade problemen."


# What one batch of reports (one map) read from each metodbank: {address: (tables, gaps, reason)}.
_batch_reads: dict | None = None


@contextlib.contextmanager
def one_read(read: dict | None = None):
    """Within it the metodbank is read once per address (its published measures and the gaps
    in every listed area of the map), for a batch of reports of one map rendered together:
    the same for all 290 kommun reports. `read`: what `batch_reads()` returned in the process
    that started the batch, so that its workers neither open nor read the metodbank. Outside
    it every report reads the metodbank anew (the web application's metodbank changes while
    it runs)."""
    global _batch_reads
    outer = _batch_reads
    if outer is None:
        _batch_reads = dict(read or {})
    try:
        yield
    finally:
        _batch_reads = outer


def batch_reads(result: MapResult, databas: str | None = None) -> dict:
    """Read the metodbank for the batch now (in one_read) and return what was read, to pass on."""
    _national(result, databas)
    return dict(_batch_reads or {})


def _national(result: MapResult, databas: str | None) -> tuple[dict[str, pl.DataFrame] | None, pl.DataFrame | None, str | None]:
    """The published measures and the gaps in every listed area, or None and the reason."""
    address = _address(databas)
    if _batch_reads is not None and address in _batch_reads:
        return _batch_reads[address]
    db, reason = connect(databas)
    tables = g = None
    if db is not None:
        try:
            tables = gaps.published_tables(db)
        except Exception as exc:  # a database that answers wrongly: the report is still written, and says why
            log.warning("metodbanken kunde inte läsas för rapporten: %s", exc)
            reason = f"Metodbanken kunde inte läsas ({type(exc).__name__}). Rapporten visar därför inte insatserna."
        else:
            g = gaps.area_gaps(db, result, tables=tables)
    if _batch_reads is not None:
        _batch_reads[address] = (tables, g, reason)
    return tables, g, reason


def section(result: MapResult, kind: str, code: str | None, databas: str | None = None) -> dict:
    """The section's data for a report of `kind` ("riket" or "kommun")."""
    tables, g, reason = _national(result, databas)
    if tables is None or g is None:
        return {"ansluten": False, "meddelande": reason}
    names = vocab().problem
    m = tables["insatser"]
    out: dict = {
        "ansluten": True,
        "antal_insatser": m.height,
        "antal_nationella": m.filter(pl.col("niva") == "nationell").height,
        "faktor_namn": names,
    }
    if kind == "kommun" and code:
        return {**out, **_kommun(g, tables, code, names)}
    by_factor = gaps.gaps_by_factor(g).with_columns(pl.col("faktor").replace_strict(names, default=pl.col("faktor")).alias("faktor_namn"))
    total = gaps.summarize(g, None).row(0, named=True) if g.height else {"listade_omraden": 0, "flaggade_faktorer": 0, "med_lokal_insats": 0, "luckor": 0}
    return {
        **out,
        "summa": total,
        "per_faktor": by_factor.sort("luckor", descending=True).to_dicts(),
        "per_lan": gaps.summarize(g, "lan").to_dicts() if g.height else [],
        "utan_insats": by_factor.filter(pl.col("luckor") == pl.col("flaggade_omraden"))["faktor_namn"].to_list(),
    }


def _kommun(g: pl.DataFrame, tables: dict[str, pl.DataFrame], kod: str, names: dict[str, str]) -> dict:
    mine = g.filter(pl.col("kommun_kod") == kod)
    title = dict(zip(tables["insatser"]["insats_id"].to_list(), tables["insatser"]["namn"].to_list(), strict=True))
    rows = [
        {**r, "faktor_namn": names.get(r["faktor"], r["faktor"]), "i_omradet_namn": [title[i] for i in r["i_omradet"] if i in title]}
        for r in mine.to_dicts()
    ]
    own_ids = tables["kommuner"].filter(pl.col("kommun_kod") == kod)["insats_id"]
    own = tables["insatser"].filter(pl.col("insats_id").is_in(own_ids.implode()))
    per = {
        key: tables[table].filter(pl.col("insats_id").is_in(own_ids.implode())).group_by("insats_id").agg(pl.col(column).sort())
        for key, table, column in (("problem", "problem", "problem"), ("sektorer", "sektorer", "sektor"))
    }
    sectors, levels, grades = vocab().sektorer, vocab().niva, rules().grader
    measures = (
        own.join(per["problem"], on="insats_id", how="left").join(per["sektorer"].rename({"sektor": "sektorer"}), on="insats_id", how="left")
        .sort("namn").to_dicts()
    )
    for r in measures:
        r["problem_namn"] = [names.get(p, p) for p in (r["problem"] or [])]
        r["sektor_namn"] = [sectors.get(s, s) for s in (r["sektorer"] or [])]
        r["evidens"] = grades.get(r["evidensgrad"], r["evidensgrad"])
        r["niva_namn"] = levels.get(r["niva"], r["niva"])
    return {
        "luckor": rows,
        "antal_luckor": int(mine["lucka"].sum()) if mine.height else 0,
        "antal_flaggade": mine.height,
        "listade_omraden": mine["regso_kod"].n_unique() if mine.height else 0,
        "kommunens_insatser": measures,
    }
