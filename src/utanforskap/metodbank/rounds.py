"""Reporting rounds: the coordinator's survey of the kommuner as a standing, repeatable tool.

    rid = open_round(db, reviewer, "Lägesbild 2026", date(2026, 1, 1), date(2026, 12, 31))
    save_answer(db, editor, rid, "0180", {"strategi": "ja", ...}, [12, 40])   # paborjad
    save_answer(db, editor, rid, "0180", {...}, [12, 40], submit=True)         # inskickad
    review(db, reviewer, rid, "0180", approve=True)                           # granskad
    status_rows(db, reviewer, rid); reminders(db, reviewer, rid)
    close_round(db, reviewer, rid)      # answers frozen; each reported measure's history notes it

A round has a questionnaire (data/enkater/<id>.toml, copied into the round when it opens),
a period, the kommuner expected to answer (default: all) and an optional last day. Each
kommun's answer is the structured answers plus the ids of the kommun's measures it reports
(registered through the measure forms or the Excel template, also uploaded from the
round's page). Status per kommun: ej-paborjad (no answer yet), paborjad, inskickad, granskad.

Who may do what: the public nothing; an editor (redaktör) reads the rounds and reads and
writes only their own kommun's answer while the round is open and the answer is not
submitted; reviewers and administrators open and close rounds, read every answer, review
(approve or send back) and see the reminders and the compiled answers. They do not write a
kommun's answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from utanforskap.errors import InputError
from utanforskap.formatting import spreadsheet_safe
from utanforskap.metodbank.db import Database, bump_version
from utanforskap.metodbank.models import Anvandare, Historik, Insats, InsatsKommun, Omgang, OmgangHandelse, OmgangSvar
from utanforskap.metodbank.registry import Actor, Forbidden, NotFound, now, record
from utanforskap.metodbank.schema import known_codes
from utanforskap.tomlmodel import Strict, load_toml_file, load_toml_model

MAX_TEXT = 4000
MAX_NAME = 200
STATUSES = ("ej-paborjad", "paborjad", "inskickad", "granskad")


class Question(Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]{1,40}$")
    text: str
    typ: Literal["text", "tal", "val"]
    obligatorisk: bool = False
    alternativ: dict[str, str] = {}

    @model_validator(mode="after")
    def _choices(self) -> Question:
        if (self.typ == "val") != bool(self.alternativ):
            raise ValueError(f"frågan {self.id}: typen val kräver alternativ, och bara den har alternativ")
        return self


class Questionnaire(Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]{1,60}$")
    namn: str
    proveniens: str
    fraga: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Questionnaire:
        ids = [q.id for q in self.fraga]
        if len(set(ids)) != len(ids):
            raise ValueError("varje fråga ska ha ett eget id")
        return self


@lru_cache(maxsize=8)
def _bundled(name: str) -> Questionnaire:
    where = f"utanforskap/metodbank/data/enkater/{name}.toml"
    text = resources.files("utanforskap.metodbank").joinpath("data", "enkater", f"{name}.toml").read_text("utf-8")
    return load_toml_model(text, where, Questionnaire)


def bundled_questionnaires() -> list[str]:
    folder = resources.files("utanforskap.metodbank").joinpath("data", "enkater")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_questionnaire(name_or_path: str | Path = "lagesbild") -> Questionnaire:
    """A questionnaire shipped with the program (by id) or in a TOML file of one's own."""
    text = str(name_or_path)
    if text in bundled_questionnaires():
        return _bundled(text)
    path = Path(text)
    if path.suffix.lower() != ".toml" or not path.is_file():
        raise InputError(f"enkäten {text!r} finns inte; ange en av {', '.join(bundled_questionnaires())} eller en TOML-fil med samma nycklar")
    return load_toml_file(path, Questionnaire)


# ---- permissions -------------------------------------------------------------------------
def _require_login(actor: Actor) -> None:
    if actor.roll not in ("redaktor", "granskare", "administrator"):
        raise Forbidden("Rapporteringsomgångarna är för inloggade redaktörer och granskare. Logga in (Metodbank → Logga in).")


