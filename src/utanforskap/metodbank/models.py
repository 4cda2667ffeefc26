"""The metodbank's tables (SQLAlchemy 2 declarative models).

A measure (`Insats`) with its kommuner, RegSO areas (with the code list's vintage), sectors
and problem variables in tables of their own (so the list filters use indexes), its
evaluations, and the full history of every change. Users and their API tokens.
The schema is created and changed only by the Alembic migrations in `migrations/`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Insats(Base):
    __tablename__ = "insats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extern_id: Mapped[str | None] = mapped_column(String(100), unique=True)  # id in an imported file
    namn: Mapped[str] = mapped_column(String(300))
    beskrivning: Mapped[str] = mapped_column(Text, default="")
    niva: Mapped[str] = mapped_column(String(20), default="kommunal")  # nationell | regional | kommunal
    agare_typ: Mapped[str] = mapped_column(String(30), default="kommun")
    agare_namn: Mapped[str] = mapped_column(String(300), default="")
    # The kommun whose editors may edit the measure (None: a national or regional measure,
    # which only reviewers edit).
    ansvarig_kommun: Mapped[str | None] = mapped_column(String(4), index=True)
    malgrupp: Mapped[str] = mapped_column(Text, default="")
    alder_fran: Mapped[int | None] = mapped_column(Integer)
    alder_till: Mapped[int | None] = mapped_column(Integer)
    kon: Mapped[str] = mapped_column(String(20), default="alla")
    start: Mapped[date | None] = mapped_column(Date, index=True)
    slut: Mapped[date | None] = mapped_column(Date, index=True)
    period_text: Mapped[str] = mapped_column(String(200), default="")
    beslut_text: Mapped[str] = mapped_column(String(200), default="")
    deltagare: Mapped[int | None] = mapped_column(Integer)
    platser: Mapped[int | None] = mapped_column(Integer)
    kostnad_kr: Mapped[int | None] = mapped_column(Integer)
    belopp_text: Mapped[str] = mapped_column(String(300), default="")
    finansiering: Mapped[str] = mapped_column(Text, default="")
    urval: Mapped[str] = mapped_column(Text, default="")
    samverkan: Mapped[list] = mapped_column(JSON, default=list)  # [{"namn", "roll"}]
    resultatmatt: Mapped[list] = mapped_column(JSON, default=list)  # [text]
    kallor: Mapped[list] = mapped_column(JSON, default=list)  # [{"titel", "url"}]
    kallstatus: Mapped[str] = mapped_column(String(300), default="")  # how certain the facts are
    status: Mapped[str] = mapped_column(String(20), default="utkast", index=True)
    evidensgrad: Mapped[str] = mapped_column(String(30), default="ej-utvarderad", index=True)
    evidensregel: Mapped[str] = mapped_column(String(60), default="")
    exempel: Mapped[bool] = mapped_column(Boolean, default=False)  # EXEMPEL: demo data, never exported
    skapad: Mapped[datetime] = mapped_column(DateTime)
    andrad: Mapped[datetime] = mapped_column(DateTime, index=True)

    kommuner: Mapped[list[InsatsKommun]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="InsatsKommun.kommun_kod")
    omraden: Mapped[list[InsatsOmrade]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="InsatsOmrade.regso_kod")
    sektorer: Mapped[list[InsatsSektor]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="InsatsSektor.sektor")
    problem: Mapped[list[InsatsProblem]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="InsatsProblem.problem")
    utvarderingar: Mapped[list[Utvardering]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="Utvardering.id")


class InsatsKommun(Base):
    __tablename__ = "insats_kommun"
    insats_id: Mapped[int] = mapped_column(ForeignKey("insats.id", ondelete="CASCADE"), primary_key=True)
    kommun_kod: Mapped[str] = mapped_column(String(4), primary_key=True)


class InsatsOmrade(Base):
    __tablename__ = "insats_omrade"
    insats_id: Mapped[int] = mapped_column(ForeignKey("insats.id", ondelete="CASCADE"), primary_key=True)
    regso_kod: Mapped[str] = mapped_column(String(12), primary_key=True)
    indelning: Mapped[str] = mapped_column(String(20), default="RegSO 2020")  # the code list's vintage


class InsatsSektor(Base):
    __tablename__ = "insats_sektor"
    insats_id: Mapped[int] = mapped_column(ForeignKey("insats.id", ondelete="CASCADE"), primary_key=True)
    sektor: Mapped[str] = mapped_column(String(40), primary_key=True)


class InsatsProblem(Base):
    __tablename__ = "insats_problem"
    insats_id: Mapped[int] = mapped_column(ForeignKey("insats.id", ondelete="CASCADE"), primary_key=True)
    problem: Mapped[str] = mapped_column(String(40), primary_key=True)


class Utvardering(Base):
    __tablename__ = "utvardering"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insats_id: Mapped[int] = mapped_column(ForeignKey("insats.id", ondelete="CASCADE"), index=True)
    design: Mapped[str] = mapped_column(String(40))
    utvarderare: Mapped[str] = mapped_column(String(300), default="")
    oberoende: Mapped[str] = mapped_column(String(20), default="intern")  # intern | extern | oberoende
    ar: Mapped[int | None] = mapped_column(Integer)
    utfallsmatt: Mapped[str] = mapped_column(String(300), default="")
    resultat: Mapped[str] = mapped_column(String(20), default="ej-rapporterat")
    effekt: Mapped[float | None] = mapped_column(Float)
    ki_lag: Mapped[float | None] = mapped_column(Float)
    ki_hog: Mapped[float | None] = mapped_column(Float)
    antal: Mapped[int | None] = mapped_column(Integer)
    uppfoljning_manader: Mapped[int | None] = mapped_column(Integer)
    rapport_url: Mapped[str] = mapped_column(String(500), default="")
    beskrivning: Mapped[str] = mapped_column(Text, default="")
    # An estimate computed by `utanforskap effekt --spara` (None for an evaluation typed in).
    skattning: Mapped[Effektskattning | None] = relationship(cascade="all, delete-orphan", lazy="selectin", uselist=False)

    @property
    def etikett(self) -> str:
        """SYNTETISKA DATA / DEMONSTRATION when the evaluation was computed on such data, else ''."""
        return self.skattning.etikett if self.skattning is not None else ""


class Effektskattning(Base):
    """What an estimate by `utanforskap effekt` adds to its evaluation: estimator and package,
    outcome and panel, p-value, pre-trend and placebo tests, MDE, data source, its label, the
    grade the rules give this evaluation alone, and what the design cannot show."""

    __tablename__ = "effektskattning"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    utvardering_id: Mapped[int] = mapped_column(ForeignKey("utvardering.id", ondelete="CASCADE"), unique=True)
    skattare: Mapped[str] = mapped_column(String(40))
    paket: Mapped[str] = mapped_column(String(60))
    paketversion: Mapped[str] = mapped_column(String(40))
    utfall: Mapped[str] = mapped_column(String(300))
    riktning: Mapped[str] = mapped_column(String(20))  # hogt_ar_daligt | hogt_ar_bra
    niva: Mapped[str] = mapped_column(String(10))
    ar_fran: Mapped[int] = mapped_column(Integer)
    ar_till: Mapped[int] = mapped_column(Integer)
    jamforelse: Mapped[str] = mapped_column(String(30))
    p_varde: Mapped[float | None] = mapped_column(Float)
    antal_behandlade: Mapped[int] = mapped_column(Integer)
    antal_jamforelse: Mapped[int] = mapped_column(Integer)
    fortrend_p: Mapped[float | None] = mapped_column(Float)
    placebo_i_tid_p: Mapped[float | None] = mapped_column(Float)
    mde: Mapped[float | None] = mapped_column(Float)
    datakalla: Mapped[str] = mapped_column(String(500))
    etikett: Mapped[str] = mapped_column(String(200), default="")  # SYNTETISKA DATA, DEMONSTRATION ...; "" for real data
    evidensgrad: Mapped[str] = mapped_column(String(30))  # the grade this evaluation alone gets
    evidensregel: Mapped[str] = mapped_column(String(60))
    begransningar: Mapped[list] = mapped_column(JSON, default=list)  # what the design cannot show (Swedish)
    bedomning: Mapped[str] = mapped_column(Text, default="")
    sparad_av: Mapped[str] = mapped_column(String(100))
    skapad: Mapped[datetime] = mapped_column(DateTime)


class Historik(Base):
    """One change: who, when, what (field -> [before, after])."""

    __tablename__ = "historik"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insats_id: Mapped[int] = mapped_column(Integer, index=True)  # kept after a measure is removed
    tid: Mapped[datetime] = mapped_column(DateTime)
    vem: Mapped[str] = mapped_column(String(100))
    handling: Mapped[str] = mapped_column(String(40))
    andringar: Mapped[dict] = mapped_column(JSON, default=dict)


class Anvandare(Base):
    __tablename__ = "anvandare"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namn: Mapped[str] = mapped_column(String(100), unique=True)
    roll: Mapped[str] = mapped_column(String(20))  # redaktor | granskare | administrator
    kommun_kod: Mapped[str | None] = mapped_column(String(4))
    losenord: Mapped[str] = mapped_column(String(200))  # argon2 hash
    sparrad: Mapped[bool] = mapped_column(Boolean, default=False)
    # Raised when the password changes or the account is blocked: older sessions stop working.
    sessionsversion: Mapped[int] = mapped_column(Integer, default=1)
    skapad: Mapped[datetime] = mapped_column(DateTime)


class Token(Base):
    """An API token: only its sha256 is stored; scoped to a role and a kommun."""

    __tablename__ = "token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anvandare_id: Mapped[int] = mapped_column(ForeignKey("anvandare.id", ondelete="CASCADE"), index=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    roll: Mapped[str] = mapped_column(String(20))
    kommun_kod: Mapped[str | None] = mapped_column(String(4))
    beskrivning: Mapped[str] = mapped_column(String(200), default="")
    skapad: Mapped[datetime] = mapped_column(DateTime)
    aterkallad: Mapped[datetime | None] = mapped_column(DateTime)


class Meta(Base):
    __tablename__ = "meta"
    nyckel: Mapped[str] = mapped_column(String(60), primary_key=True)
    varde: Mapped[str] = mapped_column(Text)


class Omgang(Base):
    """A reporting round ("Lägesbild 2026"): a reviewer opens it for a period with a
    questionnaire (a copy of data/enkater/*.toml as it was when opened); each expected
    kommun answers; closed, its answers are frozen into the history."""

    __tablename__ = "omgang"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namn: Mapped[str] = mapped_column(String(200), unique=True)
    period_fran: Mapped[date] = mapped_column(Date)
    period_till: Mapped[date] = mapped_column(Date)
    sista_dag: Mapped[date | None] = mapped_column(Date)
    enkat_id: Mapped[str] = mapped_column(String(60))
    enkat: Mapped[dict] = mapped_column(JSON)
    kommuner: Mapped[list] = mapped_column(JSON)  # the kommun codes expected to answer
    status: Mapped[str] = mapped_column(String(20), default="oppen", index=True)  # oppen | stangd
    oppnad: Mapped[datetime] = mapped_column(DateTime)
    oppnad_av: Mapped[str] = mapped_column(String(100))
    stangd: Mapped[datetime | None] = mapped_column(DateTime)
    stangd_av: Mapped[str] = mapped_column(String(100), default="")


class OmgangSvar(Base):
    """One kommun's answer in a round (no row: not started)."""

    __tablename__ = "omgang_svar"
    __table_args__ = (UniqueConstraint("omgang_id", "kommun_kod"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    omgang_id: Mapped[int] = mapped_column(ForeignKey("omgang.id", ondelete="CASCADE"), index=True)
    kommun_kod: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(20), default="paborjad")  # paborjad | inskickad | granskad
    svar: Mapped[dict] = mapped_column(JSON, default=dict)  # question id -> answer
    insatser: Mapped[list] = mapped_column(JSON, default=list)  # ids of the kommun's measures it reports
    kommentar: Mapped[str] = mapped_column(Text, default="")  # the reviewer's, when sent back
    andrad: Mapped[datetime] = mapped_column(DateTime)
    andrad_av: Mapped[str] = mapped_column(String(100))
    inskickad: Mapped[datetime | None] = mapped_column(DateTime)
    granskad: Mapped[datetime | None] = mapped_column(DateTime)
    granskad_av: Mapped[str] = mapped_column(String(100), default="")
    ogonblick: Mapped[list] = mapped_column(JSON, default=list)  # the reported measures' records when the round closed


class OmgangHandelse(Base):
    """The history of a round: who opened, answered, submitted, reviewed, closed, when, what."""

    __tablename__ = "omgang_handelse"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    omgang_id: Mapped[int] = mapped_column(ForeignKey("omgang.id", ondelete="CASCADE"), index=True)
    kommun_kod: Mapped[str | None] = mapped_column(String(4))
    tid: Mapped[datetime] = mapped_column(DateTime)
    vem: Mapped[str] = mapped_column(String(100))
    handling: Mapped[str] = mapped_column(String(40))
    andringar: Mapped[dict] = mapped_column(JSON, default=dict)


class Inloggningsforsok(Base):
    """A failed login (key "namn:..." or "ip:..."): the rate limit, shared by every process."""

    __tablename__ = "inloggningsforsok"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nyckel: Mapped[str] = mapped_column(String(120))
    tid: Mapped[datetime] = mapped_column(DateTime)


Index("ix_insats_status_andrad", Insats.status, Insats.andrad)
# The list's default order among the measures a reader sees, and the child tables searched
# by value: covering (value, insats_id), so a filter never reads the base table to find ids.
Index("ix_insats_status_namn", Insats.status, Insats.namn, Insats.id)
Index("ix_insats_kommun_kod_id", InsatsKommun.kommun_kod, InsatsKommun.insats_id)
Index("ix_insats_omrade_kod_id", InsatsOmrade.regso_kod, InsatsOmrade.insats_id)
Index("ix_insats_sektor_id", InsatsSektor.sektor, InsatsSektor.insats_id)
Index("ix_insats_problem_id", InsatsProblem.problem, InsatsProblem.insats_id)
Index("ix_inloggningsforsok_nyckel_tid", Inloggningsforsok.nyckel, Inloggningsforsok.tid)
__all__ = ["Base", "Insats", "InsatsKommun", "InsatsOmrade", "InsatsSektor", "InsatsProblem", "Utvardering", "Effektskattning", "Historik",
           "Anvandare", "Token", "Meta", "Omgang", "OmgangSvar", "OmgangHandelse", "Inloggningsforsok", "UniqueConstraint"]
