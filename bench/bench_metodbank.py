"""Metodbank speed with 10 000 measures, in SQLite and (when Debian's postgresql is
installed) PostgreSQL:

* importing 10 000 rows from the Excel template (target under 10 s); baseline: reading and
  validating the same file without writing (the part of the import that is not the database);
* the gap map for all 3 363 areas (target under 1 s); baseline: reading the published
  measures' tables from the database (what the map is computed from);
* the filtered list (/api/v1/insatser with a kommun and a problem variable) and the measure
  page (/metodbank/insats/{id}) at 200 requests/s, p99 (target under 50 ms), served by
  `utanforskap webb` in its own process; open-loop load as in bench_web.py. Each path is
  first visited once at that rate (its p99 printed as forsta_besok: nothing cached yet),
  then the measured run.

The 10 000 measures are generated for the benchmark (marked EXEMPEL, in a temporary
database) with real kommun and RegSO codes; they are not real measures.

    python bench/bench_metodbank.py [--antal 10000] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from bench_web import free_port, paced_load, percentile  # noqa: E402
from common import report  # noqa: E402


def make_xlsx(path: Path, n: int, seed: int = 1) -> None:
    import xlsxwriter

    from utanforskap.geography import hierarchy
    from utanforskap.metodbank.rules import vocab
    from utanforskap.metodbank.transfer import COLUMNS

    rng = random.Random(seed)
    regso = hierarchy.areas("regso").select("regso_kod", "kommun_kod").rows()
    sectors, problems = list(vocab().sektorer), list(vocab().problem)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("insatser")
    cols = list(COLUMNS)
    ws.write_row(0, 0, cols)
    for i in range(n):
        area, kommun = rng.choice(regso)
        start = f"{rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}-01"
        row = {
            "id": f"bench-{i}", "namn": f"Benchmarkinsats {i}", "beskrivning": "Genererad för hastighetsmätning.",
            "kommuner": kommun, "omraden": area, "sektorer": ";".join(rng.sample(sectors, 2)),
            "problem": ";".join(rng.sample(problems, 2)), "start": start, "kostnad_kr": str(rng.randint(0, 10_000_000)),
            "malgrupp": rng.choice(["barn", "unga", "föräldrar", "arbetssökande"]), "exempel": "ja",
        }
        ws.write_row(i + 1, 0, [row.get(c, "") for c in cols])
    wb.close()


def start_server(port: int, url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200", "UTANFORSKAP_DATABAS": url, "UTANFORSKAP_GEOMETRI_WFS": ""}
    # The server's log goes to a file: a pipe nobody reads would fill and stop the server.
    proc = subprocess.Popen([sys.executable, "-m", "utanforskap", "webb", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=log.open("w"), text=True, env=env)
    deadline = time.monotonic() + 180
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/insatser?limit=1", timeout=5).raise_for_status()
            return proc
        except (httpx.TransportError, httpx.HTTPStatusError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                sys.exit(f"servern startade inte: {log.read_text()[-2000:]}")
            time.sleep(0.3)


def run(backend: str, url: str, xlsx: Path, n: int, rate: float, seconds: float, result) -> bool:
    from utanforskap.metodbank import gaps, registry, transfer
    from utanforskap.metodbank.db import open_database
    from utanforskap.metodbank.registry import Actor

    db = open_database(url)
    t0 = time.perf_counter()
    transfer.validate_file(xlsx)
    read_only = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    transfer.import_file(db, Actor("bench", "administrator"), xlsx, status="publicerad")
    imported, imported_cpu = time.perf_counter() - t0, time.process_time() - c0
    report(f"metodbank_{backend}_import_{n}", imported, "s", read_only)
    # This process's processor time (the database server's is not in it): less noisy than
    # the wall time on a shared machine.
    report(f"metodbank_{backend}_import_{n}_processortid", imported_cpu, "s")

    tables_time = []
    gap_time = []
    for _ in range(5):
        t0 = time.perf_counter()
        t = gaps.published_tables(db)
        tables_time.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        g = gaps.area_gaps(db, result, tables=t)
        gaps.summarize(g, "kommun")
        gaps.matrix(db, tables=t)
        gap_time.append(time.perf_counter() - t0 + tables_time[-1])
    report(f"metodbank_{backend}_gapkarta_alla_omraden", sorted(gap_time)[2], "s", sorted(tables_time)[2])
    ids = [i.id for i in registry.search(db, Actor.public(), registry.Filters(limit=500)).rader]
    db.dispose()

    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="bench-metodbank-logg-")) / f"webb-{backend}.log"
    server = start_server(port, url, log)
    ok = imported < 10 and sorted(gap_time)[2] < 1
    try:
        kommuner = sorted({k for k, in _kommuner(url)})
        problems = ["skolresultat", "kriminalitet", "arbetsmarknadsetablering", "trangboddhet"]
        lists = [f"/api/v1/insatser?kommun={k}&problem={problems[i % 4]}" for i, k in enumerate(kommuner)]
        pages = [f"/metodbank/insats/{i}" for i in ids]
        for name, paths in (("lista", lists), ("insatssida", pages)):
            # First visits: every path once at the same rate (each is built and cached); then
            # the measured run, as a server that has been up for a while sees it. The first
            # visits' p99 is printed too: it is what the first minute after a change costs.
            cold, _, _ = asyncio.run(paced_load(port, paths, rate, len(paths) / rate))
            report(f"metodbank_{backend}_{name}_forsta_besok_p99", percentile([x * 1000 for x in cold], 0.99), "ms")
            cpu0 = _cpu_seconds(server.pid)
            lat, errors, achieved = asyncio.run(paced_load(port, paths, rate, seconds))
            cpu_ms = (_cpu_seconds(server.pid) - cpu0) * 1000 / len(lat)
            ms = [x * 1000 for x in lat]
            # The server's processor time per request: what the code costs, whatever the load.
            report(f"metodbank_{backend}_{name}_processortid_per_forfragan", cpu_ms, "ms")
            report(f"metodbank_{backend}_{name}_p50", percentile(ms, 0.5), "ms")
            report(f"metodbank_{backend}_{name}_p99", percentile(ms, 0.99), "ms")
            report(f"metodbank_{backend}_{name}_errors", errors, "requests")
            ok = ok and percentile(ms, 0.99) < 50 and errors == 0 and achieved >= 0.95 * rate
    finally:
        server.terminate()
        server.wait(timeout=20)
        errors_logged = log.read_text().count("Traceback")
        if errors_logged:
            print(f"# servern loggade {errors_logged} fel; se {log}", flush=True)
    return ok


def _cpu_seconds(pid: int) -> float:
    """User + system time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kommuner(url: str):
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.connect() as c:
        rows = c.execute(text("SELECT DISTINCT kommun_kod FROM insats_kommun")).all()
    eng.dispose()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--antal", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--bara", choices=["sqlite", "postgresql"], default=None)
    args = ap.parse_args()
    os.environ["UTANFORSKAP_GEOMETRI_WFS"] = ""
    print(f"# belastning vid start: {os.getloadavg()[0]:.1f} (maskinens kärnor: {os.cpu_count()})", flush=True)
    from utanforskap.results import karta

    result = karta.compute()
    tmp = Path(tempfile.mkdtemp(prefix="bench-metodbank-"))
    xlsx = tmp / "insatser.xlsx"
    make_xlsx(xlsx, args.antal)
    ok = True
    backends = [args.bara] if args.bara else ["sqlite", "postgresql"]
    for backend in backends:
        if backend == "sqlite":
            url = f"sqlite:///{tmp / 'mb.sqlite'}"
        else:
            import glob

            if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
                print("# PostgreSQL saknas (apt-get install -y postgresql): ingen mätning mot PostgreSQL", flush=True)
                continue
            from metodbank_helpers import pg_cluster

            url = pg_cluster().create_database()
        ok = run(backend, url, xlsx, args.antal, args.rate, args.seconds, result) and ok
    print(f"# belastning vid slut: {os.getloadavg()[0]:.1f}", flush=True)
    print(f"# mål: import under 10 s, luckkartan under 1 s, p99 under 50 ms vid {args.rate:g}/s: {'uppfyllt' if ok else 'EJ UPPFYLLT'}", flush=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
