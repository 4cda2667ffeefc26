"""The metodbank on the web: pages under /metodbank and the API under /api/v1/insatser.

Thin over utanforskap.metodbank (registry, accounts, gaps, transfer). Sessions are signed
cookies (itsdangerous) holding the user id, the account's session version and a CSRF token;
every form carries the token and every POST checks it. The API reads without credentials
and writes with a bearer token (`utanforskap anvandare token`). Pages here change with the
database, so they are not given the map's ETag (app.py skips these prefixes) but
`Cache-Control: no-store`.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import polars as pl
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.types import ASGIApp, Receive, Scope, Send

from utanforskap.errors import InputError
from utanforskap.metodbank import accounts, gaps, registry
from utanforskap.metodbank.db import Database, open_database, read_version, secret
from utanforskap.metodbank.registry import Actor, Filters, Forbidden, NotFound
from utanforskap.metodbank.rules import rules, vocab
from utanforskap.metodbank.schema import LABELS, FieldErrors, validate_insats, validate_utvardering
from utanforskap.web import api as webapi
from utanforskap.web import schemas
from utanforskap.web.pages import Renderer
from utanforskap.web.state import AppData

PREFIXES = ("/metodbank", "/api/v1/insatser")
COOKIE = "metodbank_session"
SESSION_AGE = 8 * 3600
MAX_UPLOAD = 5 * 1024 * 1024  # bytes: a filled-in template is far smaller
MAX_JSON = 1024 * 1024
PAGE_SIZE = 50
CODE_SPLIT = re.compile(r"[\s,;]+")


T = TypeVar("T")


class UploadRejected(Exception):
    """A posted file that is missing or not a template (.xlsx) or CSV: a 400 with this message."""


async def with_upload(form, use: Callable[[Path], T], choose: str, max_upload: int = MAX_UPLOAD) -> T:
    """`use(path)` on the form's uploaded file `fil`, saved in a temporary directory.

    No file or another kind than .xlsx/.csv: UploadRejected (`choose` is the message for no file);
    over `max_upload` bytes: HTTPException 413. An InputError from `use` names the file as uploaded,
    not the temporary copy."""
    import tempfile

    upload = form.get("fil")
    if upload is None or not hasattr(upload, "read") or not upload.filename:
        raise UploadRejected(choose)
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UploadRejected("Filen ska vara en ifylld mall (.xlsx) eller en CSV-fil.")
    content = await upload.read(max_upload + 1)
    if len(content) > max_upload:
        raise HTTPException(413, f"Filen är för stor; högst {max_upload // (1024 * 1024)} MB tas emot.")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("uppladdad" + suffix)
        path.write_bytes(content)
        try:
            return use(path)
        except InputError as exc:
            raise InputError(str(exc).replace(path.name, upload.filename)) from None


class Context:
    """The database (opened on first use), the session signer and the login limiter."""

    def __init__(self, data: AppData, renderer: Renderer, database: Database | str | None = None) -> None:
        self.data = data
        self.renderer = renderer
        self._db = database if isinstance(database, Database) else None
        self._url = database if isinstance(database, str) else None
        self._lock = threading.RLock()
        self._signer: URLSafeTimedSerializer | None = None
        self.cache = ResponseCache()
        self._version: tuple[str, int, float] | None = None  # (counter, local changes, when read)

    def fresh_version(self, ttl: float = 1.0) -> str | None:
        """The change counter if it was read less than `ttl` ago and this process changed
        nothing since; None when it has to be read (which the caller does off the event loop)."""
        from utanforskap.metodbank import db as dbmod

        v = self._version
        if v is not None and v[1] == dbmod.local_changes and time.monotonic() - v[2] < ttl:
            return v[0]
        return None

    def version(self, ttl: float = 1.0) -> str:
        """The database's change counter, asked at most once a `ttl` unless this process
        changed something since: another process's change shows within `ttl` seconds."""
        from utanforskap.metodbank import db as dbmod

        now_ = time.monotonic()
        v = self._version
        if v is not None and v[1] == dbmod.local_changes and now_ - v[2] < ttl:
            return v[0]
        local = dbmod.local_changes
        value = read_version(self.db)
        self._version = (value, local, now_)
        return value

    @property
    def db(self) -> Database:
        if self._db is None:
            with self._lock:
                if self._db is None:
                    self._db = open_database(self._url)
        return self._db

    @property
    def limiter(self) -> accounts.LoginLimiter:
        return accounts.LoginLimiter(self.db)

    @property
    def signer(self) -> URLSafeTimedSerializer:
        if self._signer is None:
            with self._lock:
                if self._signer is None:
                    self._signer = URLSafeTimedSerializer(secret(self.db), salt="utanforskap-metodbank-session")
        return self._signer


