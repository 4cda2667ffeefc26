"""The registry of measures: read, search, create, edit, review and publish, each checked
against who asks (an `Actor`), and every change written to the history.

    actor = Actor.public()                      # or accounts.login(...) / accounts.token_actor(...)
    page = search(db, actor, Filters(kommun="0180"))
    insats = get(db, actor, 12)                 # NotFound unless the actor may read it
    new_id = create(db, actor, validate_insats({...}))

Who may do what (docs/metodbank.md): the public reads what is published; an editor
(redaktör) reads, creates and edits the measures of their own kommun while they are drafts
and submits them; a reviewer (granskare) and an administrator read everything, edit,
add evaluations, review and publish. A measure the actor may not read answers NotFound,
exactly as one that does not exist, so ids of unpublished measures cannot be guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Select, and_, bindparam, exists, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from utanforskap.errors import InputError
from utanforskap.metodbank.db import Database, bulk_insert, bump_version
from utanforskap.metodbank.models import Effektskattning, Historik, Insats, InsatsKommun, InsatsOmrade, InsatsProblem, InsatsSektor, Utvardering
from utanforskap.metodbank.rules import grade, rules, vocab
from utanforskap.metodbank.schema import REGSO_VINTAGE, EffektskattningIn, InsatsIn, UtvarderingIn

ROLES = {"redaktor": "Redaktör", "granskare": "Granskare", "administrator": "Administratör"}
STAFF = ("granskare", "administrator")


class NotFound(InputError):
    """404: no such measure, or one the actor may not read."""


class Forbidden(InputError):
    """403: the actor may read this but not do that."""


@dataclass(frozen=True)
class Actor:
    namn: str
    roll: str  # allmanhet | redaktor | granskare | administrator
    kommun_kod: str | None = None
    anvandare_id: int | None = None

    @staticmethod
    def public() -> Actor:
        return Actor("allmänheten", "allmanhet")

    @property
    def is_staff(self) -> bool:
        return self.roll in STAFF

    @property
    def can_create(self) -> bool:
        return self.roll in ("redaktor", *STAFF)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


# ---- permissions ---------------------------------------------------------------------
def can_read(actor: Actor, i: Insats | _Row) -> bool:
    if i.status == "publicerad" or actor.is_staff:
        return True
    return actor.roll == "redaktor" and actor.kommun_kod is not None and i.ansvarig_kommun == actor.kommun_kod


def can_edit(actor: Actor, i: Insats | _Row) -> bool:
    if actor.is_staff:
        return True
    return can_read(actor, i) and actor.roll == "redaktor" and i.ansvarig_kommun == actor.kommun_kod and i.status == "utkast"


def _visible(actor: Actor) -> list:
    """SQL conditions for the measures the actor may read."""
    if actor.is_staff:
        return []
    if actor.roll == "redaktor" and actor.kommun_kod:
        return [or_(Insats.status == "publicerad", Insats.ansvarig_kommun == actor.kommun_kod)]
    return [Insats.status == "publicerad"]


# ---- reading ----------------------------------------------------------------------------
@dataclass
class Filters:
    q: str | None = None
    kommun: str | None = None
    omrade: str | None = None
    problem: str | None = None
    sektor: str | None = None
    malgrupp: str | None = None
    evidens: str | None = None
    niva: str | None = None
    status: str | None = None
    fran: date | None = None  # active at some time in [fran, till]
    till: date | None = None
    limit: int = 50
    offset: int = 0


@dataclass
class Page:
    totalt: int
    rader: list = field(default_factory=list)  # Insats objects (search) or records (search_records)


def _filtered(actor: Actor, f: Filters) -> Select:
    cond = _visible(actor)
    if f.q:
        like = f"%{f.q.lower()}%"
        cond.append(or_(func.lower(Insats.namn).like(like), func.lower(Insats.beskrivning).like(like), func.lower(Insats.agare_namn).like(like)))
    # The most selective list filter drives the query (the ids from its covering index); the
    # others are checked per row through their primary keys (insats_id, value).
    lists = [(model, column, value) for model, column, value in (
        (InsatsOmrade, InsatsOmrade.regso_kod, f.omrade), (InsatsKommun, InsatsKommun.kommun_kod, f.kommun),
        (InsatsProblem, InsatsProblem.problem, f.problem), (InsatsSektor, InsatsSektor.sektor, f.sektor),
    ) if value]
    for n, (model, column, value) in enumerate(lists):
        if n == 0:
            cond.append(Insats.id.in_(select(model.insats_id).where(column == value)))
        else:
            cond.append(exists().where(model.insats_id == Insats.id, column == value))
    if f.malgrupp:
        cond.append(func.lower(Insats.malgrupp).like(f"%{f.malgrupp.lower()}%"))
    if f.evidens:
        cond.append(Insats.evidensgrad == f.evidens)
    if f.niva:
        cond.append(Insats.niva == f.niva)
    if f.status:
        cond.append(Insats.status == f.status)
    if f.fran:
        cond.append(or_(Insats.slut.is_(None), Insats.slut >= f.fran))
    if f.till:
        cond.append(or_(Insats.start.is_(None), Insats.start <= f.till))
    return select(Insats).where(and_(*cond)) if cond else select(Insats)


def search(db: Database, actor: Actor, f: Filters) -> Page:
    stmt = _filtered(actor, f)
    with db.session() as s:
        total = s.scalar(stmt.with_only_columns(func.count(Insats.id)).order_by(None)) or 0
        rows = list(s.scalars(stmt.order_by(Insats.namn, Insats.id).limit(f.limit).offset(f.offset)))
        return Page(total, rows)


def search_records(db: Database, actor: Actor, f: Filters) -> tuple[int, list[dict]]:
    """search() as records (what record() gives), read without building ORM objects: the
    count, the page's rows, and their kommuner, areas, sectors and problems in one query and
    their evaluations in one more. The list page and the API answer from this."""
    stmt = _filtered(actor, f)
    table = Insats.__table__
    with db.session() as s:
        total = s.scalar(stmt.with_only_columns(func.count(Insats.id)).order_by(None)) or 0
        rows = s.execute(stmt.with_only_columns(*table.c).order_by(Insats.namn, Insats.id).limit(f.limit).offset(f.offset)).mappings().all()
        return total, _records(s, rows)


def get_record(db: Database, actor: Actor, insats_id: int, *, with_history: bool = True) -> tuple[dict, list[Historik]]:
    """One measure as its record, and its history (the measure page; not read without
    `with_history`), read as search_records."""
    if not 0 < insats_id < 2**31:
        raise NotFound(f"Insatsen {insats_id} finns inte (eller är inte publicerad).")
    with db.session() as s:
        row = s.connection().execute(_ONE, {"id": insats_id}).mappings().first()
        if row is None or not can_read(actor, _Row(row)):
            raise NotFound(f"Insatsen {insats_id} finns inte (eller är inte publicerad).")
        rec = _records(s, [row])[0]
        if not with_history:
            return rec, []
        return rec, list(s.scalars(_HISTORY, {"id": insats_id}))


class _Row:
    """A row (or a record) where the permission checks expect a measure's attributes."""

    def __init__(self, data) -> None:
        self.status = data["status"]
        self.ansvarig_kommun = data["ansvarig_kommun"]


