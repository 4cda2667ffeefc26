"""Opening the metodbank's database: SQLite embedded by default, PostgreSQL for a shared
installation, migrated to the newest schema (Alembic) every time it is opened.

    db = open_database()                       # UTANFORSKAP_DATABAS or the default SQLite file
    db = open_database("postgresql://u@h/db")  # psycopg 3
    with db.session() as s: ...
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import Integer, String, create_engine, event, func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from utanforskap.errors import InputError, SourceError


def default_path() -> Path:
    """The default SQLite file, in the user's data directory."""
    import platformdirs

    return Path(platformdirs.user_data_dir("utanforskap")) / "metodbank.sqlite"


def database_url(url: str | None = None) -> str:
    """The URL to use: `url`, else UTANFORSKAP_DATABAS, else the default SQLite file."""
    if not url:
        from utanforskap.settings import load

        url = load().databas
    if not url:
        path = default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@dataclass
class Database:
    engine: Engine
    factory: sessionmaker[Session]
    url: str

    @contextmanager
    def session(self):
        """A session in one transaction: committed on success, rolled back on any error."""
        s = self.factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str | None = None, *, seed: bool = True) -> Database:
    """Open (and create or migrate) the database; with `seed`, import the real measures that
    ship with the program the first time (see seed.py)."""
    url = database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError(f"UTANFORSKAP_DATABAS: ogiltig databasadress {url!r}; ange sqlite:///FIL eller postgresql://användare@värd/databas") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(f"UTANFORSKAP_DATABAS: databasen {parsed.get_backend_name()!r} stöds inte; ange sqlite:///FIL eller postgresql://...")
    kwargs: dict = {}
    if parsed.get_backend_name() == "postgresql":
        kwargs.update(pool_size=10, max_overflow=20, pool_recycle=1800)
    else:
        kwargs.update(connect_args={"check_same_thread": False, "timeout": 30})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - run by SQLAlchemy
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    try:
        migrate(engine)
    except OperationalError as exc:
        engine.dispose()
        where = parsed.render_as_string(hide_password=True)
        raise SourceError(f"databasen {where} går inte att öppna: {str(exc.orig).strip().splitlines()[0]}") from exc
    db = Database(engine, sessionmaker(engine, expire_on_commit=False), parsed.render_as_string(hide_password=True))
    _ensure_meta(db)
    if seed:
        from utanforskap.metodbank.seed import ensure_seeded

        ensure_seeded(db)
    return db


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic, migrations shipped in the package)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("utanforskap.metodbank").joinpath("migrations")))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(732001)")  # one migrating process at a time
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _ensure_meta(db: Database) -> None:
    """The rows every process expects (the change counter, the cookie secret), created once;
    when two processes open a new database at the same moment, one of them wins."""
    import secrets

    from sqlalchemy.exc import IntegrityError

    for key, value in ((VERSION_KEY, "0"), ("hemlighet", secrets.token_urlsafe(48))):
        try:
            with db.session() as s:
                if get_meta(s, key) is None:
                    set_meta(s, key, value)
        except IntegrityError:
            pass


ANALYZED_TABLES = ("insats", "insats_kommun", "insats_omrade", "insats_sektor", "insats_problem", "utvardering", "historik")


def analyze(db: Database) -> None:
    """Refresh the query planner's statistics of the measures' tables. After a bulk import the
    planners otherwise plan for the tables as they were (PostgreSQL, before autovacuum gets
    to them, picked nested loops over all 10 000 measures for a filtered list: 160 ms
    instead of 1 ms)."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE " + ", ".join(ANALYZED_TABLES))
        else:
            for table in ANALYZED_TABLES:
                conn.exec_driver_sql(f"ANALYZE {table}")


def get_meta(s: Session, key: str) -> str | None:
    from utanforskap.metodbank.models import Meta

    return s.scalar(select(Meta.varde).where(Meta.nyckel == key))


def set_meta(s: Session, key: str, value: str) -> None:
    from utanforskap.metodbank.models import Meta

    row = s.get(Meta, key)
    if row is None:
        s.add(Meta(nyckel=key, varde=value))
    else:
        row.varde = value


def bulk_insert(s: Session, table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the session's transaction, for
    an import of thousands of rows. Each value goes through its column type's own bind
    processor once (as SQLAlchemy would: dates, JSON); then PostgreSQL receives the rows by
    COPY and SQLite by one executemany of plain tuples. SQLAlchemy's executemany path builds
    a parameter dict per row and cost more than the database did."""
    if not rows:
        return
    conn = s.connection()
    dialect = conn.dialect
    columns = [c for c in table.columns if c.name in rows[0]]
    names = [c.name for c in columns]
    procs = [c.type._cached_bind_processor(dialect) for c in columns]
    if all(p is None for p in procs):
        tuples = [tuple(row[n] for n in names) for row in rows]
    else:
        tuples = [tuple(v if p is None or v is None else p(v) for v, p in zip((row[n] for n in names), procs, strict=True)) for row in rows]
    if dialect.name == "postgresql":
        raw = conn.connection.driver_connection  # psycopg 3, in this transaction
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for t in tuples:
                copy.write_row(t)
    else:
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", tuples)


VERSION_KEY = "andringsnummer"
# Changes made by this process (any database): lets a reader skip asking the database
# when nothing here changed and its last answer is fresh (see web.metodbank).
local_changes = 0


def bump_version(s: Session) -> None:
    """Count one more change in this transaction (atomic: the row is locked until commit), so
    that readers can tell that what they cached is stale."""
    from sqlalchemy import update

    from utanforskap.metodbank.models import Meta

    global local_changes
    local_changes += 1
    s.execute(update(Meta).where(Meta.nyckel == VERSION_KEY).values(varde=func.cast(func.cast(Meta.varde, Integer) + 1, String)))


def read_version(db: Database) -> str:
    """The change counter (one cheap query); '0' before the first change."""
    from utanforskap.metodbank.models import Meta

    with db.engine.connect() as conn:
        return conn.execute(select(Meta.varde).where(Meta.nyckel == VERSION_KEY)).scalar() or "0"


def secret(db: Database) -> str:
    """The secret that signs session cookies: UTANFORSKAP_HEMLIGHET, else one generated once
    and kept in the database (so every process of an installation shares it)."""
    from utanforskap.settings import load

    configured = load().hemlighet
    if configured:
        return configured
    with db.session() as s:
        value = get_meta(s, "hemlighet")
    if value is None:  # pragma: no cover - open_database created it
        _ensure_meta(db)
        with db.session() as s:
            value = get_meta(s, "hemlighet")
    return value