def _require_staff(actor: Actor, what: str) -> None:
    if not actor.is_staff:
        raise Forbidden(f"Bara granskare och administratörer kan {what}.")


def _require_own(actor: Actor, kommun: str) -> None:
    """An editor reaches only their own kommun's answer; staff every kommun's."""
    _require_login(actor)
    if not actor.is_staff and actor.kommun_kod != kommun:
        raise Forbidden(f"Som redaktör för kommun {actor.kommun_kod} kan du inte se eller ändra svaret för kommun {kommun}.")


def _round(s: Session, round_id: int) -> Omgang:
    o = s.get(Omgang, round_id) if 0 < round_id < 2**31 else None
    if o is None:
        raise NotFound(f"Rapporteringsomgången {round_id} finns inte.")
    return o


def _expected(o: Omgang, kommun: str) -> None:
    if kommun not in o.kommuner:
        raise NotFound(f"Kommun {kommun} ingår inte i omgången {o.namn!r}.")


def _event(s: Session, actor: Actor, o: Omgang, handling: str, kommun: str | None = None, changes: dict | None = None) -> None:
    s.add(OmgangHandelse(omgang_id=o.id, kommun_kod=kommun, tid=now(), vem=f"{actor.namn} ({actor.roll})", handling=handling, andringar=changes or {}))


# ---- rounds ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoundInfo:
    id: int
    namn: str
    period_fran: date
    period_till: date
    sista_dag: date | None
    status: str
    enkat: dict
    kommuner: list[str]
    oppnad: str
    oppnad_av: str
    stangd: str | None

    @property
    def questions(self) -> list[dict]:
        return list(self.enkat["fraga"])


def _info(o: Omgang) -> RoundInfo:
    return RoundInfo(o.id, o.namn, o.period_fran, o.period_till, o.sista_dag, o.status, o.enkat, list(o.kommuner),
                     o.oppnad.isoformat(sep=" "), o.oppnad_av, o.stangd.isoformat(sep=" ") if o.stangd else None)


def open_round(db: Database, actor: Actor, namn: str, fran: date, till: date, *, sista_dag: date | None = None,
               enkat: str | Path = "lagesbild", kommuner: list[str] | None = None) -> int:
    """Open a round; returns its id."""
    _require_staff(actor, "öppna en rapporteringsomgång")
    namn = namn.strip()
    if not namn or len(namn) > MAX_NAME:
        raise InputError(f"namn: ange omgångens namn, 1–{MAX_NAME} tecken (t.ex. Lägesbild 2026)")
    if till < fran:
        raise InputError(f"perioden slutar ({till}) före den börjar ({fran}); ange ett slut på eller efter starten")
    if sista_dag is not None and sista_dag < fran:
        raise InputError(f"sista dag ({sista_dag}) ligger före periodens start ({fran})")
    known = known_codes()[0]
    expected = sorted(known) if not kommuner else sorted(set(kommuner))
    unknown = [k for k in expected if k not in known]
    if unknown:
        raise InputError(f"okänd kommunkod {unknown[0]!r}; en kommunkod är fyra siffror, t.ex. 0180 för Stockholm")
    q = load_questionnaire(enkat)
    with db.session() as s:
        if s.scalar(select(Omgang.id).where(Omgang.namn == namn)) is not None:
            raise InputError(f"det finns redan en omgång som heter {namn!r}; välj ett annat namn")
        o = Omgang(namn=namn, period_fran=fran, period_till=till, sista_dag=sista_dag, enkat_id=q.id, enkat=q.model_dump(),
                   kommuner=expected, status="oppen", oppnad=now(), oppnad_av=actor.namn, stangd_av="")
        s.add(o)
        s.flush()
        _event(s, actor, o, "öppnad", changes={"period": [None, f"{fran}–{till}"], "kommuner": [None, len(expected)]})
        return o.id