def permissions_of(rec: dict) -> _Row:
    return _Row(rec)


# The statements a measure page and a list page run, built once: building them (coercing
# forty columns and four unions) cost more than SQLite took to answer them. `ids` expands to
# the page's ids when executed.
def _children_of(model, kind: str, value, extra=None):
    return select(model.insats_id, literal_column(f"'{kind}'"), value, literal_column("''") if extra is None else extra).where(
        model.insats_id.in_(bindparam("ids", expanding=True)))


_ONE = select(*Insats.__table__.c).where(Insats.id == bindparam("id"))
_HISTORY = select(Historik).where(Historik.insats_id == bindparam("id")).order_by(Historik.tid, Historik.id)
_CHILDREN = union_all(
    _children_of(InsatsKommun, "k", InsatsKommun.kommun_kod),
    _children_of(InsatsOmrade, "o", InsatsOmrade.regso_kod, InsatsOmrade.indelning),
    _children_of(InsatsSektor, "s", InsatsSektor.sektor),
    _children_of(InsatsProblem, "p", InsatsProblem.problem),
)
_EVALUATIONS = select(*Utvardering.__table__.c).where(Utvardering.insats_id.in_(bindparam("ids", expanding=True))).order_by(Utvardering.id)
_ESTIMATES = select(*Effektskattning.__table__.c).where(Effektskattning.utvardering_id.in_(bindparam("ids", expanding=True)))