def cache_key(path: str, query: str) -> str:
    return f"{path}?{query}"


class ResponseCache:
    """What the public (no login, no token) is answered, per path and query, valid while the
    database's change counter (db.read_version) stays the same. Bounded; thread-safe."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._data: dict[str, tuple[str, bytes, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, version: str) -> tuple[bytes, str] | None:
        hit = self._data.get(key)
        return (hit[1], hit[2]) if hit is not None and hit[0] == version else None

    def put(self, key: str, version: str, body: bytes, media_type: str) -> None:
        with self._lock:
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[key] = (version, body, media_type)


class PublicHits:
    """Answers the public's repeated metodbank reads straight from the ResponseCache, before
    routing, parameter parsing and the thread pool: a pure ASGI middleware.

    Only a GET with neither a session cookie nor an Authorization header, whose path and
    query were answered 200 to the public at the database's current version, is served
    here; everything else (a login, a token, a first visit, a version that must be read
    from the database) goes the usual way, which fills the cache.
    """

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIXES):
            hit = self._hit(scope)
            if hit is not None:
                body, media_type = hit
                # the same headers as cached() gives a public hit: a page via Session.apply
                cache = b"no-store" if media_type.startswith("text/html") else b"no-cache"
                charset = media_type.startswith("text/") and "charset=" not in media_type.lower()
                content_type = media_type + ("; charset=utf-8" if charset else "")  # as Starlette's Response
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
                    (b"cache-control", cache)]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _hit(self, scope: Scope) -> tuple[bytes, str] | None:
        for name, value in scope["headers"]:
            if name == b"authorization" or (name == b"cookie" and COOKIE.encode() in value):
                return None
        version = self.ctx.fresh_version()
        if version is None:
            return None
        return self.ctx.cache.get(cache_key(scope["path"], scope["query_string"].decode("latin-1")), version)


class _LazyToken:
    """A session's CSRF token in a template, read only when a form renders it."""

    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    def __str__(self) -> str:
        return self.session.csrf

    def __html__(self) -> str:
        return self.session.csrf  # URL-safe base64: nothing to escape


class Session:
    """One request's session: who is logged in and the form token."""

    def __init__(self, ctx: Context, request: Request) -> None:
        self.ctx = ctx
        self.dirty = False  # the cookie must be (re)written: a login, a logout, an old session
        self.fresh = False  # a new visitor: a cookie only if a page showed the form token
        raw = request.cookies.get(COOKIE)
        payload = None
        if raw:
            try:
                payload = ctx.signer.loads(raw, max_age=SESSION_AGE)
            except BadSignature:
                payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
            payload = {"u": None, "v": 0, "c": secrets.token_urlsafe(32)}
            self.fresh = True
        self.payload = payload
        self.csrf_shown = False
        self.actor = Actor.public()
        uid = payload.get("u")
        if isinstance(uid, int):
            found = accounts.get_user(ctx.db, uid)
            if found is not None and not found[0].sparrad and found[1] == payload.get("v"):
                self.actor = found[0].actor()
            else:  # blocked, removed or an old session: start over as the public
                self.payload = {"u": None, "v": 0, "c": secrets.token_urlsafe(32)}
                self.dirty = True  # the old cookie is replaced

    @property
    def csrf(self) -> str:
        self.csrf_shown = True
        return self.payload["c"]

    @property
    def csrf_lazy(self) -> _LazyToken:
        """The token for a template: read (and so kept in the cookie) only where a form shows it."""
        return _LazyToken(self)

    def login(self, user_id: int, version: int) -> None:
        self.payload = {"u": user_id, "v": version, "c": secrets.token_urlsafe(32)}  # a new token
        self.dirty = True

    def logout(self) -> None:
        self.payload = {"u": None, "v": 0, "c": secrets.token_urlsafe(32)}
        self.dirty = True

    def apply(self, request: Request, response: Response) -> Response:
        response.headers["cache-control"] = "no-store"
        # A visitor who was shown no form needs no session: no cookie to sign and send (the
        # public's pages then stay the same bytes for everyone).
        if self.dirty or (self.fresh and self.csrf_shown):
            response.set_cookie(
                COOKIE, self.ctx.signer.dumps(self.payload), max_age=SESSION_AGE, httponly=True,
                secure=request.url.scheme == "https", samesite="lax", path="/",
            )
        return response

    def check_csrf(self, form) -> None:
        sent = form.get("csrf")
        if not sent:
            raise HTTPException(403, "Formuläret saknar sin säkerhetskod (CSRF). Ladda om sidan och skicka formuläret igen.")
        if not hmac.compare_digest(str(sent), self.csrf):
            raise HTTPException(403, "Formulärets säkerhetskod (CSRF) gäller inte längre, till exempel efter en ny inloggning. Ladda om sidan och försök igen.")


