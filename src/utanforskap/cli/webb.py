"""`utanforskap webb`: the web application and open API on one computed map."""

from __future__ import annotations

import gc

from pathlib import Path
from typing import Annotated

import typer

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
    import uvicorn

    from utanforskap.errors import InputError
    from utanforskap.results import karta
    from utanforskap.web import assets, build, create_app

    assets.check()  # before the computation: a missing build should fail at once
    if geometri is not None and not geometri.is_file():
        raise InputError(f"{geometri}: geometrifilen finns inte (--geometri); ange en GeoPackage med RegSO- eller DeSO-polygoner")
    if geometri is not None:
        from utanforskap.geography import polygons as geometry

        geometry.check_file(geometri)  # reads and checks the file now, without asking SCB's WFS
    with console.status("Beräknar kartan ..."):
        result = karta.compute(metod, ar, data)
        web_app = create_app(build(result), geometri=geometri)
    if result.source.synthetic:
        console.print("[bold white on red] SYNTETISKA DATA [/] inte verkliga personer")
    console.print(f"[bold]{result.method.method.titel}[/] ({result.method.id}), {result.year}. Data: {result.source.description}", highlight=False)
    console.print(f"Webbtjänsten: http://{host}:{port}/  (API: http://{host}:{port}/api/v1; avsluta med Ctrl+C)", highlight=False)
    # The map and its records live as long as the process: keep them out of the garbage
    # collector's full scans, which otherwise pause requests for tens of milliseconds.
    gc.collect()
    gc.freeze()
    uvicorn.run(web_app, host=host, port=port, log_level="warning", access_log=False)