def _records(s: Session, rows) -> list[dict]:
    ids = [r["id"] for r in rows]
    if not ids:
        return []
    found: dict[int, dict[str, list]] = {i: {"k": [], "o": [], "s": [], "p": []} for i in ids}
    conn = s.connection()  # Core statements: no ORM step per execute
    for insats_id, kind, value, extra in conn.execute(_CHILDREN, {"ids": ids}):
        found[insats_id][kind].append((value, extra))
    evaluations: dict[int, list[dict]] = {i: [] for i in ids}
    evs = list(conn.execute(_EVALUATIONS, {"ids": ids}).mappings())
    estimates = {r["utvardering_id"]: r for r in conn.execute(_ESTIMATES, {"ids": [e["id"] for e in evs]}).mappings()} if evs else {}
    for e in evs:
        evaluations[e["insats_id"]].append(evaluation_record(e, estimates.get(e["id"])))
    out = []
    for r in rows:
        c = found[r["id"]]
        out.append(_record(
            r, [k for k, _ in sorted(c["k"])], [{"regso_kod": k, "indelning": x} for k, x in sorted(c["o"])],
            [x for x, _ in sorted(c["s"])], [x for x, _ in sorted(c["p"])], evaluations[r["id"]],
        ))
    return out


def get(db: Database, actor: Actor, insats_id: int) -> Insats:
    with db.session() as s:
        return _get(s, actor, insats_id)


def _get(s: Session, actor: Actor, insats_id: int) -> Insats:
    i = s.get(Insats, insats_id) if 0 < insats_id < 2**31 else None
    if i is None or not can_read(actor, i):
        raise NotFound(f"Insatsen {insats_id} finns inte (eller är inte publicerad).")
    return i


def history(db: Database, actor: Actor, insats_id: int) -> list[Historik]:
    with db.session() as s:
        _get(s, actor, insats_id)
        return list(s.scalars(select(Historik).where(Historik.insats_id == insats_id).order_by(Historik.tid, Historik.id)))


def get_with_history(db: Database, actor: Actor, insats_id: int) -> tuple[Insats, list[Historik]]:
    """The measure and its history in one session (the measure page)."""
    with db.session() as s:
        i = _get(s, actor, insats_id)
        return i, list(s.scalars(select(Historik).where(Historik.insats_id == insats_id).order_by(Historik.tid, Historik.id)))


def review_queue(db: Database, actor: Actor) -> list[Insats]:
    if not actor.is_staff:
        raise Forbidden("Granskningskön är bara för granskare och administratörer.")
    with db.session() as s:
        return list(s.scalars(select(Insats).where(Insats.status.in_(("inskickad", "granskad"))).order_by(Insats.andrad)))


# ---- the record as data -----------------------------------------------------------------
FIELDS = [f for f in InsatsIn.model_fields if f not in ("kommuner", "omraden", "sektorer", "problem")]


def record(i: Insats) -> dict:
    """The measure as the API and the exports show it (Swedish keys)."""
    row = {name: getattr(i, name) for name in ("id", *FIELDS, "status", "evidensgrad", "evidensregel", "ansvarig_kommun", "skapad", "andrad")}
    return _record(
        row, [k.kommun_kod for k in i.kommuner], [{"regso_kod": o.regso_kod, "indelning": o.indelning} for o in i.omraden],
        [x.sektor for x in i.sektorer], [x.problem for x in i.problem], [evaluation_record(e) for e in i.utvarderingar],
    )


