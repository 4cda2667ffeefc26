"""A real uvicorn server with the web application, on a free loopback port, for the web tests.

One server per data source and process (the map takes a few seconds to compute), shared by
tests/test_web_api.py and tests/test_web_browser.py; it stops when the test process ends.
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
import time
from dataclasses import dataclass

import httpx
import pytest
import uvicorn


@dataclass
class LiveServer:
    url: str
    data: object  # utanforskap.web.AppData
    server: uvicorn.Server
    thread: threading.Thread
    app: object = None  # the FastAPI application

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


_servers: dict[str, LiveServer] = {}
_lock = threading.Lock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_server(kind: str = "paket") -> LiveServer:
    """`paket`: the bundled open data. `syntetisk-flagga`: the same data declared synthetic
    (to test what users are shown when data are synthetic, without a synthetic population)."""
    with _lock:
        if kind not in _servers:
            _servers[kind] = _start(kind)
        return _servers[kind]


def _start(kind: str) -> LiveServer:
    # What the pages show must not depend on the network: RegSO polygons come only from the
    # bundle (Uppsala län) or a test's own file, never from SCB's WFS (geography.polygons).
    os.environ["UTANFORSKAP_GEOMETRI_WFS"] = ""
    from utanforskap import datasets
    from utanforskap.results import karta
    from utanforskap.web import build, create_app

    if kind == "paket":
        source = datasets.open_source("paket")
    elif kind == "syntetisk-flagga":
        base = datasets.open_source("paket")
        source = datasets.DataSource(base.store, f"{datasets.SYNTHETIC_LABEL}: testdata (paketets data märkta som syntetiska)", True)
    else:  # pragma: no cover - a test asked for something that does not exist
        raise ValueError(kind)
    result = karta.compute(karta.DEFAULT_METHOD, data=source)
    data = build(result)
    app = create_app(data)
    live = serve(app, kind)
    httpx.get(live.url + "/api/v1", timeout=10).raise_for_status()
    live.data = data
    return live


def serve(app, name: str, **limits) -> LiveServer:
    """Serve `app` on a free loopback port with the limits `utanforskap webb` uses
    (web/server.py), or with other `limits` (see server.protocol), until the process ends."""
    from utanforskap.web import server as web_server

    port = free_port()
    config = web_server.config(app, "127.0.0.1", port, http=web_server.protocol(**limits))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"webb-{name}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail(f"webbservern ({name}) startade inte på {url}")
        time.sleep(0.05)
    live = LiveServer(url, None, server, thread, app)
    atexit.register(live.stop)
    return live


def add_axe(page) -> None:
    """axe-core into `page` as a script from the page's own origin (the test answers the
    request): the Content-Security-Policy forbids the inline script add_script_tag(path=...) writes."""
    from urllib.parse import urlsplit

    from utanforskap.web import assets

    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    url = origin + "/__testets_axe.js"
    body = assets.axe_script().read_bytes()
    page.route(url, lambda route: route.fulfill(body=body, content_type="text/javascript"))
    page.add_script_tag(url=url)