def _names(ctx: Context) -> dict:
    v = vocab()
    return {
        "V": v,
        "PROBLEM": v.problem,
        "GRADER": rules().grader,
        "ROLLER": registry.ROLES,
        "LABELS": LABELS,
        "kommun_namn": lambda k: ctx.data.kommuner.get(k, {}).get("kommun_namn", k),
        "omrade_namn": lambda k: ctx.data.areas.get(k, {}).get("regso_namn", k),
    }


def _error(exc: Exception) -> HTTPException:
    if isinstance(exc, NotFound):
        return HTTPException(404, str(exc))
    if isinstance(exc, Forbidden):
        return HTTPException(403, str(exc))
    return HTTPException(400, str(exc))


def form_to_data(form) -> dict:
    """A posted measure form as the fields of schema.InsatsIn (empty fields left out)."""
    data: dict[str, Any] = {}
    for key in ("extern_id", "namn", "beskrivning", "niva", "agare_typ", "agare_namn", "malgrupp", "alder_fran", "alder_till",
                "kon", "start", "slut", "period_text", "beslut_text", "deltagare", "platser", "kostnad_kr", "belopp_text",
                "finansiering", "urval", "kallstatus"):
        value = str(form.get(key, "")).strip()
        if value:
            data[key] = value
    for key in ("kommuner", "omraden"):
        data[key] = [c for c in CODE_SPLIT.split(str(form.get(key, ""))) if c]
    data["sektorer"] = [str(x) for x in form.getlist("sektorer")]
    data["problem"] = [str(x) for x in form.getlist("problem")]
    lines = lambda key: [x.strip() for x in str(form.get(key, "")).splitlines() if x.strip()]  # noqa: E731
    data["samverkan"] = [{"namn": x[:300]} for x in lines("samverkan")]
    data["resultatmatt"] = lines("resultatmatt")
    sources = []
    for line in lines("kallor"):
        parts = line.rsplit(None, 1)
        if len(parts) == 2 and parts[1].startswith(("http://", "https://")):
            sources.append({"titel": parts[0], "url": parts[1]})
        elif line.startswith(("http://", "https://")):
            sources.append({"titel": line, "url": line})
        else:
            sources.append({"titel": line, "url": ""})
    data["kallor"] = sources
    data["exempel"] = form.get("exempel") == "ja"
    return data


def record_to_form(rec: dict) -> dict:
    out = {k: ("" if v is None else v) for k, v in rec.items() if not isinstance(v, list)}
    out["kommuner"] = " ".join(rec["kommuner"])
    out["omraden"] = " ".join(o["regso_kod"] for o in rec["omraden"])
    out["sektorer"] = rec["sektorer"]
    out["problem"] = rec["problem"]
    out["samverkan"] = "\n".join(p["namn"] for p in rec["samverkan"])
    out["resultatmatt"] = "\n".join(rec["resultatmatt"])
    out["kallor"] = "\n".join(f"{c['titel']} {c['url']}".strip() for c in rec["kallor"])
    return out


def form_values(form) -> dict:
    out = {k: str(v) for k, v in form.items()}
    out["sektorer"] = [str(x) for x in form.getlist("sektorer")]
    out["problem"] = [str(x) for x in form.getlist("problem")]
    return out


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name} ska vara ett datum som ÅÅÅÅ-MM-DD, inte {value!r}.") from None


def filters_from(q, kommun, omrade, problem, sektor, malgrupp, evidens, fran, till, sida, status=None) -> Filters:
    from utanforskap.metodbank.schema import known_codes

    v = vocab()
    kommuner, regso = known_codes()
    if kommun and kommun not in kommuner:
        raise HTTPException(422, f"Okänd kommunkod {kommun!r}. En kommunkod är fyra siffror, t.ex. 0180 för Stockholm.")
    if omrade and omrade not in regso:
        raise HTTPException(422, f"Okänd områdeskod {omrade!r}. En RegSO-kod ser ut som 0180R024.")
    if problem and problem not in v.problem:
        raise HTTPException(422, f"Okänd problemvariabel {problem!r}; tillåtna: {', '.join(v.problem)}.")
    if sektor and sektor not in v.sektorer:
        raise HTTPException(422, f"Okänd sektor {sektor!r}; tillåtna: {', '.join(v.sektorer)}.")
    if evidens and evidens not in rules().grader:
        raise HTTPException(422, f"Okänd evidensgrad {evidens!r}; tillåtna: {', '.join(rules().grader)}.")
    if status and status not in v.status:
        raise HTTPException(422, f"Okänd status {status!r}; tillåtna: {', '.join(v.status)}.")
    return Filters(
        q=q or None, kommun=kommun or None, omrade=omrade or None, problem=problem or None, sektor=sektor or None,
        malgrupp=malgrupp or None, evidens=evidens or None, status=status or None,
        fran=_date(fran, "fran"), till=_date(till, "till"), limit=PAGE_SIZE, offset=(sida - 1) * PAGE_SIZE,
    )