def _record(row, kommuner: list[str], omraden: list[dict], sektorer: list[str], problem: list[str], utvarderingar: list[dict]) -> dict:
    """record() from a measure's columns (an object's attributes or a row) and its lists."""
    v = vocab()
    out = {"id": row["id"]}
    for name in FIELDS:
        value = row[name]
        out[name] = value.isoformat() if isinstance(value, date) else value
    out.update(
        kommuner=kommuner,
        omraden=omraden,
        sektorer=sektorer,
        problem=problem,
        status=row["status"],
        status_text=v.status.get(row["status"], row["status"]),
        evidensgrad=row["evidensgrad"],
        evidensgrad_text=rules().grader.get(row["evidensgrad"], row["evidensgrad"]),
        evidensregel=row["evidensregel"],
        utvarderingar=utvarderingar,
        ansvarig_kommun=row["ansvarig_kommun"],
        skapad=row["skapad"].isoformat(),
        andrad=row["andrad"].isoformat(),
    )
    return out


EVALUATION_KEYS = ("id", *UtvarderingIn.model_fields)
ESTIMATE_FIELDS = ("id", *EffektskattningIn.model_fields, "evidensgrad", "evidensregel", "sparad_av")


def evaluation_record(e, est=None) -> dict:
    """An evaluation (an object, or a row with its estimate's row) as a record; `skattning`
    holds what a computed estimate adds (None when the evaluation was typed in)."""
    if isinstance(e, Utvardering):
        out = {k: getattr(e, k) for k in EVALUATION_KEYS}
        est = e.skattning
    else:
        out = {k: e[k] for k in EVALUATION_KEYS}
    if est is None:
        out["skattning"] = None
        return out
    value = (lambda k: getattr(est, k)) if isinstance(est, Effektskattning) else (lambda k: est[k])
    grade = value("evidensgrad")
    out["skattning"] = {k: value(k) for k in ESTIMATE_FIELDS}
    out["skattning"].update(skapad=value("skapad").isoformat(), evidensgrad_text=rules().grader.get(grade, grade),
                            raknas=rules().skattningar.etiketter_raknas or not value("etikett"))
    return out


def _snapshot(i: Insats) -> dict:
    r = record(i)
    for k in ("id", "skapad", "andrad", "status_text", "evidensgrad_text"):
        r.pop(k, None)
    return r


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def _created(after: dict) -> dict:
    """_diff({}, after): every field that has a value, as [None, value]."""
    return {k: [None, after[k]] for k in sorted(after) if after[k] is not None}


def _log(s: Session, actor: Actor, i: Insats, handling: str, changes: dict) -> None:
    s.add(Historik(insats_id=i.id, tid=now(), vem=f"{actor.namn} ({actor.roll})", handling=handling, andringar=changes))


# ---- writing ----------------------------------------------------------------------------
def _apply(i: Insats, data: InsatsIn) -> None:
    for name in FIELDS:
        value = getattr(data, name)
        if name in ("samverkan", "kallor"):
            value = [x.model_dump() for x in value]
        setattr(i, name, value)
    i.kommuner = [InsatsKommun(kommun_kod=k) for k in data.kommuner]
    i.omraden = [InsatsOmrade(regso_kod=k, indelning=REGSO_VINTAGE) for k in data.omraden]
    i.sektorer = [InsatsSektor(sektor=x) for x in data.sektorer]
    i.problem = [InsatsProblem(problem=x) for x in data.problem]


