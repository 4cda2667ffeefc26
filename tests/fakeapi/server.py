"""A real HTTP server on 127.0.0.1 answering as SCB's PxWebApi 2.0 and Kolada v3 do,
with faults injected on demand. Paths: /scb/api/v2/... and /kolada/v3/...

    with serve(DATA) as api:
        api.inject("/tables/TAB0001/data", Fault.http(429, retry_after=1), times=2)
        client = PxWebClient(api.scb_url, ...)

Every request is logged (method, path, query, body, status, sha256 of the body sent) so
tests can count what reached the server.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from .common import HTML_PAGE, Fault, Reply, problem
from .kolada import FakeKolada
from .scb import FakeScb


@dataclass
class Logged:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: object
    status: int
    sha256: str
    at: float
    fault: str = ""


class FakeApi:
    def __init__(self, data_dir: Path):
        self.scb = FakeScb(data_dir)
        self.kolada = FakeKolada(data_dir)
        self.log: list[Logged] = []
        self._faults: list[list] = []  # [path text, Fault, times left, requests to let through]
        self._lock = threading.Lock()
        self.port = 0

    @property
    def scb_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/scb/api/v2"

    @property
    def kolada_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/kolada/v3"

    def inject(self, path_contains: str, fault: Fault, times: int = 1, after: int = 0) -> None:
        """Misbehave `times` times on matching requests, after letting `after` of them through."""
        with self._lock:
            self._faults.append([path_contains, fault, times, after])

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.log.clear()

    def requests(self, path_contains: str = "", method: str | None = None) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if path_contains in r.path and (method is None or r.method == method)]

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for entry in self._faults:
                if entry[0] in path and entry[3] > 0:
                    entry[3] -= 1
                elif entry[0] in path and entry[2] > 0:
                    entry[2] -= 1
                    return entry[1]
        return None

    def handle(self, method: str, raw_path: str, body: bytes) -> tuple[Reply, Fault | None]:
        parts = urlsplit(raw_path)
        path, query = unquote(parts.path), parse_qsl(parts.query, keep_blank_values=True)
        try:
            payload = json.loads(body) if body else None
        except json.JSONDecodeError:
            payload = "<ogiltig JSON>"
        fault = self._take_fault(path)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "html":
            reply = Reply(200, HTML_PAGE, "text/html; charset=utf-8")
        elif fault is not None and fault.kind == "status":
            reply = problem(fault.status, "Injected fault")
            if fault.retry_after is not None:
                reply.headers["Retry-After"] = fault.retry_after
        elif fault is not None and fault.kind == "cell_limit":
            reply = problem(fault.status, "Too many cells selected", "Too many cells selected")
        elif path.startswith("/scb/api/v2/"):
            reply = self.scb.handle(method, path[len("/scb/api/v2/") :], query, payload, fault)
        elif path.startswith("/kolada/v3/"):
            base = f"http://127.0.0.1:{self.port}/kolada/v3/"
            reply = self.kolada.handle(method, path[len("/kolada/v3/") :], query, fault, base)
        else:
            reply = problem(404, "Not found")
        with self._lock:
            self.log.append(
                Logged(method, path, query, payload, reply.status, hashlib.sha256(reply.body).hexdigest(),
                       time.monotonic(), fault.kind if fault else "")
            )
        return reply, fault


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeApi/1.0"
    api: FakeApi

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply, fault = self.api.handle(method, self.path, body)
        data = reply.body
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "truncate":
            data = data[: len(data) // 2]
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            if fault is not None and fault.kind == "trickle":
                step = max(1, -(-len(data) // fault.count))
                for i in range(0, len(data), step):
                    self.wfile.write(data[i : i + step])
                    self.wfile.flush()
                    time.sleep(fault.seconds / fault.count)
                return
            if fault is not None and fault.kind == "cut":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)
                return
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")


@contextlib.contextmanager
def serve(data_dir: Path):
    """Start a FakeApi on a free port of 127.0.0.1; stop it on exit."""
    api = FakeApi(data_dir)
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    api.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
