"""Databases and a live web server for the metodbank tests: SQLite in a temporary file and a
real PostgreSQL cluster (Debian's postgresql package) that the tests start on a free port on
127.0.0.1 and stop at the end. Run as root, the cluster runs as the `postgres` user."""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass

import pytest

BACKENDS = ["sqlite", "postgresql"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@dataclass
class PgCluster:
    port: int
    datadir: str
    bindir: str
    as_postgres: bool

    def _run(self, *cmd: str) -> subprocess.CompletedProcess:
        if self.as_postgres:
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = "mb_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self._run(f"{self.bindir}/pg_ctl", "-D", self.datadir, "-m", "immediate", "stop")
        shutil.rmtree(os.path.dirname(self.datadir), ignore_errors=True)


_cluster: PgCluster | None = None
_lock = threading.Lock()


def pg_cluster() -> PgCluster:
    """One PostgreSQL cluster per test process, started on first use."""
    global _cluster
    with _lock:
        if _cluster is not None:
            return _cluster
        bindir = _pg_bin()
        if bindir is None:
            pytest.skip("PostgreSQL saknas (Debian-paketet postgresql; scripts/systempaket.sh installerar det)")
        as_postgres = os.geteuid() == 0
        base = tempfile.mkdtemp(prefix="mb-pg-")
        datadir = os.path.join(base, "data")
        if as_postgres:
            os.chmod(base, 0o755)
            shutil.chown(base, "postgres", "postgres")
        port = _free_port()
        cluster = PgCluster(port, datadir, bindir, as_postgres)
        r = cluster._run(f"{bindir}/initdb", "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        if r.returncode != 0:
            pytest.fail(f"initdb misslyckades: {r.stderr}")
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        r = cluster._run(f"{bindir}/pg_ctl", "-D", datadir, "-o", opts, "-l", os.path.join(base, "logg"), "-w", "-t", "60", "start")
        if r.returncode != 0:
            pytest.fail(f"PostgreSQL startade inte: {r.stderr} {open(os.path.join(base, 'logg')).read() if os.path.exists(os.path.join(base, 'logg')) else ''}")  # noqa: SIM115
        atexit.register(cluster.stop)
        _cluster = cluster
        return cluster


def new_database_url(backend: str, tmp_dir: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{os.path.join(tmp_dir, 'mb-' + uuid.uuid4().hex[:8] + '.sqlite')}"
    return pg_cluster().create_database()


# ---- a live server over one computed map and one database per backend ----------------
_map = None
_servers: dict[str, tuple] = {}


def computed_map():
    global _map
    if _map is None:
        os.environ["UTANFORSKAP_GEOMETRI_WFS"] = ""
        from utanforskap.results import karta
        from utanforskap.web import build

        _map = build(karta.compute())
    return _map


def live_server(backend: str):
    """(url, Database) of a real uvicorn server with the metodbank on `backend`."""
    with _lock:
        if backend in _servers:
            return _servers[backend]
    import uvicorn

    from utanforskap.metodbank.db import open_database
    from utanforskap.web import create_app

    tmp = tempfile.mkdtemp(prefix="mb-web-")
    db = open_database(new_database_url(backend, tmp))
    app = create_app(computed_map(), database=db)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("webbservern för metodbanken startade inte")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()

    atexit.register(stop)
    _servers[backend] = (f"http://127.0.0.1:{port}", db)
    return _servers[backend]


def http_client(server):
    """A client of the live server (`live_server`'s (url, ...))."""
    import httpx

    return httpx.Client(base_url=server[0], timeout=30)


def csrf_of(c, path: str = "/metodbank/logga-in") -> str:
    """The CSRF token of the form on `path`."""
    import re

    r = c.get(path)
    assert r.status_code == 200, r.text[:300]
    return re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