def router(data: AppData, renderer: Renderer, database: Database | str | None = None, ctx: Context | None = None) -> APIRouter:
    """The metodbank's pages and API. `database`: a Database or URL (default: UTANFORSKAP_DATABAS
    or the SQLite file in the user's data directory), opened at the first request. `ctx`: a
    Context to share with PublicHits."""
    ctx = ctx or Context(data, renderer, database)
    r = APIRouter()
    names = _names(ctx)

    def page(request: Request, session: Session, template: str, status: int = 200, **kw) -> Response:
        resp = renderer.page(template, request, status=status, actor=session.actor, csrf=session.csrf_lazy, **names, **kw)
        return session.apply(request, resp)

    async def posted(request: Request, session: Session):
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_UPLOAD:
            raise HTTPException(413, f"Det skickade är för stort ({int(length) // 1024} kB); högst {MAX_UPLOAD // (1024 * 1024)} MB tas emot.")
        form = await request.form(max_files=1, max_fields=300)
        session.check_csrf(form)
        return form

    def require_login(session: Session) -> None:
        if session.actor.roll == "allmanhet":
            raise HTTPException(403, "Logga in för att göra det här (Metodbank → Logga in).")

    def cached(request: Request, public: bool, build, session: Session | None = None) -> Response:
        """`build()` -> Response; for the public, answered from the cache while nothing changed."""
        if not public:
            return build()
        key = cache_key(request.url.path, request.url.query)
        version = ctx.version()
        hit = ctx.cache.get(key, version)
        if hit is None:
            resp = build()
            if resp.status_code == 200:
                ctx.cache.put(key, version, bytes(resp.body), resp.media_type or "text/html")
            if session is None:
                resp.headers["cache-control"] = "no-cache"
            return resp  # a page: page() set its session cookie already
        resp = Response(hit[0], media_type=hit[1], headers={"cache-control": "no-cache"})
        return session.apply(request, resp) if session is not None else resp

    # ---- pages ----------------------------------------------------------------------
    @r.get("/metodbank", response_class=HTMLResponse, include_in_schema=False)
    def lista(
        request: Request,
        q: Annotated[str, Query(max_length=200)] = "",
        kommun: Annotated[str, Query(max_length=4)] = "",
        omrade: Annotated[str, Query(max_length=12)] = "",
        problem: Annotated[str, Query(max_length=40)] = "",
        sektor: Annotated[str, Query(max_length=40)] = "",
        malgrupp: Annotated[str, Query(max_length=100)] = "",
        evidens: Annotated[str, Query(max_length=40)] = "",
        fran: Annotated[str, Query(max_length=10)] = "",
        till: Annotated[str, Query(max_length=10)] = "",
        status: Annotated[str, Query(max_length=20)] = "",
        sida: Annotated[int, Query(ge=1, le=10_000)] = 1,
    ) -> Response:
        session = Session(ctx, request)
        f = filters_from(q, kommun, omrade, problem, sektor, malgrupp, evidens, fran, till, sida, status)

        def build() -> Response:
            result = registry.Page(*registry.search_records(ctx.db, session.actor, f))
            params = {k: v for k, v in dict(q=q, kommun=kommun, omrade=omrade, problem=problem, sektor=sektor, malgrupp=malgrupp, evidens=evidens, fran=fran, till=till, status=status).items() if v}  # noqa: E501
            return page(request, session, "metodbank_lista.html.j2", sida_=result, f=params, sida=sida, sidor=max(1, -(-result.totalt // PAGE_SIZE)))

        return cached(request, session.actor.roll == "allmanhet", build, session)

    @r.get("/metodbank/insats/{insats_id}", response_class=HTMLResponse, include_in_schema=False)
    def insats_page(request: Request, insats_id: int) -> Response:
        session = Session(ctx, request)
        return cached(request, session.actor.roll == "allmanhet", lambda: _insats_page(request, session, insats_id), session)

    def _insats_page(request: Request, session: Session, insats_id: int) -> Response:
        try:
            public = session.actor.roll == "allmanhet"  # the public is not shown the history
            rec, hist = registry.get_record(ctx.db, session.actor, insats_id, with_history=not public)
        except NotFound as exc:
            raise _error(exc) from None
        i = registry.permissions_of(rec)
        moves = [to for (frm, to), (roles, _) in registry.TRANSITIONS.items() if frm == i.status and session.actor.roll in roles]
        if session.actor.roll == "redaktor" and not registry.can_edit(session.actor, i):
            moves = []
        return page(request, session, "metodbank_insats.html.j2", i=rec, historik=hist,
                    kan_andra=registry.can_edit(session.actor, i), flyttar=moves)

    @r.get("/metodbank/insats/{insats_id}/goda-exempel.pdf", include_in_schema=False)
    def insats_pdf(request: Request, insats_id: int) -> Response:
        """One page per measure for sharing ("goda exempel"), WeasyPrint."""
        import logging

        from weasyprint import HTML

        session = Session(ctx, request)
        try:
            rec = registry.record(registry.get(ctx.db, session.actor, insats_id))
        except NotFound as exc:
            raise _error(exc) from None
        html = renderer.env.get_template("metodbank_pdf.html.j2").render(i=rec, **names)
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        pdf = HTML(string=html).write_pdf()
        return session.apply(request, Response(pdf, media_type="application/pdf", headers={"content-disposition": f'inline; filename="goda-exempel-{insats_id}.pdf"'}))

    @r.get("/metodbank/ny", response_class=HTMLResponse, include_in_schema=False)
    def ny(request: Request) -> Response:
        session = Session(ctx, request)
        require_login(session)
        values = {"niva": "kommunal", "agare_typ": "kommun", "kon": "alla", "kommuner": session.actor.kommun_kod or "", "sektorer": [], "problem": []}
        return page(request, session, "metodbank_form.html.j2", v_=values, fel=[], ny=True)

    @r.post("/metodbank/ny", response_class=HTMLResponse, include_in_schema=False)
    async def ny_post(request: Request) -> Response:
        session = Session(ctx, request)
        form = await posted(request, session)
        require_login(session)
        try:
            new_id = registry.create(ctx.db, session.actor, validate_insats(form_to_data(form)))
        except FieldErrors as exc:
            return page(request, session, "metodbank_form.html.j2", status=400, v_=form_values(form), fel=exc.errors, ny=True)
        except (Forbidden, InputError) as exc:
            raise _error(exc) from None
        return session.apply(request, RedirectResponse(f"/metodbank/insats/{new_id}", status_code=303))

    @r.get("/metodbank/insats/{insats_id}/redigera", response_class=HTMLResponse, include_in_schema=False)
    def redigera(request: Request, insats_id: int) -> Response:
        session = Session(ctx, request)
        try:
            i = registry.get(ctx.db, session.actor, insats_id)
        except NotFound as exc:
            raise _error(exc) from None
        if not registry.can_edit(session.actor, i):
            raise HTTPException(403, "Du kan inte ändra den här insatsen (den hör till en annan kommun, är redan inskickad eller så är du inte inloggad).")
        return page(request, session, "metodbank_form.html.j2", v_=record_to_form(registry.record(i)), fel=[], ny=False, insats_id=insats_id)

    @r.post("/metodbank/insats/{insats_id}/redigera", response_class=HTMLResponse, include_in_schema=False)
    async def redigera_post(request: Request, insats_id: int) -> Response:
        session = Session(ctx, request)
        form = await posted(request, session)
        try:
            registry.update(ctx.db, session.actor, insats_id, validate_insats(form_to_data(form)))
        except FieldErrors as exc:
            try:
                registry.get(ctx.db, session.actor, insats_id)
            except NotFound as nf:
                raise _error(nf) from None
            return page(request, session, "metodbank_form.html.j2", status=400, v_=form_values(form), fel=exc.errors, ny=False, insats_id=insats_id)
        except (NotFound, Forbidden, InputError) as exc:
            raise _error(exc) from None
        return session.apply(request, RedirectResponse(f"/metodbank/insats/{insats_id}", status_code=303))

    @r.post("/metodbank/insats/{insats_id}/status", include_in_schema=False)
    async def status_post(request: Request, insats_id: int) -> Response:
        session = Session(ctx, request)
        form = await posted(request, session)
        try:
            registry.set_status(ctx.db, session.actor, insats_id, str(form.get("status", "")))
        except (NotFound, Forbidden, InputError) as exc:
            raise _error(exc) from None
        return session.apply(request, RedirectResponse(f"/metodbank/insats/{insats_id}", status_code=303))

    @r.post("/metodbank/insats/{insats_id}/utvardering", response_class=HTMLResponse, include_in_schema=False)
    async def utvardering_post(request: Request, insats_id: int) -> Response:
        session = Session(ctx, request)
        form = await posted(request, session)
        values = {k: str(v).strip() for k, v in form.items() if k != "csrf" and str(v).strip()}
        try:
            registry.add_evaluation(ctx.db, session.actor, insats_id, validate_utvardering(values))
        except FieldErrors as exc:
            raise HTTPException(400, "Utvärderingen sparades inte: " + "; ".join(f"{LABELS.get(f, f)}: {m}" for f, m in exc.errors) + ".") from None
        except (NotFound, Forbidden, InputError) as exc:
            raise _error(exc) from None
        return session.apply(request, RedirectResponse(f"/metodbank/insats/{insats_id}", status_code=303))

    @r.get("/metodbank/granskning", response_class=HTMLResponse, include_in_schema=False)
    def granskning(request: Request) -> Response:
        session = Session(ctx, request)
        try:
            queue = registry.review_queue(ctx.db, session.actor)
        except Forbidden as exc:
            raise _error(exc) from None
        return page(request, session, "metodbank_granskning.html.j2", ko=queue)

    @r.get("/metodbank/logga-in", response_class=HTMLResponse, include_in_schema=False)
    def logga_in(request: Request) -> Response:
        session = Session(ctx, request)
        return page(request, session, "metodbank_logga_in.html.j2", fel=None, namn="")

    @r.post("/metodbank/logga-in", response_class=HTMLResponse, include_in_schema=False)
    async def logga_in_post(request: Request) -> Response:
        session = Session(ctx, request)
        form = await posted(request, session)
        namn = str(form.get("namn", ""))[:100]
        password = str(form.get("losenord", ""))[:1000]
        keys = (f"namn:{namn.lower()}", f"ip:{request.client.host if request.client else '-'}")
        if ctx.limiter.blocked(*keys):
            return page(request, session, "metodbank_logga_in.html.j2", status=429, namn=namn,
                        fel="För många misslyckade inloggningar. Vänta en kvart och försök igen.")
        try:
            user, version = accounts.login(ctx.db, namn, password)
        except accounts.LoginFailed as exc:
            ctx.limiter.failed(*keys)
            return page(request, session, "metodbank_logga_in.html.j2", status=400, namn=namn, fel=str(exc))
        ctx.limiter.succeeded(keys[0])
        session.login(user.id, version)
        return session.apply(request, RedirectResponse("/metodbank", status_code=303))

    @r.post("/metodbank/logga-ut", include_in_schema=False)
    async def logga_ut(request: Request) -> Response:
        session = Session(ctx, request)
        await posted(request, session)
        session.logout()
        return session.apply(request, RedirectResponse("/metodbank", status_code=303))

    @r.get("/metodbank/evidensregler", response_class=HTMLResponse, include_in_schema=False)
    def evidensregler(request: Request) -> Response:
        session = Session(ctx, request)
        return page(request, session, "metodbank_regler.html.j2", regler=rules())

    def gap_tables():
        return gaps.published_tables(ctx.db)

    @r.get("/metodbank/karta", response_class=HTMLResponse, include_in_schema=False)
    def karta(
        request: Request,
        kommun: Annotated[str, Query(max_length=4)] = "",
        lan: Annotated[str, Query(max_length=2)] = "",
    ) -> Response:
        session = Session(ctx, request)
        return cached(request, session.actor.roll == "allmanhet", lambda: _karta(request, session, kommun, lan), session)

    def _karta(request: Request, session: Session, kommun: str, lan: str) -> Response:
        if kommun and kommun not in data.kommuner:
            raise HTTPException(404, f"Det finns ingen kommun med koden {kommun}. En kommunkod är fyra siffror, t.ex. 0180 för Stockholm.")
        if lan and lan not in data.lan:
            raise HTTPException(404, f"Det finns inget län med koden {lan}. En länskod är två siffror, t.ex. 01.")
        t = gap_tables()
        m = gaps.matrix(ctx.db, kommun or None, tables=t)
        g = gaps.area_gaps(ctx.db, data.result, tables=t)
        if kommun:
            g = g.filter(g["kommun_kod"] == kommun)
        elif lan:
            g = g.filter(g["lan_kod"] == lan)
        cells = {(row["problem"], row["sektor"]): row for row in m.iter_rows(named=True)}
        return page(
            request, session, "metodbank_karta.html.j2", celler=cells, kommun=kommun, lan=lan,
            luckor=g.to_dicts(), summa=gaps.summarize(g, None).to_dicts()[0] if g.height else None,
            per_lan=gaps.summarize(g, "lan").to_dicts() if not kommun and not lan else [],
            per_kommun=gaps.summarize(g, "kommun").to_dicts() if not kommun else [],
            per_faktor=gaps.gaps_by_factor(g).to_dicts(),
            insats_namn=dict(zip(t["insatser"]["insats_id"].to_list(), t["insatser"]["namn"].to_list(), strict=True)),
        )

    @r.get("/metodbank/luckor.csv", include_in_schema=False)
    def luckor_csv(kommun: Annotated[str, Query(max_length=4)] = "", lan: Annotated[str, Query(max_length=2)] = "") -> Response:
        g = gaps.area_gaps(ctx.db, data.result, tables=gap_tables())
        if kommun:
            g = g.filter(g["kommun_kod"] == kommun)
        elif lan:
            g = g.filter(g["lan_kod"] == lan)
        flat = g.with_columns(*(pl.col(c).list.eval(pl.element().cast(pl.String)).list.join(";") for c in ("i_omradet", "i_kommunen", "nationellt")))
        return Response(flat.write_csv(), media_type="text/csv; charset=utf-8", headers={"content-disposition": 'attachment; filename="luckor.csv"', "cache-control": "no-cache"})

    @r.get("/metodbank/kommun/{kod}", response_class=HTMLResponse, include_in_schema=False)
    def kommun_page(request: Request, kod: str) -> Response:
        session = Session(ctx, request)
        return cached(request, session.actor.roll == "allmanhet", lambda: _kommun_page(request, session, kod), session)

    def _kommun_page(request: Request, session: Session, kod: str) -> Response:
        k = data.kommuner.get(kod)
        if k is None:
            raise HTTPException(404, f"Det finns ingen kommun med koden {kod}. En kommunkod är fyra siffror, t.ex. 0180 för Stockholm.")
        measures = registry.search(ctx.db, session.actor, Filters(kommun=kod, limit=500)).rader
        t = gap_tables()
        g = gaps.area_gaps(ctx.db, data.result, tables=t)
        g = g.filter(g["kommun_kod"] == kod)
        names_ = dict(zip(t["insatser"]["insats_id"].to_list(), t["insatser"]["namn"].to_list(), strict=True))
        similar = {a: gaps.similar_measures(ctx.db, data.result, a, tables=t).to_dicts() for a in sorted(set(g["regso_kod"].to_list()))}
        return page(request, session, "metodbank_kommun.html.j2", k=k, insatser=measures, luckor=g.to_dicts(), insats_namn=names_, liknande=similar)

    @r.get("/metodbank/importera", response_class=HTMLResponse, include_in_schema=False)
    def importera(request: Request) -> Response:
        session = Session(ctx, request)
        require_login(session)
        return page(request, session, "metodbank_importera.html.j2", fel=None, klart=None)

    @r.post("/metodbank/importera", response_class=HTMLResponse, include_in_schema=False)
    async def importera_post(request: Request) -> Response:
        from utanforskap.metodbank.transfer import import_file

        session = Session(ctx, request)
        form = await posted(request, session)
        require_login(session)
        try:
            n = await with_upload(form, lambda path: import_file(ctx.db, session.actor, path), "Välj en fil (.xlsx eller .csv) att importera.")
        except (UploadRejected, Forbidden, InputError) as exc:
            status = 403 if isinstance(exc, Forbidden) else 400
            return page(request, session, "metodbank_importera.html.j2", status=status, fel=str(exc), klart=None)
        return page(request, session, "metodbank_importera.html.j2", fel=None, klart=n)

    @r.get("/metodbank/mall.xlsx", include_in_schema=False)
    def mall() -> Response:
        import tempfile
        from pathlib import Path

        from utanforskap.metodbank.transfer import write_template

        with tempfile.TemporaryDirectory() as tmp:
            body = write_template(Path(tmp) / "mall.xlsx").read_bytes()
        return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"content-disposition": 'attachment; filename="insatser_mall.xlsx"'})

    @r.get("/metodbank/export.{fmt}", include_in_schema=False)
    def export_file(fmt: str) -> Response:
        import tempfile
        from pathlib import Path

        from utanforskap.metodbank.transfer import export

        types = {"csv": "text/csv; charset=utf-8", "json": "application/json", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        if fmt not in types:
            raise HTTPException(404, f"Exporten finns som .csv, .xlsx och .json, inte .{fmt}.")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"insatser.{fmt}"
            export(ctx.db, path)
            body = path.read_bytes()
        return Response(body, media_type=types[fmt], headers={"content-disposition": f'attachment; filename="insatser.{fmt}"', "cache-control": "no-cache"})

    from utanforskap.web import metodbank_omgangar

    metodbank_omgangar.register(r, ctx, lambda request: Session(ctx, request), page, posted, _error, MAX_UPLOAD)

    # ---- API --------------------------------------------------------------------------
    def api_actor(request: Request, required: bool) -> Actor:
        header = request.headers.get("authorization", "")
        if not header:
            if required:
                raise HTTPException(401, "Ändringar kräver en API-token: skicka Authorization: Bearer <token> (skapas med utanforskap anvandare token).")
            return Actor.public()
        scheme, _, token = header.partition(" ")
        actor = accounts.token_actor(ctx.db, token.strip()) if scheme.lower() == "bearer" else None
        if actor is None:
            raise HTTPException(401, "Ogiltig, okänd eller återkallad API-token.")
        return actor

    def api_json(obj, status: int = 200) -> Response:
        return Response(json.dumps(obj, ensure_ascii=False, default=str), status_code=status, media_type="application/json",
                        headers={"cache-control": "no-cache"})

    async def api_body(request: Request) -> dict:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_JSON:
            raise HTTPException(413, f"Förfrågan är för stor; högst {MAX_JSON // 1024} kB JSON tas emot.")
        raw = await request.body()
        if len(raw) > MAX_JSON:
            raise HTTPException(413, f"Förfrågan är för stor; högst {MAX_JSON // 1024} kB JSON tas emot.")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise HTTPException(400, "Innehållet är inte giltig JSON.") from None
        if not isinstance(body, dict):
            raise HTTPException(400, "Innehållet ska vara ett JSON-objekt med insatsens fält.")
        return body

    def invalid(exc: FieldErrors) -> Response:
        details = [{"falt": f, "meddelande": f"{LABELS.get(f, f)}: {m}"} for f, m in exc.errors]
        return api_json({"status": 422, "fel": "Ogiltig insats: " + "; ".join(d["meddelande"] for d in details) + ".", "detaljer": details}, 422)

    @r.get("/api/v1/insatser", tags=["metodbank"], summary="Publicerade insatser med filter", response_model=None, responses={**webapi.ERRORS, 200: {"model": schemas.InsatsLista}})
    def api_list(
        request: Request,
        q: Annotated[str, Query(max_length=200)] = "",
        kommun: Annotated[str, Query(max_length=4)] = "",
        omrade: Annotated[str, Query(max_length=12)] = "",
        problem: Annotated[str, Query(max_length=40)] = "",
        sektor: Annotated[str, Query(max_length=40)] = "",
        malgrupp: Annotated[str, Query(max_length=100)] = "",
        evidens: Annotated[str, Query(max_length=40)] = "",
        fran: Annotated[str, Query(max_length=10)] = "",
        till: Annotated[str, Query(max_length=10)] = "",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """Insatser (läsning utan inloggning: bara publicerade; med token även det token får se)."""
        actor = api_actor(request, required=False)
        f = filters_from(q, kommun, omrade, problem, sektor, malgrupp, evidens, fran, till, 1)
        f.limit, f.offset = limit, offset

        def build() -> Response:
            total, records = registry.search_records(ctx.db, actor, f)
            return api_json({"totalt": total, "limit": limit, "offset": offset, "insatser": records})

        return cached(request, actor.roll == "allmanhet", build)

    @r.get("/api/v1/insatser/{insats_id}", tags=["metodbank"], summary="En insats", response_model=None, responses={**webapi.ERRORS, 200: {"model": schemas.Insats}})
    def api_get(request: Request, insats_id: int) -> Response:
        actor = api_actor(request, required=False)

        def build() -> Response:
            try:
                return api_json(registry.get_record(ctx.db, actor, insats_id, with_history=False)[0])
            except NotFound as exc:
                raise _error(exc) from None

        return cached(request, actor.roll == "allmanhet", build)

    @r.post("/api/v1/insatser", tags=["metodbank"], summary="Registrera en insats (kräver token)", status_code=201, responses=webapi.ERRORS)
    async def api_create(request: Request) -> Response:
        actor = api_actor(request, required=True)
        body = await api_body(request)
        try:
            new_id = registry.create(ctx.db, actor, validate_insats(body))
        except FieldErrors as exc:
            return invalid(exc)
        except (Forbidden, InputError) as exc:
            raise _error(exc) from None
        return api_json(registry.record(registry.get(ctx.db, actor, new_id)), 201)

    @r.put("/api/v1/insatser/{insats_id}", tags=["metodbank"], summary="Ändra en insats (kräver token)", responses=webapi.ERRORS)
    async def api_update(request: Request, insats_id: int) -> Response:
        actor = api_actor(request, required=True)
        body = await api_body(request)
        try:
            registry.get(ctx.db, actor, insats_id)
            registry.update(ctx.db, actor, insats_id, validate_insats(body))
        except FieldErrors as exc:
            return invalid(exc)
        except (NotFound, Forbidden, InputError) as exc:
            raise _error(exc) from None
        return api_json(registry.record(registry.get(ctx.db, actor, insats_id)))

    return r
