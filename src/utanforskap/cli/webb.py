"""`utanforskap webb`: the web application and open API on one computed map."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from utanforskap.cli import app, console
from utanforskap.cli.karta import ArOpt, DataOpt, MetodOpt
from utanforskap.results.defaults import DEFAULT_YEAR


@app.command("webb")
def webb(
    port: Annotated[int, typer.Option("--port", help="Port att lyssna på", min=1, max=65535)] = 8000,
    host: Annotated[str, typer.Option("--host", help="Adress att lyssna på (0.0.0.0 för alla nätverk)")] = "127.0.0.1",
    data: DataOpt = "paket",
    metod: MetodOpt = None,
    ar: ArOpt = DEFAULT_YEAR,
    geometri: Annotated[Path | None, typer.Option("--geometri", help="GeoPackage med RegSO- eller DeSO-polygoner för kartorna (utöver Uppsala län som följer med)")] = None,
) -> None:
    """Starta webbtjänsten: karta, sidor per kommun och område, nedladdningar och öppet API."""
    from utanforskap.errors import InputError
    from utanforskap.results import karta
    from utanforskap.web import assets, build, create_app, server

    assets.check()  # before the computation: a missing build should fail at once
    if geometri is not None and not geometri.is_file():
        raise InputError(f"{geometri}: geometrifilen finns inte (--geometri); ange en GeoPackage med RegSO- eller DeSO-polygoner")
    if geometri is not None:
        from utanforskap.geography import polygons as geometry

        geometry.check_file(geometri)  # reads and checks the file now, without asking SCB's WFS
    # The port is taken now, before anything is computed or printed: a busy port is one
    # Swedish line (exit 2), not a URL followed by uvicorn's error.
    sock = server.bind(host, port)
    from utanforskap.metodbank.db import open_database

    database = open_database()  # the metodbank's (UTANFORSKAP_DATABAS): a bad address fails here, not at the first request
    with console.status("Beräknar kartan ..."):
        result = karta.compute(metod, ar, data)
        web_app = create_app(build(result), geometri=geometri, database=database)
    if result.source.synthetic:
        console.print("[bold white on red] SYNTETISKA DATA [/] inte verkliga personer")
    console.print(f"[bold]{escape(result.method.method.titel)}[/] ({escape(result.method.id)}), {result.year}. Data: {escape(result.source.description)}", highlight=False)
    console.print(f"Webbtjänsten: http://{host}:{port}/  (API: http://{host}:{port}/api/v1; avsluta med Ctrl+C)", highlight=False)
    console.print(f"Metodbanken: http://{host}:{port}/metodbank  (databas: {database.url})", highlight=False)
    # The map and its records live as long as the process: keep them out of the garbage
    # collector's full scans, which otherwise pause requests for tens of milliseconds.
    gc.collect()
    gc.freeze()
    # uvicorn with limits: request head size (414/431) and time (408), keep-alive,
    # connections (web/server.py).
    try:
        server.serve(web_app, sock)
    finally:
        # Back to the collector, so that the map's objects are freed at exit (frozen ones are
        # not, and duckdb then reports dozens of "nanobind: leaked" lines).
        gc.unfreeze()