def _check_scope(actor: Actor, data: InsatsIn) -> None:
    """An editor writes only for their own kommun."""
    if actor.is_staff:
        return
    if actor.roll != "redaktor" or not actor.kommun_kod:
        raise Forbidden("Du har inte behörighet att skapa eller ändra insatser.")
    others = [k for k in data.kommuner if k != actor.kommun_kod]
    if others:
        raise Forbidden(f"Som redaktör för kommun {actor.kommun_kod} kan du inte registrera insatser i kommun {others[0]}.")
    if data.niva != "kommunal":
        raise Forbidden("Som redaktör kan du bara registrera kommunala insatser; nationella och regionala registreras av granskare.")


def _regrade(i: Insats) -> None:
    g = grade(i.utvarderingar)
    i.evidensgrad, i.evidensregel = g.grad, g.regel


def _prepare(actor: Actor, data: InsatsIn, status: str) -> InsatsIn:
    if not actor.can_create:
        raise Forbidden("Logga in som redaktör eller granskare för att registrera insatser.")
    if actor.roll == "redaktor" and not data.kommuner:
        data = data.model_copy(update={"kommuner": [actor.kommun_kod]})
    _check_scope(actor, data)
    if status != "utkast" and not actor.is_staff:
        raise Forbidden("Bara granskare kan registrera en insats direkt som granskad eller publicerad.")
    return data


def _new(actor: Actor, data: InsatsIn, status: str, t: datetime) -> Insats:
    i = Insats(skapad=t, andrad=t, status=status)
    _apply(i, data)
    i.ansvarig_kommun = actor.kommun_kod if actor.roll == "redaktor" else (data.kommuner[0] if len(data.kommuner) == 1 and data.niva == "kommunal" else None)
    _regrade(i)
    return i


def create(db: Database, actor: Actor, data: InsatsIn, *, status: str = "utkast", session: Session | None = None) -> int:
    data = _prepare(actor, data, status)

    def run(s: Session) -> int:
        if data.extern_id and s.scalar(select(Insats.id).where(Insats.extern_id == data.extern_id)) is not None:
            raise InputError(f"Id {data.extern_id!r} finns redan i metodbanken; en insats kan bara läggas in en gång.")
        i = _new(actor, data, status, now())
        s.add(i)
        s.flush()
        _log(s, actor, i, "skapad", _diff({}, _snapshot(i)))
        bump_version(s)
        return i.id

    if session is not None:
        return run(session)
    with db.session() as s:
        return run(s)


def create_many(s: Session, actor: Actor, rows: list[InsatsIn], *, status: str = "utkast") -> list[int]:
    """Many new measures in the caller's transaction (the import): every row checked against
    the actor's role and kommun first, then bulk INSERTs (no per-row round trip); each
    measure gets its history entry. The caller has checked that their ids are new."""

    prepared = [_prepare(actor, data, status) for data in rows]
    if not prepared:
        return []
    t = now()
    g = grade([])  # imported rows carry no evaluations
    values = []
    for data in prepared:
        row = {name: getattr(data, name) for name in FIELDS}
        row["samverkan"] = [x.model_dump() for x in data.samverkan]
        row["kallor"] = [x.model_dump() for x in data.kallor]
        row.update(
            skapad=t, andrad=t, status=status, evidensgrad=g.grad, evidensregel=g.regel,
            ansvarig_kommun=actor.kommun_kod if actor.roll == "redaktor" else (data.kommuner[0] if len(data.kommuner) == 1 and data.niva == "kommunal" else None),
        )
        values.append(row)
    ids = _allocate_ids(s, len(values))
    for i, row in zip(ids, values, strict=True):
        row["id"] = i
    # Straight to the driver (COPY on PostgreSQL): explicit ids, so nothing to read back.
    bulk_insert(s, Insats.__table__, values)
    pairs = list(zip(ids, prepared, strict=True))
    for model, key, attr in ((InsatsKommun, "kommun_kod", "kommuner"), (InsatsSektor, "sektor", "sektorer"), (InsatsProblem, "problem", "problem")):
        bulk_insert(s, model.__table__, [{"insats_id": i, key: v} for i, data in pairs for v in getattr(data, attr)])
    bulk_insert(s, InsatsOmrade.__table__, [{"insats_id": i, "regso_kod": v, "indelning": REGSO_VINTAGE} for i, data in pairs for v in data.omraden])
    who = f"{actor.namn} ({actor.roll})"
    bump_version(s)
    bulk_insert(s, Historik.__table__, [
        {"insats_id": i, "tid": t, "vem": who, "handling": "skapad", "andringar": _created(_data_snapshot(data, row))}
        for (i, data), row in zip(pairs, values, strict=True)
    ])
    return ids