def list_rounds(db: Database, actor: Actor) -> list[RoundInfo]:
    """The rounds an actor sees: an editor those their kommun is asked in; staff all."""
    _require_login(actor)
    with db.session() as s:
        rounds = [_info(o) for o in s.scalars(select(Omgang).order_by(Omgang.oppnad.desc(), Omgang.id.desc()))]
    return rounds if actor.is_staff else [r for r in rounds if actor.kommun_kod in r.kommuner]


def get_round(db: Database, actor: Actor, round_id: int) -> RoundInfo:
    _require_login(actor)
    with db.session() as s:
        o = _round(s, round_id)
        if not actor.is_staff:
            _expected(o, actor.kommun_kod or "")
        return _info(o)


def close_round(db: Database, actor: Actor, round_id: int) -> int:
    """Close a round: nothing can be answered or reviewed after this. Each answer keeps a
    snapshot of the measures it reports, and each of those measures' history notes the
    report. Returns the number of answers frozen."""
    _require_staff(actor, "stänga en rapporteringsomgång")
    with db.session() as s:
        o = _round(s, round_id)
        if o.status == "stangd":
            raise InputError(f"omgången {o.namn!r} är redan stängd")
        o.status, o.stangd, o.stangd_av = "stangd", now(), actor.namn
        answers = list(s.scalars(select(OmgangSvar).where(OmgangSvar.omgang_id == o.id)))
        ids = sorted({i for a in answers for i in a.insatser})
        measures = {i.id: i for i in s.scalars(select(Insats).where(Insats.id.in_(ids)))} if ids else {}
        t = now()
        who = f"{actor.namn} ({actor.roll})"
        for a in answers:
            a.ogonblick = [record(measures[i]) for i in a.insatser if i in measures]
            for i in a.insatser:
                if i in measures:
                    s.add(Historik(insats_id=i, tid=t, vem=who, handling="rapporterad i omgång",
                                   andringar={"omgang": [None, o.namn], "kommun": [None, a.kommun_kod], "svarsstatus": [None, a.status]}))
        _event(s, actor, o, "stängd", changes={"svar": [None, len(answers)]})
        bump_version(s)
        return len(answers)


# ---- answers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    kommun_kod: str
    status: str  # one of STATUSES
    svar: dict
    insatser: list[int]
    kommentar: str
    andrad: str | None
    andrad_av: str
    inskickad: str | None
    granskad: str | None
    granskad_av: str
    ogonblick: list


def _answer(kommun: str, a: OmgangSvar | None) -> Answer:
    if a is None:
        return Answer(kommun, "ej-paborjad", {}, [], "", None, "", None, None, "", [])
    iso = lambda t: t.isoformat(sep=" ") if t else None  # noqa: E731
    return Answer(a.kommun_kod, a.status, dict(a.svar), list(a.insatser), a.kommentar, iso(a.andrad), a.andrad_av,
                  iso(a.inskickad), iso(a.granskad), a.granskad_av, list(a.ogonblick))


def _find(s: Session, round_id: int, kommun: str) -> OmgangSvar | None:
    return s.scalar(select(OmgangSvar).where(OmgangSvar.omgang_id == round_id, OmgangSvar.kommun_kod == kommun))


def get_answer(db: Database, actor: Actor, round_id: int, kommun: str) -> tuple[RoundInfo, Answer]:
    _require_own(actor, kommun)
    with db.session() as s:
        o = _round(s, round_id)
        _expected(o, kommun)
        return _info(o), _answer(kommun, _find(s, round_id, kommun))


def _readable(kommun: str):
    """The kommun's measures its editors may read: published, or the kommun's own."""
    return or_(Insats.status == "publicerad", Insats.ansvarig_kommun == kommun)


