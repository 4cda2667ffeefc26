"""What every answer of the web application gets, whatever route made it: HEAD, security
headers, CORS for the open API, `Allow` on 405, and gzip for text.

    app = FastAPI(...)
    ...
    security.install(app)      # last in create_app: wraps the whole application

`install` wraps the application outside Starlette's ServerErrorMiddleware, so that even a
500 page carries the headers, and pages that later modules add get all of it without
doing anything. Both middlewares are pure ASGI (no per-request task), so the fast API
paths stay fast.

* HEAD: answered as GET with the body left out (same status and headers, Content-Length
  included). FastAPI's GET routes do not accept HEAD themselves.
* Content-Security-Policy: only our own scripts, styles and data; no inline script. The map
  (maplibre-gl) needs `worker-src blob:` and images from `data:`/`blob:`.
* X-Content-Type-Options, Referrer-Policy, X-Frame-Options and `frame-ancestors 'none'`.
* CORS on /api/v1 and /openapi.json: anyone may read (`Access-Control-Allow-Origin: *`),
  without credentials; OPTIONS answers the preflight.
* gzip for HTML, JSON, GeoJSON, CSV, CSS and JavaScript when the client accepts it; the
  compressed bytes are kept (by a hash of the body), since the answers rarely change.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections import OrderedDict

import anyio.to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
API_PREFIXES = ("/api/v1", "/openapi.json")
ALLOW = "GET, HEAD"
API_ALLOW = "GET, HEAD, OPTIONS"
CORS_MAX_AGE = "86400"
_TOKEN_LIST = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~ ,-]*$")


def is_api(path: str) -> bool:
    return path == "/api/v1" or path.startswith("/api/v1/") or path == "/openapi.json"


class SecurityMiddleware:
    """HEAD as GET without a body; security headers, CORS and `Allow` on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        api = is_api(path)
        method = scope["method"]
        if method == "OPTIONS" and api:
            await self._options(scope, send)
            return
        head = method == "HEAD"
        inner = dict(scope, method="GET") if head else scope
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    if name.decode() not in headers:
                        headers.raw.append((name, value))
                if api:
                    headers["access-control-allow-origin"] = "*"
                    headers["access-control-expose-headers"] = "ETag, Content-Length, Content-Encoding"
                if message["status"] == 405:
                    headers["allow"] = API_ALLOW if api else ALLOW
                await send(message)
            elif message["type"] == "http.response.body" and head:
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(message)

        await self.app(inner, receive, send_wrapper)

    async def _options(self, scope: Scope, send: Send) -> None:
        """CORS preflight (and a plain OPTIONS) on the open API: read-only, no credentials."""
        req = Headers(scope=scope)
        headers = [
            (b"allow", API_ALLOW.encode()),
            (b"content-length", b"0"),
            *SECURITY_HEADERS,
        ]
        if "origin" in req:
            headers += [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", API_ALLOW.encode()),
                (b"access-control-max-age", CORS_MAX_AGE.encode()),
            ]
            asked = req.get("access-control-request-headers", "")
            if asked and _TOKEN_LIST.match(asked):
                headers.append((b"access-control-allow-headers", asked.encode()))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


# ---- gzip ----------------------------------------------------------------------------------------
COMPRESSIBLE = (
    "text/html",
    "text/css",
    "text/csv",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/geo+json",
    "image/svg+xml",
)
MIN_SIZE = 1024
LEVEL = 6
CACHE_BYTES = 32 * 1024 * 1024
THREAD_FROM = 256 * 1024  # larger bodies are compressed off the event loop


def accepts_gzip(accept_encoding: str | None) -> bool:
    if not accept_encoding:
        return False
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().lower()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


class _CompressedCache:
    """Compressed bytes by a hash of the uncompressed body, least recently used dropped first."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: bytes, body: bytes) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = body
            self.size += len(body)
            while self.size > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped)


class GzipMiddleware:
    """gzip for text answers (HTML, JSON, GeoJSON, CSV, CSS, JS); binary files pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cache = _CompressedCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wants = accepts_gzip(Headers(scope=scope).get("accept-encoding"))
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_wrapper(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                ctype = headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype not in COMPRESSIBLE or message["status"] in (204, 206, 304) or "content-encoding" in headers:
                    await send(message)
                    return
                vary = MutableHeaders(scope=message)
                _add_vary(vary)
                if not wants:
                    await send(message)
                    return
                start = message  # held until the body is complete
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(scope=start)
            if len(body) >= MIN_SIZE:
                body = await self._compress(body)
                headers["content-encoding"] = "gzip"
                etag = headers.get("etag")
                if etag and not etag.startswith("W/"):
                    headers["etag"] = "W/" + etag  # another representation of the same content
            headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, send_wrapper)

    async def _compress(self, body: bytes) -> bytes:
        key = hashlib.blake2b(body, digest_size=16).digest()
        packed = self.cache.get(key)
        if packed is None:
            if len(body) >= THREAD_FROM:
                packed = await anyio.to_thread.run_sync(_gzip, body)
            else:
                packed = _gzip(body)
            self.cache.put(key, packed)
        return packed


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, LEVEL, mtime=0)  # the same bytes every time


def _add_vary(headers: MutableHeaders) -> None:
    vary = headers.get("vary")
    if not vary:
        headers["vary"] = "Accept-Encoding"
    elif "accept-encoding" not in vary.lower():
        headers["vary"] = vary + ", Accept-Encoding"


def install(app) -> None:
    """Wrap `app` (a Starlette/FastAPI application) so that every answer, a 500 included,
    goes through gzip and then the security headers. Call once, after the routes."""
    build = app.build_middleware_stack

    def build_with_security() -> ASGIApp:
        return SecurityMiddleware(GzipMiddleware(build()))

    app.build_middleware_stack = build_with_security