def _allocate_ids(s: Session, n: int) -> list[int]:
    """`n` new measure ids: from the id sequence on PostgreSQL; on SQLite the ones after the
    largest (the transaction holds SQLite's write lock from its first write, and a collision
    with another writer fails the whole import, which then writes nothing)."""
    from sqlalchemy import text

    if s.get_bind().dialect.name == "postgresql":
        return list(s.scalars(text("SELECT nextval(pg_get_serial_sequence('insats', 'id')) FROM generate_series(1, :n)"), {"n": n}))
    start = (s.scalar(select(func.max(Insats.id))) or 0) + 1
    return list(range(start, start + n))


def _data_snapshot(data: InsatsIn, row: dict) -> dict:
    """What _snapshot(i) gives for a new measure, read from its input (no ORM objects)."""
    out = data.model_dump(mode="json")
    out["omraden"] = [{"regso_kod": k, "indelning": REGSO_VINTAGE} for k in data.omraden]
    out.update(status=row["status"], evidensgrad=row["evidensgrad"], evidensregel=row["evidensregel"], utvarderingar=[], ansvarig_kommun=row["ansvarig_kommun"])
    return out


def update(db: Database, actor: Actor, insats_id: int, data: InsatsIn) -> None:
    with db.session() as s:
        i = _get(s, actor, insats_id)
        if not can_edit(actor, i):
            raise Forbidden("Du kan inte ändra den här insatsen (den hör till en annan kommun eller är redan inskickad).")
        if actor.roll == "redaktor" and not data.kommuner:
            data = data.model_copy(update={"kommuner": [actor.kommun_kod]})
        _check_scope(actor, data)
        if data.extern_id and data.extern_id != i.extern_id and s.scalar(select(Insats.id).where(Insats.extern_id == data.extern_id)) is not None:
            raise InputError(f"Id {data.extern_id!r} används redan av en annan insats.")
        before = _snapshot(i)
        _apply(i, data)
        _regrade(i)
        after = _snapshot(i)
        changes = _diff(before, after)
        if changes:
            i.andrad = now()
            _log(s, actor, i, "ändrad", changes)
            bump_version(s)


def add_evaluation(db: Database, actor: Actor, insats_id: int, data: UtvarderingIn) -> None:
    with db.session() as s:
        i = _get(s, actor, insats_id)
        if not can_edit(actor, i):
            raise Forbidden("Du kan inte lägga till utvärderingar för den här insatsen.")
        before = i.evidensgrad, i.evidensregel
        i.utvarderingar.append(Utvardering(**data.model_dump()))
        _regrade(i)
        i.andrad = now()
        changes = {"utvardering": [None, data.model_dump()]}
        if (i.evidensgrad, i.evidensregel) != before:
            changes["evidensgrad"] = [before[0], i.evidensgrad]
            changes["evidensregel"] = [before[1], i.evidensregel]
        _log(s, actor, i, "utvärdering tillagd", changes)
        bump_version(s)


def can_add_evaluation(actor: Actor, i: Insats) -> bool:
    """Who may add an evaluation (typed in or computed): the same as who may edit the measure,
    i.e. reviewers and administrators on any measure, an editor only on a draft of their own
    kommun (which a reviewer then reads before publishing); the public never."""
    return actor.roll in ("redaktor", *STAFF) and can_edit(actor, i)


