"""HTTP for the data services: rate limiting, retries, an on-disk cache and offline replay.

Every successful raw response is written to the cache directory as two files::

    <cache>/<service>/<key[:2]>/<key>.body   the bytes exactly as received
    <cache>/<service>/<key[:2]>/<key>.json   URL, method, parameters, body sent, time, sha256

The key is the sha256 of method, URL, sorted parameters and the canonical JSON body,
so the same request always finds the same entry. In offline mode only the cache
answers; a request that is not there fails with an error that names it.

With a CacheStaging (as `hamta` uses), a run's responses are written apart, under
``<cache>/.staging/<run>/``, and moved into the cache only when the run commits; a failed
run leaves the cache as it was, so offline replay never mixes two publications.

Each call has a total deadline (`timeout`: from sending the request to the last byte of
the answer), not only a limit per read. An HTML page is never taken for data, nor cached.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx

from utanforskap.atomic import sha256_bytes, write_bytes, write_text
from utanforskap.errors import InputError, SourceError
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
        return min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))


class SlidingWindow:
    """At most `max_calls` calls in any `window` seconds, shared by all threads of a client.

    A call occupies its place from `acquire` (before it is sent) until `margin` x `window`
    after `release` (when its answer has arrived): the server counts a call when it
    receives it, which may be later than we sent it, and its clock and window are not
    ours. With 30 calls per 10 s, call 31 leaves 11 s after the answer to call 1.
    `pause` blocks every caller for a while (a server's Retry-After).
    `max_calls <= 0` means no limit (calls are still recorded, so a limit set later
    counts the calls already made in the window).
    """

    def __init__(
        self,
        max_calls: int = 0,
        window: float = 1.0,
        *,
        margin: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.max_calls = max_calls
        self.window = window
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[list[float | None]] = deque()  # [answer time], None while in flight
        self._paused_until = 0.0
        self._cond = threading.Condition()

    def configure(self, max_calls: int, window: float) -> None:
        with self._cond:
            self.max_calls, self.window = max_calls, window

    def pause(self, seconds: float) -> None:
        """No call from now until `seconds` have passed (a server's Retry-After)."""
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def acquire(self) -> list[float | None]:
        """Wait for a place; returns the token to `release` when the answer has arrived."""
        # The lock is held while sleeping so that waiting callers queue in order.
        with self._cond:
            while True:
                now = self._clock()
                span = self.window * (1 + self.margin)
                self._calls = deque(c for c in self._calls if c[0] is None or now - c[0] < span)
                wait = self._paused_until - now
                if self.max_calls > 0 and len(self._calls) >= self.max_calls:
                    answered = [c[0] for c in self._calls if c[0] is not None]
                    if not answered:  # every place is taken by a call still in flight
                        self._cond.wait()
                        continue
                    wait = max(wait, min(answered) + span - now)
                if wait <= 0:
                    token: list[float | None] = [None]
                    self._calls.append(token)
                    return token
                self._sleep(wait)

    def release(self, token: list[float | None]) -> None:
        """The call's answer has arrived (or the call failed): its window starts now."""
        with self._cond:
            token[0] = self._clock()
            self._cond.notify_all()


@dataclass(frozen=True)
class Response:
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    from_cache: bool
    cache_file: Path | None

    def json(self, what: str) -> Any:  # JSON: any value
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CacheStaging:
    """A run's raw responses, kept apart from the cache until the run succeeds.

    Clients write under ``<cache>/.staging/<run>/``; `commit` renames that folder to
    ``<run>.klar`` (the moment the run's responses count as committed) and then moves its
    files into the cache; `discard` marks it as failed and leaves it, so that the raw
    answer an error message names can still be read; the next run deletes it. A commit
    interrupted half-way is finished by `recover` (called by every run that uses the cache).
    """

    def __init__(self, cache_dir: str | Path):
        self.cache_dir = Path(cache_dir)
        self.root = self.cache_dir / STAGING / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        for old in (self.cache_dir / STAGING).glob(f"*/{FAILED}"):
            shutil.rmtree(old.parent, ignore_errors=True)

    def commit(self) -> None:
        if self.root.exists():
            done = self.root.with_name(self.root.name + ".klar")
            os.replace(self.root, done)
            _apply_staged(done, self.cache_dir)

    def discard(self) -> None:
        """The run failed: none of its responses enter the cache."""
        if self.root.exists():
            write_text(self.root / FAILED, "Svar från en misslyckad körning; de kom aldrig in i cachen.\n")

    @staticmethod
    def recover(cache_dir: str | Path) -> None:
        """Finish commits that a crash interrupted (``<cache>/.staging/*.klar``)."""
        for done in sorted((Path(cache_dir) / STAGING).glob("*.klar")):
            _apply_staged(done, Path(cache_dir))


STAGING = ".staging"
FAILED = "MISSLYCKAD"


def _apply_staged(done: Path, cache_dir: Path) -> None:
    for side in sorted(done.rglob("*.json")):
        rel = side.relative_to(done)
        body = side.with_suffix(".body")
        target = cache_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if body.exists():
            os.replace(body, target.with_suffix(".body"))
        os.replace(side, target)
    shutil.rmtree(done, ignore_errors=True)


class _DeadlinePassed(Exception):
    """The whole call took longer than the client's timeout."""


class HttpClient(_Closing):
    """A small httpx wrapper shared by the SCB and Kolada clients; see the module docstring.

    `clock` and `sleep` (for tests: a fake clock) drive the backoff and the default limiter.
    `timeout` is the deadline of one call (real time); `staging` keeps responses apart
    from the cache until the caller commits them; `setting` names the base URL's setting
    in messages.
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
        staging: CacheStaging | None = None,
        setting: str = "",
    ):
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout
        self.staging = staging
        self.setting = setting
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
            token = self.limiter.acquire()
            self.requests_sent += 1
            try:
                status, headers, content = self._exchange(method, url, params, body)
            except (httpx.TimeoutException, _DeadlinePassed) as exc:
                history.append(f"tidsgräns överskriden ({_timeout_kind(exc, self.timeout)})")
                wait = self.retry.backoff(attempt)
            except httpx.TransportError as exc:
                history.append(f"nätverksfel: {type(exc).__name__}: {exc}")
                wait = self.retry.backoff(attempt)
            else:
                if status < 300:
                    if _is_html(headers, content):
                        where = f" ({self.setting})" if self.setting else ""
                        raise SourceError(
                            f"{what}: {method} {shown}: svaret är en HTML-sida, inte data (HTTP {status}"
                            f"{_html_title(content)}); kontrollera adressen{where} eller försök senare"
                        )
                    return Response(method, shown, status, headers, content, False, None)
                problem = _problem(status, content)
                retry_after = _header(headers, "Retry-After")
                if status == 429 or (status >= 500 and retry_after):
                    wait = self._retry_after(retry_after, attempt)
                    label = "för många anrop" if status == 429 else "tjänsten ej tillgänglig"
                    history.append(f"HTTP {status} {label} (väntar {wait:g} s){problem}")
                    self.limiter.pause(wait)
                    wait = 0.0  # the limiter now holds every caller until the moment has passed
                elif status >= 500:
                    history.append(f"HTTP {status}{problem}")
                    wait = self.retry.backoff(attempt)
                else:
                    raise SourceError(f"{what}: {method} {shown}: HTTP {status}{problem}")
            finally:
                self.limiter.release(token)
            if attempt < self.retry.max_tries and wait > 0:
                self._sleep(wait)
        raise SourceError(
            f"{what}: {method} {shown}: gav upp efter {self.retry.max_tries} försök: " + "; ".join(history)
        )

    def _exchange(self, method: str, url: str, params: list[tuple[str, str]], body: object) -> tuple[int, dict[str, str], bytes]:
        """One request, read fully, within the deadline: a server that trickles its answer,
        or stalls before its last byte, is given up when `timeout` has passed since sending.

        The request runs on a worker thread so that the deadline holds even while a read
        blocks; a worker left behind stops at its next piece of the body (or read timeout).
        """
        deadline = time.monotonic() + self.timeout
        result: dict[str, object] = {}
        finished = threading.Event()

        def work() -> None:
            try:
                with self._client.stream(method, url, params=list(params) or None, json=body) as r:
                    chunks = []
                    for chunk in r.iter_bytes():  # a cut connection raises here, not later
                        chunks.append(chunk)
                        if time.monotonic() > deadline:
                            raise _DeadlinePassed()
                    result["answer"] = (r.status_code, dict(r.headers), b"".join(chunks))
            except BaseException as exc:  # handed to the caller below
                result["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=work, name=f"{self.service}-http", daemon=True).start()
        if not finished.wait(max(0.0, deadline - time.monotonic()) + 0.05):
            raise _DeadlinePassed()
        if "error" in result:
            raise result["error"]  # type: ignore[misc]
        return result["answer"]  # type: ignore[return-value]

    def _retry_after(self, header: str | None, attempt: int) -> float:
        """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
        seconds: float | None = None
        if header:
            try:
                seconds = float(header)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(header)
                    seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
                except (TypeError, ValueError):
                    seconds = None
        if seconds is None:
            seconds = self.retry.backoff(attempt)
        return min(max(seconds, 0.0), self.retry.retry_after_cap)

    # ---- cache ---------------------------------------------------------------------
    def _paths(self, key: str, staged: bool = False) -> tuple[Path, Path]:
        assert self.cache_dir is not None
        root = self.staging.root if staged and self.staging is not None else self.cache_dir
        folder = root / self.service / key[:2]
        return folder / f"{key}.body", folder / f"{key}.json"

    def _record(self, key: str, response: Response, params: list[tuple[str, str]], body: object) -> Response:
        body_path, side_path = self._paths(key, staged=True)
        write_bytes(body_path, response.body)
        sidecar = {
            "metod": response.method,
            "url": response.url,
            "parametrar": params,
            "kropp": body,
            "tid": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
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
    setting = ""  # the setting of the base URL, for messages (UTANFORSKAP_SCB_URL)

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
        staging: CacheStaging | None = None,
    ):
        s = settings or load_settings()
        self.settings = s
        url = base_url or self.default_url(s)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(
                f"ogiltig inställning {self.setting}: {url!r} är ingen webbadress; "
                "den ska börja med http:// eller https://"
            )
        self.http = HttpClient(
            url,
            service=self.service,
            cache_dir=s.cache_dir if cache_dir is FROM_SETTINGS else cache_dir,  # type: ignore[arg-type]
            offline=offline,
            timeout=s.http_timeout,
            retry=RetryPolicy(s.http_max_tries, s.http_backoff_base, s.http_backoff_cap, s.http_retry_after_cap),
            transport=transport,
            clock=clock,
            sleep=sleep,
            staging=staging,
            setting=self.setting,
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


def _header(headers: dict[str, str], name: str) -> str | None:
    name = name.lower()
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _is_html(headers: dict[str, str], content: bytes) -> bool:
    """An HTML page (a portal, a login or maintenance page) where data was expected."""
    kind = (_header(headers, "content-type") or "").lower()
    if "html" in kind:
        return True
    start = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html")) or (start.startswith(b"<") and b"<html" in start)


def _html_title(content: bytes) -> str:
    m = re.search(rb"<title[^>]*>(.*?)</title>", content[:4096], re.IGNORECASE | re.DOTALL)
    title = m.group(1).decode("utf-8", errors="replace").strip() if m else ""
    return f", sidans titel: {' '.join(title.split())[:80]!r}" if title else ""


def _timeout_kind(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, _DeadlinePassed):
        return f"hela anropet tog mer än {timeout:g} s"
    return f"{type(exc).__name__}, {timeout:g} s"
