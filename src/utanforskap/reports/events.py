"""Dated policy events marked on every time chart, read from a TOML file.

The bundled file is utanforskap/data/handelser.toml (its header documents the format); a
user may pass their own. Errors name the file and the key, e.g.
``egna.toml: handelse[2] (bidragstak).datum: '2027-13-01' är inget datum; skriv ÅÅÅÅ-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from importlib import resources

from utanforskap.errors import InputError
from utanforskap.tomlmodel import parse_toml, read_toml_text

BUNDLED = "handelser.toml"
PRECISIONS = ("dag", "manad", "ar")
KINDS = {"beslut": "beslut", "infort": "införd", "forslag": "förslag"}
_REQUIRED = ("id", "datum", "precision", "typ", "titel", "kort", "kalla")
_KNOWN = set(_REQUIRED) | {"osaker", "url", "anmarkning"}
_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december")


@dataclass(frozen=True)
class Event:
    id: str
    datum: dt.date
    precision: str
    typ: str
    titel: str
    kort: str
    kalla: str
    osaker: bool = False
    url: str = ""
    anmarkning: str = ""

    @property
    def ar(self) -> float:
        """Position on a yearly axis: the year plus the fraction of it that has passed."""
        start = dt.date(self.datum.year, 1, 1)
        days = (dt.date(self.datum.year + 1, 1, 1) - start).days
        return self.datum.year + (self.datum - start).days / days

    @property
    def datum_text(self) -> str:
        """The date as precisely as it is known, in Swedish."""
        if self.precision == "ar":
            return str(self.datum.year)
        if self.precision == "manad":
            return f"{_MONTHS[self.datum.month - 1]} {self.datum.year}"
        return f"{self.datum.day} {_MONTHS[self.datum.month - 1]} {self.datum.year}"

    @property
    def typ_text(self) -> str:
        return KINDS[self.typ]


def load(path: str | os.PathLike[str] | None = None) -> list[Event]:
    """The events of `path` (default: the bundled file), sorted by date."""
    if path is None:
        where = f"utanforskap/data/{BUNDLED}"
        text = resources.files("utanforskap.data").joinpath(BUNDLED).read_text("utf-8")
    else:
        where = str(path)
        text = read_toml_text(path)
    doc = parse_toml(text, where, hint="datum skrivs ÅÅÅÅ-MM-DD; kontrollera citattecken och hakparenteser")
    extra = set(doc) - {"handelse"}
    if extra:
        raise InputError(f"{where}: okänd nyckel {sorted(extra)[0]!r}; filen har bara [[handelse]]-tabeller")
    rows = doc.get("handelse", [])
    if not isinstance(rows, list):
        raise InputError(f"{where}: handelse ska vara en lista av tabeller ([[handelse]])")
    events: list[Event] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows, start=1):
        event = _event(row, f"{where}: handelse[{i}]")
        if event.id in seen:
            raise InputError(f"{where}: handelse[{i}].id: {event.id!r} finns redan (handelse[{seen[event.id]}])")
        seen[event.id] = i
        events.append(event)
    return sorted(events, key=lambda e: (e.datum, e.id))


def _event(row: dict, at: str) -> Event:
    if not isinstance(row, dict):
        raise InputError(f"{at}: ska vara en tabell med nycklarna {', '.join(_REQUIRED)}")
    label = f"{at} ({row['id']})" if isinstance(row.get("id"), str) else at
    for key in _REQUIRED:  # in file order, so the first problem a reader meets is reported
        if key not in row or row[key] in ("", None):
            raise InputError(f"{label}.{key}: saknas")
        if key == "datum":
            _date(row["datum"], f"{label}.datum")
    unknown = sorted(set(row) - _KNOWN)
    if unknown:
        raise InputError(f"{label}.{unknown[0]}: okänd nyckel; tillåtna: {', '.join(sorted(_KNOWN))}")
    for key in ("id", "titel", "kort", "kalla", "precision", "typ", "url", "anmarkning"):
        if key in row and not isinstance(row[key], str):
            raise InputError(f"{label}.{key}: ska vara text")
    datum = _date(row["datum"], f"{label}.datum")
    if row["precision"] not in PRECISIONS:
        raise InputError(f"{label}.precision: {row['precision']!r}; tillåtna: {', '.join(PRECISIONS)}")
    if row["typ"] not in KINDS:
        raise InputError(f"{label}.typ: {row['typ']!r}; tillåtna: {', '.join(KINDS)}")
    osaker = row.get("osaker", False)
    if not isinstance(osaker, bool):
        raise InputError(f"{label}.osaker: ska vara true eller false")
    if osaker and not row.get("anmarkning"):
        raise InputError(f"{label}.anmarkning: saknas; säg vad som är osäkert när osaker = true")
    if len(row["kort"]) > 40:
        raise InputError(f"{label}.kort: högst 40 tecken (etiketten i diagrammet), har {len(row['kort'])}")
    return Event(
        id=row["id"], datum=datum, precision=row["precision"], typ=row["typ"], titel=row["titel"], kort=row["kort"],
        kalla=row["kalla"], osaker=osaker, url=row.get("url", ""), anmarkning=row.get("anmarkning", ""),
    )


def _date(value, at: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(f"{at}: {value!r} är inget datum; skriv ÅÅÅÅ-MM-DD, t.ex. 2026-07-01")
