"""ETag and Cache-Control for every successful GET, and 304 on a matching If-None-Match.

A pure ASGI middleware (no per-request task like Starlette's BaseHTTPMiddleware) so that
the fast API paths stay fast. The ETag is the data version: the whole answer set changes
only when the app is restarted on other data, another method or other parameters.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CACHE = "public, max-age=300"
PAGE_CACHE = "no-cache"  # pages revalidate each time (cheap with the ETag)


class CachingMiddleware:
    def __init__(self, app: ASGIApp, version: str, skip_prefixes: tuple[str, ...] = ("/static/",)) -> None:
        self.app = app
        self.etag = f'W/"{version}"'
        self.skip = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or scope["path"].startswith(self.skip):
            await self.app(scope, receive, send)
            return
        matches = _matches(Headers(scope=scope).get("if-none-match"), self.etag)
        path = scope["path"]
        cache = API_CACHE if path.startswith(("/api/", "/ladda-ner/", "/openapi.json")) else PAGE_CACHE
        not_modified = False

        async def send_wrapper(message: Message) -> None:
            nonlocal not_modified
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    await send(message)
                    return
                headers = MutableHeaders(scope=message)
                headers["etag"] = self.etag
                if "cache-control" not in headers:
                    headers["cache-control"] = cache
                if matches:
                    not_modified = True
                    keep = [(k, v) for k, v in message["headers"] if k.lower() in (b"etag", b"cache-control", b"vary")]
                    await send({"type": "http.response.start", "status": 304, "headers": keep})
                    return
                await send(message)
            elif message["type"] == "http.response.body" and not_modified:
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
            else:
                await send(message)

        await self.app(scope, receive, send_wrapper)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): W/ is ignored; * matches any current representation."""
    if not if_none_match:
        return False
    ours = etag.removeprefix("W/")
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == ours:
            return True
    return False
