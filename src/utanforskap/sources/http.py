"""HTTP for the data services: rate limiting, retries, an on-disk cache and offline replay.

Every successful raw response is written to the cache directory as two files::

    <cache>/<service>/<key[:2]>/<key>.body   the bytes exactly as received
    <cache>/<service>/<key[:2]>/<key>.json   URL, method, parameters, body sent, time, sha256

The key is the sha256 of method, URL, sorted parameters and the canonical JSON body,
so the same request always finds the same entry. In offline mode only the cache
answers; a request that is not there fails with an error that names it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from utanforskap.atomic import sha256_bytes, write_bytes, write_text
from utanforskap.errors import SourceError
from utanforskap.settings import Settings
from utanforskap.settings import load as load_settings

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; waits double from `backoff_base` up to `backoff_cap`."""

    max_tries: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    retry_after_cap: float = 300.0

    def backoff(self, attempt: int) -> float:
        """Wait before try number `attempt + 1` (attempt counts from 1)."""
        return min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))


class SlidingWindow:
    """At most `max_calls` calls in any `window` seconds, shared by all threads of a client.

    `pause` blocks every caller for a while (a server's Retry-After).
    `max_calls <= 0` means no limit (calls are still recorded, so a limit set later
    counts the calls already made in the window).
    """

    def __init__(
        self,
        max_calls: int = 0,
        window: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.max_calls = max_calls
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def configure(self, max_calls: int, window: float) -> None:
        with self._lock:
            self.max_calls, self.window = max_calls, window

    def pause(self, seconds: float) -> None:
        """No call from now until `seconds` have passed (a server's Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def acquire(self) -> None:
        # The lock is held while sleeping so that waiting callers queue in order.
        with self._lock:
            while True:
                now = self._clock()
                while self._calls and now - self._calls[0] >= self.window:
                    self._calls.popleft()
                wait = self._paused_until - now
                if self.max_calls > 0 and len(self._calls) >= self.max_calls:
                    wait = max(wait, self._calls[0] + self.window - now)
                if wait <= 0:
                    self._calls.append(now)
                    return
                self._sleep(wait)


@dataclass(frozen=True)
class Response:
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    from_cache: bool
    cache_file: Path | None

    def json(self, what: str) -> object:
        """The body as JSON, or a SourceError naming `what`, the request and the cache file."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            where = f" (rått svar: {self.cache_file})" if self.cache_file and str(self.cache_file) not in what else ""
            raise SourceError(
                f"{what}: {self.method} {self.url}: svaret är inte giltig JSON, troligen avkortat "
                f"({len(self.body)} byte; {exc}){where}"
            ) from exc


class _Closing:
    """Context-manager support for anything with a close()."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):  # noqa: ANN204 - returns the subclass
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HttpClient(_Closing):
    """A small httpx wrapper shared by the SCB and Kolada clients; see the module docstring.

    `clock` and `sleep` (for tests: a fake clock) drive the backoff and the default limiter.
    """

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        cache_dir: str | Path | None = None,
        offline: bool = False,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        limiter: SlidingWindow | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.offline = offline
        if offline and self.cache_dir is None:
            raise SourceError(f"{service}: offline-läge kräver en cachekatalog")
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or SlidingWindow(clock=clock, sleep=sleep)
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Accept": "application/json, text/csv;q=0.9, */*;q=0.5", "User-Agent": "utanforskap"},
            follow_redirects=True,
        )
        self.requests_sent = 0

    # ---- public --------------------------------------------------------------------
    def get(self, path: str, params: Params = (), *, what: str) -> Response:
        return self.request("GET", path, params=params, what=what)

    def post(self, path: str, body: object, params: Params = (), *, what: str) -> Response:
        return self.request("POST", path, params=params, body=body, what=what)

    def url(self, path: str) -> str:
        """An absolute URL for `path`; absolute URLs from a server are moved onto our base."""
        if path.startswith(("http://", "https://")):
            ours, theirs = urlsplit(self.base_url), urlsplit(path)
            return urlunsplit((ours.scheme, ours.netloc, theirs.path, theirs.query, ""))
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, params: Params = (), body: object = None, what: str) -> Response:
        url = self.url(path)
        params = [(str(k), str(v)) for k, v in params]
        shown = _shown(url, params)
        key = _cache_key(method, url, params, body)
        if self.offline:
            return self._replay(key, method, shown, what)
        response = self._send(method, url, params, body, shown, what)
        if self.cache_dir is not None:
            return self._record(key, response, params, body)
        return response

    def close(self) -> None:
        self._client.close()

    # ---- network -------------------------------------------------------------------
    def _send(self, method: str, url: str, params: list[tuple[str, str]], body: object, shown: str, what: str) -> Response:
        history: list[str] = []
        for attempt in range(1, self.retry.max_tries + 1):
            self.limiter.acquire()
            self.requests_sent += 1
            try:
                r = self._client.request(method, url, params=params or None, json=body)
                content = r.content  # read fully here: a cut connection raises now, not later
            except httpx.TimeoutException as exc:
                history.append(f"tidsgräns överskriden ({type(exc).__name__})")
                wait = self.retry.backoff(attempt)
            except httpx.TransportError as exc:
                history.append(f"nätverksfel: {type(exc).__name__}: {exc}")
                wait = self.retry.backoff(attempt)
            else:
                if r.status_code < 300:
                    return Response(method, shown, r.status_code, dict(r.headers), content, False, None)
                problem = _problem(r.status_code, content)
                if r.status_code == 429:
                    wait = self._retry_after(r.headers.get("Retry-After"), attempt)
                    history.append(f"HTTP 429 för många anrop (väntar {wait:g} s){problem}")
                    self.limiter.pause(wait)
                    wait = 0.0  # the limiter now holds every caller until the moment has passed
                elif r.status_code >= 500:
                    history.append(f"HTTP {r.status_code}{problem}")
                    wait = self.retry.backoff(attempt)
                else:
                    raise SourceError(f"{what}: {method} {shown}: HTTP {r.status_code}{problem}")
            if attempt < self.retry.max_tries and wait > 0:
                self._sleep(wait)
        raise SourceError(
            f"{what}: {method} {shown}: gav upp efter {self.retry.max_tries} försök: " + "; ".join(history)
        )

    def _retry_after(self, header: str | None, attempt: int) -> float:
        """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
        seconds: float | None = None
        if header:
            try:
                seconds = float(header)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(header)
                    seconds = (when - dt.datetime.now(dt.timezone.utc)).total_seconds()
                except (TypeError, ValueError):
                    seconds = None
        if seconds is None:
            seconds = self.retry.backoff(attempt)
        return min(max(seconds, 0.0), self.retry.retry_after_cap)

    # ---- cache ---------------------------------------------------------------------
    def _paths(self, key: str) -> tuple[Path, Path]:
        assert self.cache_dir is not None
        folder = self.cache_dir / self.service / key[:2]
        return folder / f"{key}.body", folder / f"{key}.json"

    def _record(self, key: str, response: Response, params: list[tuple[str, str]], body: object) -> Response:
        body_path, side_path = self._paths(key)
        write_bytes(body_path, response.body)
        sidecar = {
            "metod": response.method,
            "url": response.url,
            "parametrar": params,
            "kropp": body,
            "tid": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "status": response.status,
            "innehallstyp": response.headers.get("content-type", ""),
            "byte": len(response.body),
            "sha256": sha256_bytes(response.body),
        }
        write_text(side_path, json.dumps(sidecar, ensure_ascii=False, indent=2) + "\n")
        return Response(response.method, response.url, response.status, response.headers, response.body, False, body_path)

    def _replay(self, key: str, method: str, shown: str, what: str) -> Response:
        body_path, side_path = self._paths(key)
        if not side_path.exists() or not body_path.exists():
            raise SourceError(
                f"{what}: {method} {shown} finns inte i cachen {self.cache_dir} (offline-läge); "
                "hämta först utan --offline"
            )
        sidecar = json.loads(side_path.read_text(encoding="utf-8"))
        content = body_path.read_bytes()
        if sha256_bytes(content) != sidecar.get("sha256"):
            raise SourceError(f"{what}: cachefilen {body_path} är skadad (sha256 stämmer inte med {side_path.name})")
        headers = {"content-type": sidecar.get("innehallstyp", "")}
        return Response(method, shown, int(sidecar.get("status", 200)), headers, content, True, body_path)


def short_list(values: Sequence[str], n: int = 4, sep: str = ",") -> str:
    """The first `n` values for a message, then the count: ``a,b,c,d,… (40 st)``."""
    values = list(values)
    return sep.join(values[:n]) + (f"{sep}… ({len(values)} st)" if len(values) > n else "")


FROM_SETTINGS: object = object()  # default of `cache_dir`: take it from Settings


class ServiceClient(_Closing):
    """Base of the SCB and Kolada clients: an HttpClient configured from Settings.

    Options every client takes: `settings` (default: read from the environment),
    `offline` (serve only from the cache), `cache_dir` (default: settings.cache_dir;
    None: no cache), `transport` (an httpx transport, for unit tests), `clock` and `sleep`.
    """

    service = ""

    def __init__(
        self,
        base_url: str | None,
        *,
        settings: Settings | None = None,
        offline: bool = False,
        cache_dir: str | Path | None | object = FROM_SETTINGS,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        s = settings or load_settings()
        self.settings = s
        self.http = HttpClient(
            base_url or self.default_url(s),
            service=self.service,
            cache_dir=s.cache_dir if cache_dir is FROM_SETTINGS else cache_dir,  # type: ignore[arg-type]
            offline=offline,
            timeout=s.http_timeout,
            retry=RetryPolicy(s.http_max_tries, s.http_backoff_base, s.http_backoff_cap, s.http_retry_after_cap),
            transport=transport,
            clock=clock,
            sleep=sleep,
        )

    @staticmethod
    def default_url(settings: Settings) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        self.http.close()


def _shown(url: str, params: Sequence[tuple[str, str]]) -> str:
    """The URL with its parameters, as a person would paste it (for messages and sidecars)."""
    if not params:
        return url
    return str(httpx.URL(url, params=list(params)))


def _cache_key(method: str, url: str, params: Sequence[tuple[str, str]], body: object) -> str:
    canonical = json.dumps(
        [method.upper(), url, sorted(params), body], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return sha256_bytes(canonical.encode("utf-8"))


def _problem(status: int, content: bytes) -> str:
    """A short ': title (detail)' from an RFC 7807 problem body, or the start of the body."""
    text = ""
    try:
        doc = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        doc = None
    if isinstance(doc, dict) and (doc.get("title") or doc.get("detail")):
        title, detail = str(doc.get("title") or ""), str(doc.get("detail") or "")
        text = title if not detail or detail == title else f"{title} ({detail})"
        if "too many cells" in text.lower():
            text += " — frågan har fler celler än tjänsten tillåter"
    elif content:
        text = content[:200].decode("utf-8", errors="replace").strip()
    return f": {text}" if text else ""
