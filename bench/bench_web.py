"""Web speed: /api/v1/omraden?kommun=... at a fixed 200 requests/s, p50 and p99 latency;
beside it the kommun and area pages (/kommun/<kod>, /omrade/<kod>) at 100 requests/s
(target p99 under 20 ms, issue 16), after one visit to every page (the pages are rendered
once per input and then served from memory; the first visits are printed too).

The server (`utanforskap webb`) runs in its own process; this process is the load. The load
is open-loop: request i is due at start + i/rate whatever earlier answers did, and its
latency counts from when it was due, so a slow server cannot hide its queueing delay
(no coordinated omission). Requests go over a pool of keep-alive connections on loopback
and cycle through all 290 kommuner. Target: p99 under 50 ms at 200 requests/s.

If Debian's wrk is installed, a closed-loop run also gives the most requests/s the
endpoint answers (not part of the target).

    python bench/bench_web.py [--rate 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import report  # noqa: E402

CONNECTIONS = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "utanforskap", "webb", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1", timeout=2).raise_for_status()
            return proc
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                sys.exit(f"servern startade inte: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.2)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def paced_load(port: int, paths: list[str], rate: float, seconds: float) -> tuple[list[float], int, float]:
    """(latencies in seconds, errors, achieved rate) for `rate` requests/s over `seconds`."""
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(CONNECTIONS):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(i: int) -> None:
        nonlocal errors
        due = start + i / rate
        conn = await pool.get()
        try:
            status = await _request(*conn, paths[i % len(paths)])
            if status != 200:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            conn = await asyncio.open_connection("127.0.0.1", port)
        latencies.append(loop.time() - due)
        pool.put_nowait(conn)

    tasks = []
    for i in range(total):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return latencies, errors, total / elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def wrk_max_rate(port: int, paths: list[str]) -> float | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    script = "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\ni = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run([wrk, "-t1", "-c16", "-d8s", "-s", f.name, f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=60).stdout
    finally:
        os.unlink(f.name)
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--page-rate", type=float, default=100.0)
    args = ap.parse_args()

    port = free_port()
    server = start_server(port)
    try:
        kommuner = [k["kommun_kod"] for k in httpx.get(f"http://127.0.0.1:{port}/api/v1/kommuner", timeout=30).json()["kommuner"]]
        paths = [f"/api/v1/omraden?kommun={k}" for k in kommuner]
        asyncio.run(paced_load(port, paths, args.rate, 2.0))  # warm-up: first answers per kommun are built lazily
        lat, errors, achieved = asyncio.run(paced_load(port, paths, args.rate, args.seconds))
        ms = [x * 1000 for x in lat]
        report("web_omraden_kommun_p50", percentile(ms, 0.50), "ms")
        api_p99 = percentile(ms, 0.99)
        report("web_omraden_kommun_p99", api_p99, "ms", goal="< 50 ms")
        report("web_omraden_kommun_max", max(ms), "ms")
        report("web_omraden_kommun_mean", statistics.fmean(ms), "ms")
        report("web_omraden_kommun_rate", achieved, "req/s")
        report("web_omraden_kommun_errors", errors, "requests")
        peak = wrk_max_rate(port, paths)
        if peak is not None:
            report("web_omraden_kommun_wrk_max_rate", peak, "req/s")
        else:
            print("# wrk saknas (apt-get install -y wrk): ingen mätning av högsta takten", flush=True)
        ok = percentile(ms, 0.99) < 50 and errors == 0 and achieved >= 0.95 * args.rate
        print(f"# mål: p99 under 50 ms vid {args.rate:g} förfrågningar/s: {'uppfyllt' if ok else 'EJ UPPFYLLT'}", flush=True)
        area_codes = []
        for k in kommuner[::5]:  # every fifth kommun's areas: 58 kommuner, several hundred areas
            body = httpx.get(f"http://127.0.0.1:{port}/api/v1/omraden?kommun={k}&limit=100", timeout=30).json()
            area_codes += [a["regso_kod"] for a in body["omraden"]]
        page_sets = (("kommun", [f"/kommun/{k}" for k in kommuner]), ("omrade", [f"/omrade/{c}" for c in area_codes]))
        for name, page_paths in page_sets:
            first = []
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                for path in page_paths:  # every page once: the first visit renders it
                    t0 = time.perf_counter()
                    client.get(path).raise_for_status()
                    first.append((time.perf_counter() - t0) * 1000)
            report(f"web_{name}_sida_forsta_besok_p50", percentile(first, 0.50), "ms")
            lat, errors, achieved = asyncio.run(paced_load(port, page_paths, args.page_rate, args.seconds))
            pms = [x * 1000 for x in lat]
            report(f"web_{name}_sida_p50", percentile(pms, 0.50), "ms")
            # Baseline: the API's p99 over the same data in the same run (ratio above 1: the page is faster).
            report(f"web_{name}_sida_p99", percentile(pms, 0.99), "ms", baseline=api_p99, goal="< 20 ms")
            report(f"web_{name}_sida_rate", achieved, "req/s")
            report(f"web_{name}_sida_errors", errors, "requests")
            page_ok = percentile(pms, 0.99) < 20 and errors == 0 and achieved >= 0.95 * args.page_rate
            print(f"# mål: /{name}/<kod> p99 under 20 ms vid {args.page_rate:g} förfrågningar/s ({len(page_paths)} sidor): "
                  f"{'uppfyllt' if page_ok else 'EJ UPPFYLLT'}", flush=True)
        if not ok:
            sys.exit(1)
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
