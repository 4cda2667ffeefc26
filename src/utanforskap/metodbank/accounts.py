"""Accounts: users with roles, argon2 password hashes, API tokens hashed at rest, and a
login rate limit.

    create_user(db, "anna", "granskare", None, password)
    actor = login(db, "anna", password)              # Actor, or LoginFailed
    token = create_token(db, "anna")                 # shown once; only its sha256 is stored
    actor = token_actor(db, token)                   # None once revoked
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from utanforskap.errors import InputError
from utanforskap.metodbank.db import Database
from utanforskap.metodbank.models import Anvandare, Inloggningsforsok, Token
from utanforskap.metodbank.registry import ROLES, Actor, now
from utanforskap.metodbank.schema import known_codes

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so that the answer takes as long.
_DUMMY = _hasher.hash("inte-ett-riktigt-losenord")
MIN_PASSWORD = 12
TOKEN_PREFIX = "mb_"


class LoginFailed(InputError):
    """Wrong name or password, or a blocked account (the message does not say which)."""


@dataclass(frozen=True)
class User:
    id: int
    namn: str
    roll: str
    kommun_kod: str | None
    sparrad: bool
    skapad: str

    def actor(self) -> Actor:
        return Actor(self.namn, self.roll, self.kommun_kod, self.id)


def _user(u: Anvandare) -> User:
    return User(u.id, u.namn, u.roll, u.kommun_kod, u.sparrad, u.skapad.isoformat(sep=" "))


def check_role(roll: str, kommun_kod: str | None) -> None:
    if roll not in ROLES:
        raise InputError(f"okänd roll {roll!r}; tillåtna: {', '.join(ROLES)}")
    if roll == "redaktor":
        if not kommun_kod:
            raise InputError("en redaktör hör till en kommun: ange --kommun med kommunkoden, t.ex. 0180")
        if kommun_kod not in known_codes()[0]:
            raise InputError(f"okänd kommunkod {kommun_kod!r}; en kommunkod är fyra siffror, t.ex. 0180")
    elif kommun_kod:
        raise InputError(f"rollen {roll} gäller alla kommuner; ange ingen kommun")


def create_user(db: Database, namn: str, roll: str, kommun_kod: str | None, password: str) -> User:
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{2,100}", namn):
        raise InputError(f"ogiltigt användarnamn {namn!r}: 2–100 tecken, bokstäver a–z, siffror och . _ @ -")
    check_role(roll, kommun_kod)
    if len(password) < MIN_PASSWORD:
        raise InputError(f"lösenordet är för kort: minst {MIN_PASSWORD} tecken")
    with db.session() as s:
        if s.scalar(select(Anvandare.id).where(Anvandare.namn == namn)) is not None:
            raise InputError(f"användaren {namn!r} finns redan")
        u = Anvandare(namn=namn, roll=roll, kommun_kod=kommun_kod, losenord=_hasher.hash(password), skapad=now())
        s.add(u)
        s.flush()
        return _user(u)


def user_actor(db: Database, namn: str) -> Actor:
    """The actor for a named, unblocked user (the command line's --som)."""
    with db.session() as s:
        u = s.scalar(select(Anvandare).where(Anvandare.namn == namn))
        if u is None or u.sparrad:
            raise InputError(f"--som {namn}: användaren finns inte eller är spärrad; se `utanforskap anvandare lista`")
        return Actor(u.namn, u.roll, u.kommun_kod, u.id)


def list_users(db: Database) -> list[User]:
    with db.session() as s:
        return [_user(u) for u in s.scalars(select(Anvandare).order_by(Anvandare.namn))]


def get_user(db: Database, user_id: int) -> tuple[User, int] | None:
    """The user and their session version (None if missing)."""
    with db.session() as s:
        u = s.get(Anvandare, user_id)
        return None if u is None else (_user(u), u.sessionsversion)


def block_user(db: Database, namn: str, blocked: bool = True) -> User:
    """Block (or unblock) an account: its sessions and tokens stop working at once."""
    with db.session() as s:
        u = s.scalar(select(Anvandare).where(Anvandare.namn == namn))
        if u is None:
            raise InputError(f"användaren {namn!r} finns inte; se `utanforskap anvandare lista`")
        u.sparrad = blocked
        u.sessionsversion += 1
        return _user(u)


def login(db: Database, namn: str, password: str) -> tuple[User, int]:
    """Check a name and password; returns the user and their session version."""
    with db.session() as s:
        u = s.scalar(select(Anvandare).where(Anvandare.namn == namn))
        if u is None:
            with contextlib.suppress(VerificationError):  # the same work as for a real user: no timing leak
                _hasher.verify(_DUMMY, password)
            raise LoginFailed("Fel användarnamn eller lösenord.")
        try:
            _hasher.verify(u.losenord, password)
        except (VerificationError, InvalidHashError):
            raise LoginFailed("Fel användarnamn eller lösenord.") from None
        if u.sparrad:
            raise LoginFailed("Fel användarnamn eller lösenord.")
        if _hasher.check_needs_rehash(u.losenord):
            u.losenord = _hasher.hash(password)
        return _user(u), u.sessionsversion


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, namn: str, beskrivning: str = "") -> tuple[int, str]:
    """A new API token for a user, scoped to their role and kommun; returns (id, token). The
    token is shown once: only its sha256 is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.session() as s:
        u = s.scalar(select(Anvandare).where(Anvandare.namn == namn))
        if u is None:
            raise InputError(f"användaren {namn!r} finns inte; se `utanforskap anvandare lista`")
        if u.sparrad:
            raise InputError(f"användaren {namn!r} är spärrad")
        t = Token(anvandare_id=u.id, hash=_digest(token), roll=u.roll, kommun_kod=u.kommun_kod, beskrivning=beskrivning, skapad=now())
        s.add(t)
        s.flush()
        return t.id, token


def revoke_token(db: Database, token_id: int) -> None:
    with db.session() as s:
        t = s.get(Token, token_id)
        if t is None:
            raise InputError(f"token {token_id} finns inte; se `utanforskap anvandare lista --token`")
        if t.aterkallad is None:
            t.aterkallad = now()


def list_tokens(db: Database) -> list[dict]:
    with db.session() as s:
        rows = s.execute(select(Token, Anvandare.namn).join(Anvandare, Anvandare.id == Token.anvandare_id).order_by(Token.id))
        return [
            {"id": t.id, "anvandare": n, "roll": t.roll, "kommun": t.kommun_kod, "beskrivning": t.beskrivning,
             "skapad": t.skapad.isoformat(sep=" "), "aterkallad": t.aterkallad.isoformat(sep=" ") if t.aterkallad else None}
            for t, n in rows
        ]


def token_actor(db: Database, token: str) -> Actor | None:
    """The actor a token speaks for, or None (unknown, revoked, or its user blocked)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with db.session() as s:
        row = s.execute(
            select(Token, Anvandare).join(Anvandare, Anvandare.id == Token.anvandare_id).where(Token.hash == _digest(token))
        ).first()
        if row is None:
            return None
        t, u = row
        if t.aterkallad is not None or u.sparrad:
            return None
        return Actor(f"{u.namn} (token {t.id})", t.roll, t.kommun_kod, u.id)