def kommun_measures(db: Database, actor: Actor, kommun: str) -> list[dict]:
    """The measures a kommun can report: those in the kommun that the actor may read
    (id, name, status, period), newest change first."""
    _require_own(actor, kommun)
    with db.session() as s:
        rows = s.execute(
            select(Insats.id, Insats.namn, Insats.status, Insats.start, Insats.slut, Insats.exempel)
            .join(InsatsKommun, InsatsKommun.insats_id == Insats.id)
            .where(InsatsKommun.kommun_kod == kommun, _readable(kommun))
            .order_by(Insats.andrad.desc(), Insats.id.desc())
            .limit(1000)
        ).all()
    return [{"id": r.id, "namn": r.namn, "status": r.status, "start": r.start, "slut": r.slut, "exempel": r.exempel} for r in rows]


def check_answers(questions: list[dict], values: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    """The answers cleaned against the questionnaire: unknown questions, wrong types and (when
    `complete`) missing required answers are errors, all named at once."""
    by_id = {q["id"]: q for q in questions}
    errors: list[str] = []
    out: dict[str, Any] = {}
    for key in values:
        if key not in by_id:
            errors.append(f"{key}: okänd fråga; frågorna är {', '.join(by_id)}")
    for q in questions:
        raw = values.get(q["id"])
        text = "" if raw is None else str(raw).strip()
        if not text:
            if complete and q["obligatorisk"]:
                errors.append(f"{q['id']}: svar krävs innan svaret skickas in ({q['text']})")
            continue
        if q["typ"] == "tal":
            if not text.isdigit() or len(text) > 12:
                errors.append(f"{q['id']}: ange ett heltal, 0 eller större (inte {text[:40]!r})")
                continue
            out[q["id"]] = int(text)
        elif q["typ"] == "val":
            if text not in q["alternativ"]:
                errors.append(f"{q['id']}: välj ett av {', '.join(q['alternativ'])}")
                continue
            out[q["id"]] = text
        else:
            if len(text) > MAX_TEXT:
                errors.append(f"{q['id']}: högst {MAX_TEXT} tecken (svaret har {len(text)})")
                continue
            out[q["id"]] = text
    if errors:
        raise InputError("Svaret sparades inte: " + "; ".join(errors) + ".")
    return out


def _writable(o: Omgang, a: OmgangSvar | None, kommun: str) -> None:
    if o.status != "oppen":
        raise InputError(f"Omgången {o.namn!r} är stängd; svaren kan inte längre ändras.")
    if a is not None and a.status in ("inskickad", "granskad"):
        raise InputError(f"Svaret för kommun {kommun} är redan {a.status}; en granskare kan skicka tillbaka det för ändring.")


def _check_measures(s: Session, kommun: str, ids: list[int]) -> list[int]:
    ids = sorted(set(ids))
    if not ids:
        return []
    found = set(s.scalars(select(InsatsKommun.insats_id).join(Insats, Insats.id == InsatsKommun.insats_id)
                          .where(InsatsKommun.kommun_kod == kommun, InsatsKommun.insats_id.in_(ids), _readable(kommun))))
    stray = [i for i in ids if i not in found]
    if stray:
        raise InputError(f"Insats {stray[0]} hör inte till kommun {kommun}; ett svar kan bara ta upp kommunens egna insatser.")
    return ids


def _require_editor_of(actor: Actor, kommun: str) -> None:
    _require_own(actor, kommun)
    if actor.is_staff:
        raise Forbidden("Kommunens svar skrivs av kommunens redaktörer; granskare granskar dem.")


def _writable_answer(s: Session, round_id: int, kommun: str) -> tuple[Omgang, OmgangSvar | None]:
    """The open round and the kommun's answer (None: not started), refused when not writable."""
    o = _round(s, round_id)
    _expected(o, kommun)
    a = _find(s, round_id, kommun)
    _writable(o, a, kommun)
    return o, a


def _new_answer(s: Session, o: Omgang, kommun: str, actor: Actor, t: datetime) -> OmgangSvar:
    a = OmgangSvar(omgang_id=o.id, kommun_kod=kommun, status="paborjad", svar={}, insatser=[], kommentar="",
                   andrad=t, andrad_av=actor.namn, granskad_av="", ogonblick=[])
    s.add(a)
    return a


def save_answer(db: Database, actor: Actor, round_id: int, kommun: str, values: dict[str, Any], measures: list[int],
                *, submit: bool = False) -> str:
    """Save (status paborjad) or submit (inskickad) a kommun's answer; only its own editors.
    Returns the new status."""
    _require_editor_of(actor, kommun)
    with db.session() as s:
        o, a = _writable_answer(s, round_id, kommun)
        clean = check_answers(o.enkat["fraga"], values, complete=submit)
        ids = _check_measures(s, kommun, measures)
        t = now()
        if a is None:
            a = _new_answer(s, o, kommun, actor, t)
        before = {"svar": dict(a.svar), "insatser": list(a.insatser), "status": a.status}
        a.svar, a.insatser, a.andrad, a.andrad_av = clean, ids, t, actor.namn
        if submit:
            a.status, a.inskickad = "inskickad", t
        after = {"svar": clean, "insatser": ids, "status": a.status}
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        _event(s, actor, o, "inskickat" if submit else "sparat", kommun, changes)
        return a.status


def import_into_answer(db: Database, actor: Actor, round_id: int, kommun: str, path: str | Path) -> list[int]:
    """An editor's Excel template (or CSV) for the round: every row is imported as a draft of
    the kommun (the import's rules: nothing written on any error) and reported in the
    kommun's answer, in one transaction. Returns the new ids."""
    from utanforskap.metodbank.transfer import import_in_session

    _require_editor_of(actor, kommun)
    with db.session() as s:
        o, a = _writable_answer(s, round_id, kommun)
        ids = import_in_session(s, actor, path)
        t = now()
        if a is None:
            a = _new_answer(s, o, kommun, actor, t)
        a.insatser = sorted(set(a.insatser) | set(ids))
        a.andrad, a.andrad_av = t, actor.namn
        _event(s, actor, o, "importerat", kommun, {"insatser": [None, ids]})
        return ids


def review(db: Database, actor: Actor, round_id: int, kommun: str, *, approve: bool, kommentar: str = "") -> str:
    """A reviewer approves a submitted answer (granskad) or sends it back (paborjad, with a
    comment). Returns the new status."""
    _require_staff(actor, "granska kommunernas svar")
    kommentar = kommentar.strip()
    if len(kommentar) > MAX_TEXT:
        raise InputError(f"kommentar: högst {MAX_TEXT} tecken")
    with db.session() as s:
        o = _round(s, round_id)
        _expected(o, kommun)
        if o.status != "oppen":
            raise InputError(f"Omgången {o.namn!r} är stängd; svaren kan inte längre granskas.")
        a = _find(s, round_id, kommun)
        if a is None or a.status != "inskickad":
            status = "ej-paborjad" if a is None else a.status
            raise InputError(f"Svaret för kommun {kommun} är {status}; bara ett inskickat svar kan granskas eller skickas tillbaka.")
        old = a.status
        if approve:
            a.status, a.granskad, a.granskad_av = "granskad", now(), actor.namn
        else:
            if not kommentar:
                raise InputError("kommentar: skriv vad kommunen ska komplettera när svaret skickas tillbaka")
            a.status, a.kommentar = "paborjad", kommentar
        _event(s, actor, o, "granskat" if approve else "återskickat", kommun, {"status": [old, a.status], **({"kommentar": [None, kommentar]} if kommentar else {})})
        return a.status


# ---- the reviewer's overview ---------------------------------------------------------------
def status_rows(db: Database, actor: Actor, round_id: int) -> list[dict]:
    """One row per expected kommun: status, last change, submitted, reviewed, measures reported."""
    _require_staff(actor, "se alla kommuners status")
    with db.session() as s:
        o = _round(s, round_id)
        answers = {a.kommun_kod: a for a in s.scalars(select(OmgangSvar).where(OmgangSvar.omgang_id == o.id))}
        return [
            {"kommun_kod": k, "status": ans.status, "andrad": ans.andrad, "inskickad": ans.inskickad, "granskad": ans.granskad,
             "antal_insatser": len(ans.insatser), "antal_svar": len(ans.svar)}
            for k in o.kommuner
            for ans in (_answer(k, answers.get(k)),)
        ]


def counts(rows: list[dict]) -> dict[str, int]:
    out = dict.fromkeys(STATUSES, 0)
    for r in rows:
        out[r["status"]] += 1
    return out


def reminders(db: Database, actor: Actor, round_id: int) -> list[dict]:
    """The kommuner that have not submitted (not started or in progress), with the names of
    their active editors (whom to remind) and the last day."""
    rows = [r for r in status_rows(db, actor, round_id) if r["status"] in ("ej-paborjad", "paborjad")]
    with db.session() as s:
        o = _round(s, round_id)
        editors: dict[str, list[str]] = {}
        for namn, kod in s.execute(select(Anvandare.namn, Anvandare.kommun_kod).where(
                Anvandare.roll == "redaktor", Anvandare.sparrad.is_(False)).order_by(Anvandare.namn)):
            editors.setdefault(kod, []).append(namn)
        last = o.sista_dag.isoformat() if o.sista_dag else ""
    return [{"kommun_kod": r["kommun_kod"], "status": r["status"], "redaktorer": editors.get(r["kommun_kod"], []), "sista_dag": last} for r in rows]


def compiled(db: Database, actor: Actor, round_id: int) -> tuple[RoundInfo, list[dict]]:
    """Every expected kommun's answer in one table (one column per question)."""
    rows = status_rows(db, actor, round_id)
    with db.session() as s:
        o = _round(s, round_id)
        answers = {a.kommun_kod: a for a in s.scalars(select(OmgangSvar).where(OmgangSvar.omgang_id == o.id))}
        info = _info(o)
    out = []
    for r in rows:
        a = answers.get(r["kommun_kod"])
        row = {"omgang": info.namn, "kommun_kod": r["kommun_kod"], "status": r["status"]}
        for q in info.questions:
            row[q["id"]] = (a.svar.get(q["id"]) if a else None)
        row["insatser"] = ";".join(str(i) for i in (a.insatser if a else []))
        row["inskickad"] = r["inskickad"] or ""
        row["granskad"] = r["granskad"] or ""
        out.append(row)
    return info, out


def events(db: Database, actor: Actor, round_id: int, kommun: str | None = None) -> list[OmgangHandelse]:
    """The round's history (staff: all of it; an editor: their kommun's part)."""
    if kommun is None:
        _require_staff(actor, "se hela omgångens historik")
    else:
        _require_own(actor, kommun)
    with db.session() as s:
        _round(s, round_id)
        stmt = select(OmgangHandelse).where(OmgangHandelse.omgang_id == round_id)
        if kommun is not None:
            stmt = stmt.where(OmgangHandelse.kommun_kod == kommun)
        return list(s.scalars(stmt.order_by(OmgangHandelse.tid, OmgangHandelse.id)))


def export_compiled(db: Database, actor: Actor, round_id: int, target: str | Path) -> int:
    """The compiled answers as .csv or .xlsx (atomic); returns the number of kommuner."""
    import polars as pl

    from utanforskap.atomic import atomic_path, write_text

    target = Path(target)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError(f"{target}: okänt format {suffix!r}; ange .csv eller .xlsx")
    info, rows = compiled(db, actor, round_id)
    if suffix == ".csv":
        write_text(target, compiled_csv(rows))
        return len(rows)
    frame = pl.DataFrame([{k: ("" if v is None else str(v)) for k, v in r.items()} for r in rows])
    with atomic_path(target) as tmp:
        frame.write_excel(tmp, worksheet="svar")  # string columns are written as text, never formulas
    return frame.height


def compiled_csv(rows: list[dict]) -> str:
    """The compiled answers as CSV text; the kommuner's free text cannot become a formula."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["kommun_kod"], lineterminator="\n")
    w.writeheader()
    w.writerows({k: spreadsheet_safe(v) for k, v in r.items()} for r in rows)
    return buf.getvalue()
