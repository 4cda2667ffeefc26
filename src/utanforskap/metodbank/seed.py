"""The real measures that ship with the program (data/nationella_insatser_2024_2026.csv),
imported once into a new database so that everyone sees them from the start.

Each row keeps its text as the source gives it (period, decision, amount, how certain) with
its source and address; sectors and problem variables are read through data/tolkning.toml
(the project's interpretation, labelled so). No evaluations: none exist for them here.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from functools import lru_cache
from importlib import resources

from pydantic import Field

from utanforskap.atomic import sha256_bytes
from utanforskap.metodbank.db import Database, get_meta, set_meta
from utanforskap.metodbank.schema import InsatsIn, validate_insats
from utanforskap.tomlmodel import Strict, load_toml_model

FILE = "nationella_insatser_2024_2026.csv"
SOURCE_NOTE = "Verklig insats ur projektets sammanställning nationella_insatser_2024_2026.csv (regeringen.se, Skolverket)."
SEED_ACTOR_NAME = "paketerade data"
_ISO_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})–(\d{4}-\d{2}-\d{2})$")


class RowMapping(Strict):
    agare_typ: str
    problem: list[str]
    kommuner: list[str] = Field(default_factory=list)


class Mapping(Strict):
    proveniens: str
    sektor: dict[str, list[str]]
    insats: dict[str, RowMapping]


def _read(name: str) -> bytes:
    return resources.files("utanforskap.metodbank").joinpath("data", name).read_bytes()


@lru_cache(maxsize=1)
def bundled_measures() -> list[InsatsIn]:
    """The bundled real measures, validated like any import."""
    mapping = load_toml_model(_read("tolkning.toml").decode(), "utanforskap/metodbank/data/tolkning.toml", Mapping)
    rows = list(csv.DictReader(io.StringIO(_read(FILE).decode("utf-8"))))
    by_id = {r["id"]: r for r in rows}
    out = []
    for n, row in enumerate(rows, start=2):
        where = f"utanforskap/metodbank/data/{FILE}, rad {n}"
        m = mapping.insats[row["id"]]
        kalla = row["kalla"]
        same = re.match(r"^samma som (\S+)$", kalla)
        if same and same.group(1) in by_id:  # the source refers to another row's source
            kalla = by_id[same.group(1)]["kalla"]
        start = slut = None
        if (r := _ISO_RANGE.match(row["period"])) is not None:
            start, slut = date.fromisoformat(r.group(1)), date.fromisoformat(r.group(2))
        sectors = mapping.sektor[row["sektor"]]
        data = {
            "extern_id": row["id"],
            "namn": row["namn"],
            "beskrivning": SOURCE_NOTE,
            "niva": row["niva"],
            "agare_typ": m.agare_typ,
            "agare_namn": row["ansvarig"],
            "kommuner": m.kommuner,
            "malgrupp": row["malgrupp"],
            "sektorer": sectors,
            "problem": m.problem,
            "start": start,
            "slut": slut,
            "period_text": row["period"],
            "beslut_text": row["beslut_eller_start"],
            "belopp_text": row["belopp"],
            "urval": row["urval"],
            "kallor": [{"titel": kalla, "url": row["url"]}],
            "kallstatus": row["status_kalla"],
        }
        out.append(validate_insats(data, where))
    return out


def ensure_seeded(db: Database) -> int:
    """Import the bundled measures if this database has never had them; returns how many
    were added. A measure an administrator later removes is not brought back."""
    from utanforskap.metodbank.registry import Actor, create

    key = f"fro:{FILE}"
    digest = sha256_bytes(_read(FILE))
    with db.session() as s:
        if get_meta(s, key) is not None:
            return 0
    actor = Actor(SEED_ACTOR_NAME, "administrator")
    added = 0
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from utanforskap.metodbank.models import Insats

    try:
        with db.session() as s:
            if get_meta(s, key) is not None:
                return 0
            existing = set(s.scalars(select(Insats.extern_id).where(Insats.extern_id.is_not(None))))
            for data in bundled_measures():
                if data.extern_id in existing:
                    continue
                create(db, actor, data, status="publicerad", session=s)
                added += 1
            set_meta(s, key, digest)
    except IntegrityError:  # another process seeded at the same moment
        return 0
    return added
