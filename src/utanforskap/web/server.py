"""Serving the application with uvicorn, with the limits a public server needs.

    sock = server.bind("127.0.0.1", 8000)     # fails at once, in Swedish, on a busy port
    server.serve(app, sock)

uvicorn's HTTP protocol (h11) is extended by `GuardedProtocol`:

* a request line longer than MAX_REQUEST_LINE bytes is answered `414` and a request head
  (request line and headers) longer than MAX_HEAD bytes `431`, with a Swedish text, instead
  of a dropped connection. The rest of what the client sends is read and thrown away for a
  moment before the connection is closed, so the client sees the answer (closing with
  unread data would reset the connection);
* a client must send its whole request head within TIMEOUT_HEADERS seconds of connecting
  (or of starting a new request on a kept-alive connection), else `408` and the connection
  is closed: slow clients (slow-loris) cannot hold connections for ever;
* beyond MAX_CONNECTIONS open connections a new one is answered `503` and closed.

uvicorn's own limits are set too: keep-alive timeout, h11's largest incomplete event, and
`limit_concurrency`.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from utanforskap.errors import InputError

MAX_REQUEST_LINE = 8 * 1024
MAX_HEAD = 32 * 1024
TIMEOUT_HEADERS = 10.0
TIMEOUT_KEEP_ALIVE = 5
TIMEOUT_GRACEFUL_SHUTDOWN = 5  # Ctrl+C: answers under way get this long, then the server stops
MAX_CONNECTIONS = 500
LINGER_SECONDS = 2.0  # how long the rest of a refused request is read before closing
LINGER_BYTES = 4 * 1024 * 1024

MESSAGES = {
    400: "Förfrågan kunde inte tolkas som HTTP.",
    408: "Förfrågan kom inte fram i tid: hela förfrågans huvud måste skickas inom {timeout:g} sekunder.",
    414: "Adressen är för lång: högst {line} byte tas emot. Kontrollera länken.",
    431: "Förfrågans huvud (rubrikerna) är för stort: högst {head} byte tas emot.",
    503: "Tjänsten har för många samtidiga anslutningar just nu. Försök igen om en stund.",
}
REASONS = {400: "Bad Request", 408: "Request Timeout", 414: "URI Too Long", 431: "Request Header Fields Too Large", 503: "Service Unavailable"}


class GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol with limits on the request head's size and time, and on connections."""

    timeout_headers: float = TIMEOUT_HEADERS
    max_request_line: int = MAX_REQUEST_LINE
    max_head: int = MAX_HEAD
    max_connections: int = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._drained = 0

    # ---- connection ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refuse(503)
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:  # reading the rest of a refused request, then closing
            self._drained += len(data)
            if self._drained > LINGER_BYTES:
                self.transport.close()
            return
        waiting_for_head = self.conn.their_state is h11.IDLE
        if waiting_for_head and self._head_timer is None:
            self._arm_head_timer()  # a new request on a kept-alive connection
        if waiting_for_head:
            self._unset_keepalive_if_required()
            self.conn.receive_data(data)
            status = self._head_problem()
            if status:
                self._refuse(status)
                return
            self.handle_events()
        else:
            super().data_received(data)
        if self.conn.their_state is not h11.IDLE and not self._refused:
            self._cancel_head_timer()  # the head is complete

    def _head_problem(self) -> int | None:
        """414 or 431 when the request head that is arriving is too large, else None."""
        buffered, _ = self.conn.trailing_data
        line_end = buffered.find(b"\n")
        line_length = len(buffered) if line_end < 0 else line_end
        if line_length > self.max_request_line:
            return 414
        head_end = buffered.find(b"\r\n\r\n")
        head_length = len(buffered) if head_end < 0 else head_end
        if head_length > self.max_head:
            return 431
        return None

    def send_400_response(self, msg: str) -> None:
        """A request h11 cannot parse (uvicorn calls this): a Swedish 400. (Sizes are checked
        before h11, whose own limit is larger.)"""
        self._refuse(400)

    # ---- timers --------------------------------------------------------------------------
    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.timeout_headers, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # an answer is being sent; uvicorn's own keep-alive timer follows it
        if self.conn.trailing_data[0]:
            self._refuse(408)  # part of a head arrived, too slowly
        else:
            self.transport.close()  # nothing was asked: close quietly, as uvicorn's keep-alive does

    # ---- refusing ------------------------------------------------------------------------
    def _refuse(self, status: int) -> None:
        """Write a short Swedish answer, stop parsing, read and drop what still comes for a
        moment (so that the client reads the answer), then close."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        text = MESSAGES[status].format(timeout=self.timeout_headers, line=self.max_request_line, head=self.max_head)
        body = (text + "\n").encode()
        head = (
            f"HTTP/1.1 {status} {REASONS[status]}\r\n"
            "content-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\n"
            "x-content-type-options: nosniff\r\n"
            "connection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
        self.logger.warning("%s: %s", status, text)


def protocol(
    *,
    timeout_headers: float = TIMEOUT_HEADERS,
    max_request_line: int = MAX_REQUEST_LINE,
    max_head: int = MAX_HEAD,
    max_connections: int = MAX_CONNECTIONS,
) -> type[GuardedProtocol]:
    """GuardedProtocol with other limits (the tests use short ones)."""
    return type(
        "GuardedProtocol",
        (GuardedProtocol,),
        {"timeout_headers": timeout_headers, "max_request_line": max_request_line, "max_head": max_head, "max_connections": max_connections},
    )


def config(app, host: str = "127.0.0.1", port: int = 8000, *, http: type[GuardedProtocol] = GuardedProtocol, **overrides: Any) -> uvicorn.Config:
    """uvicorn's configuration for the web application, limits included."""
    settings: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": http,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "off",
        "timeout_keep_alive": TIMEOUT_KEEP_ALIVE,
        "h11_max_incomplete_event_size": MAX_HEAD + MAX_REQUEST_LINE,
        "limit_concurrency": getattr(http, "max_connections", MAX_CONNECTIONS) + 100,
        "server_header": False,
        "timeout_graceful_shutdown": TIMEOUT_GRACEFUL_SHUTDOWN,
    }
    settings.update(overrides)
    return uvicorn.Config(app, **settings)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or InputError (one Swedish line) when the port is
    taken or the address is not this machine's. Bound before anything is printed or
    computed, so that a busy port fails at once."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InputError(f"--host {host}: adressen går inte att slå upp ({exc.strerror}); ange t.ex. 127.0.0.1 eller 0.0.0.0") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)  # uvicorn listens when it starts serving
    except OSError as exc:
        sock.close()
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise InputError(f"Porten {port} på {host} används redan av ett annat program; välj en annan med --port (t.ex. --port {port + 1 if port < 65535 else 8000}) eller avsluta det andra programmet") from None  # noqa: E501 (Swedish text for users)
        if exc.errno == errno.EACCES:
            raise InputError(f"Porten {port} på {host} får inte användas av denna användare (portar under 1024 kräver särskild behörighet); välj en annan med --port") from None
        raise InputError(f"--host {host} --port {port}: går inte att lyssna på ({exc.strerror}); ange en adress som hör till denna dator, t.ex. 127.0.0.1 eller 0.0.0.0") from None
    sock.set_inheritable(True)
    return sock


def serve(app, sock: socket.socket, **overrides: Any) -> None:
    """Serve `app` on the bound socket until Ctrl+C, then run the app's `state.on_shutdown`
    callables (e.g. stopping the PDF process without waiting for its reports)."""
    host, port = sock.getsockname()[:2]
    try:
        uvicorn.Server(config(app, host, port, **overrides)).run(sockets=[sock])
    finally:
        for stop in getattr(app.state, "on_shutdown", []):
            stop()
