"""Pages while PDF reports render: /kommun/0180 latency (p50, p99) alone and while 50 cold
area reports are being rendered, and four simultaneous requests for one report.

The server (`utanforskap webb`) runs in its own process. The page load is open-loop at a
fixed rate (latency counts from when a request was due). Before the PDF pool of its own
(web/downloads.py) 50 cold reports pushed the page's p99 to 2.1 s, and four requests for one
report took 4.3, 8.7, 13.1 and 17.7 s (rendered four times in a row).

    python bench/bench_web_pdf.py [--rate 10] [--reports 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_web import free_port, start_server  # noqa: E402
from common import report  # noqa: E402

PAGE = "/kommun/0180"


async def page_load(client: httpx.AsyncClient, rate: float, stop: asyncio.Event, max_seconds: float) -> list[float]:
    latencies: list[float] = []
    start = time.perf_counter()
    tasks = []

    async def one(due: float) -> None:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        r = await client.get(PAGE)
        r.raise_for_status()
        latencies.append(time.perf_counter() - due)

    i = 0
    while not stop.is_set() and time.perf_counter() - start < max_seconds:
        due = start + i / rate
        tasks.append(asyncio.create_task(one(due)))
        i += 1
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return latencies


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(base: str, rate: float, n_reports: int, seconds: float) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:
        for _ in range(3):
            (await client.get(PAGE)).raise_for_status()  # warm
        alone = await page_load(client, rate, asyncio.Event(), seconds)

        codes = [a["regso_kod"] for a in (await client.get("/api/v1/omraden", params={"limit": n_reports, "offset": 1000})).json()["omraden"]]
        stop = asyncio.Event()
        t0 = time.perf_counter()

        async def reports() -> list[int]:
            answers = await asyncio.gather(*(client.get(f"/ladda-ner/rapport/omrade/{c}.pdf") for c in codes))
            stop.set()
            return [r.status_code for r in answers]

        rep = asyncio.create_task(reports())
        during = await page_load(client, rate, stop, 600)
        statuses = await rep
        reports_s = time.perf_counter() - t0
        assert set(statuses) == {200}, statuses

        kod = "0180"
        t1 = time.perf_counter()

        async def timed_get() -> float:
            await client.get(f"/ladda-ner/rapport/kommun/{kod}.pdf")
            return time.perf_counter() - t1

        same = await asyncio.gather(*(timed_get() for _ in range(4)))

    report("web_pdf_page_p50_alone", 1000 * statistics.median(alone), "ms")
    report("web_pdf_page_p99_alone", 1000 * p(alone, 0.99), "ms")
    report("web_pdf_page_p50_during_reports", 1000 * statistics.median(during), "ms")
    report("web_pdf_page_p99_during_reports", 1000 * p(during, 0.99), "ms", baseline=1000 * p(alone, 0.99))
    report(f"web_pdf_{n_reports}_cold_area_reports", reports_s, "s")
    report("web_pdf_four_same_report_slowest", max(same), "s", baseline=min(same))
    print(f"# sidor under rapporterna: {len(during)}; fyra samtidiga av samma rapport: {', '.join(f'{s:.1f}' for s in sorted(same))} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--reports", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    port = free_port()
    proc = start_server(port)
    try:
        asyncio.run(run(f"http://127.0.0.1:{port}", args.rate, args.reports, args.seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