def require_add_evaluation(actor: Actor, i: Insats) -> None:
    if not can_add_evaluation(actor, i):
        raise Forbidden(
            f"{actor.namn} ({ROLES.get(actor.roll, actor.roll)}) får inte spara utvärderingar för insats {i.id}: det får "
            "granskare och administratörer, och redaktörer för sin kommuns insatser medan de är utkast"
        )


def add_estimate(db: Database, actor: Actor, insats_id: int, data: UtvarderingIn, estimate: EffektskattningIn) -> tuple[int, str]:
    """Save a computed estimate as an evaluation of the measure, with the grade the rules give
    it on its own; the measure is regraded (an estimate with a label counts only when the rules
    say so). Returns the evaluation's id and its own grade."""
    with db.session() as s:
        i = _get(s, actor, insats_id)
        require_add_evaluation(actor, i)
        key = ("skattare", "utfall", "niva", "ar_fran", "ar_till", "jamforelse", "antal_behandlade", "datakalla")
        if any(ev.skattning is not None and all(getattr(ev.skattning, k) == getattr(estimate, k) for k in key) for ev in i.utvarderingar):
            raise InputError(
                f"insats {insats_id} har redan en sparad skattning med {estimate.skattare} på {estimate.utfall} "
                f"{estimate.ar_fran}–{estimate.ar_till} ur samma data; samma skattning sparas inte två gånger (den skulle räknas dubbelt i evidensgraden)"
            )
        before = i.evidensgrad, i.evidensregel
        e = Utvardering(**data.model_dump())
        own = grade([e], count_labelled=True)  # the grade of this evaluation alone, labels or not
        e.skattning = Effektskattning(**estimate.model_dump(), evidensgrad=own.grad, evidensregel=own.regel,
                                      sparad_av=f"{actor.namn} ({actor.roll})"[:100], skapad=now())
        i.utvarderingar.append(e)
        _regrade(i)
        i.andrad = now()
        s.flush()
        changes: dict = {"utvardering": [None, {**data.model_dump(), "skattare": estimate.skattare, "etikett": estimate.etikett}]}
        if (i.evidensgrad, i.evidensregel) != before:
            changes["evidensgrad"] = [before[0], i.evidensgrad]
            changes["evidensregel"] = [before[1], i.evidensregel]
        _log(s, actor, i, "effektskattning sparad", changes)
        bump_version(s)
        return e.id, own.grad


# Status changes: (from, to) -> who may, and what the history calls it.
TRANSITIONS = {
    ("utkast", "inskickad"): (("redaktor", *STAFF), "inskickad"),
    ("inskickad", "granskad"): (STAFF, "granskad"),
    ("granskad", "publicerad"): (STAFF, "publicerad"),
    ("inskickad", "publicerad"): (STAFF, "publicerad"),
    ("inskickad", "utkast"): (STAFF, "återförd till utkast"),
    ("granskad", "utkast"): (STAFF, "återförd till utkast"),
    ("publicerad", "utkast"): (STAFF, "avpublicerad"),
}


def set_status(db: Database, actor: Actor, insats_id: int, status: str) -> None:
    with db.session() as s:
        i = _get(s, actor, insats_id)
        rule = TRANSITIONS.get((i.status, status))
        if rule is None:
            raise InputError(f"En insats med status {i.status} kan inte få status {status}.")
        roles, name = rule
        if actor.roll not in roles or (actor.roll == "redaktor" and not can_edit(actor, i)):
            raise Forbidden(f"Du har inte behörighet att ändra status från {i.status} till {status}.")
        old = i.status
        i.status = status
        if status in ("granskad", "publicerad"):
            _regrade(i)
        i.andrad = now()
        _log(s, actor, i, name, {"status": [old, status]})
        bump_version(s)


def delete(db: Database, actor: Actor, insats_id: int) -> None:
    with db.session() as s:
        i = _get(s, actor, insats_id)
        if not (actor.is_staff or (can_edit(actor, i))):
            raise Forbidden("Du kan inte ta bort den här insatsen.")
        _log(s, actor, i, "borttagen", _diff(_snapshot(i), {}))
        s.delete(i)
        bump_version(s)