class LoginLimiter:
    """At most `attempts` failed logins per name (keys "namn:...") and `address_attempts` per
    address (keys "ip:...", many users may share one) within `window` seconds; then refused
    until the window has passed. Kept in the database (table inloggningsforsok), so the limit
    holds across every worker process and server of an installation."""

    def __init__(self, db: Database, attempts: int = 5, window: float = 900.0, address_attempts: int = 30) -> None:
        self.db = db
        self.attempts = attempts
        self.address_attempts = address_attempts
        self.window = window

    def _since(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=self.window)

    def blocked(self, *keys: str) -> bool:
        with self.db.session() as s:
            found = s.execute(
                select(Inloggningsforsok.nyckel, func.count()).where(Inloggningsforsok.nyckel.in_(keys), Inloggningsforsok.tid >= self._since())
                .group_by(Inloggningsforsok.nyckel)
            ).all()
        return any(n >= (self.address_attempts if k.startswith("ip:") else self.attempts) for k, n in found)

    def failed(self, *keys: str) -> None:
        t = datetime.now(UTC).replace(tzinfo=None)
        with self.db.session() as s:
            s.execute(delete(Inloggningsforsok).where(Inloggningsforsok.tid < self._since()))  # what no longer counts
            s.add_all(Inloggningsforsok(nyckel=k[:120], tid=t) for k in keys)

    def succeeded(self, *keys: str) -> None:
        with self.db.session() as s:
            s.execute(delete(Inloggningsforsok).where(Inloggningsforsok.nyckel.in_(keys)))
