"""PDF reports over HTTP (web/downloads.py): each document is rendered once however many ask
for it at the same time, in a pool of its own, so that pages answer while reports render;
area codes are accepted in lower case like on the page and in the API."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.web_helpers import live_server
from utanforskap.web import downloads as downloads_module


@pytest.fixture(scope="module")
def server():
    return live_server("paket")


def _uncached_kommuner(server, n: int) -> list[str]:
    cache = server.app.state.downloads._cache
    return [k for k in sorted(server.data.kommuner, reverse=True) if ("pdf", "kommun", k) not in cache][:n]


@pytest.mark.slow
def test_four_simultaneous_requests_for_one_pdf_render_it_once(server):
    downloads = server.app.state.downloads
    kod = _uncached_kommuner(server, 1)[0]
    before = downloads.pdf_renders
    url = f"{server.url}/ladda-ner/rapport/kommun/{kod}.pdf"
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: httpx.get(url, timeout=300), range(4)))
    assert [r.status_code for r in answers] == [200] * 4
    assert all(r.content == answers[0].content for r in answers) and answers[0].content[:5] == b"%PDF-"
    assert downloads.pdf_renders - before == 1, f"rapporten gjordes {downloads.pdf_renders - before} gånger"
    # Later requests come from memory.
    assert httpx.get(url, timeout=60).content == answers[0].content
    assert downloads.pdf_renders - before == 1


@pytest.mark.slow
def test_pages_answer_while_many_reports_wait_to_be_rendered(server):
    """50 requests for different cold reports: while they wait for the PDF process, pages and
    the API answer (before the fix the reports held every thread of the page pool)."""
    downloads = server.app.state.downloads
    kommuner = _uncached_kommuner(server, 50)
    client = httpx.Client(base_url=server.url, timeout=300, limits=httpx.Limits(max_connections=60))
    crowd = ThreadPoolExecutor(len(kommuner))
    try:
        pending = [crowd.submit(client.get, f"/ladda-ner/rapport/kommun/{k}.pdf") for k in kommuner]
        for _ in range(100):  # until all 50 are at the server (bounded)
            if downloads.pending_pdfs() >= len(kommuner):
                break
            threading.Event().wait(0.1)
        assert downloads.pending_pdfs() >= len(kommuner) - 1
        for url in ("/kommun/0180", "/", "/api/v1/kommuner/0180", "/kommun/0380"):
            r = httpx.get(server.url + url, timeout=30)
            assert r.status_code == 200, url
        assert downloads.pending_pdfs() > 0 and not all(p.done() for p in pending)  # still rendering
    finally:
        downloads.pdf_pool.close()  # drop the reports still waiting: no minute of renders after the test
        answers = [p.result() for p in pending]
        crowd.shutdown()
        client.close()
    codes = {r.status_code for r in answers}
    assert codes <= {200, 503}, codes  # made, or dropped with a Swedish 503
    assert all("avbröts" in r.json()["fel"] if r.headers["content-type"].startswith("application/json") else "avbröts" in r.text for r in answers if r.status_code == 503)
    assert downloads.pending_pdfs() == 0  # nothing left behind
    assert downloads.pdf_pool.workers == downloads_module.PDF_WORKERS
    # After close, the next report starts a new worker.
    r = httpx.get(f"{server.url}/ladda-ner/rapport/omrade/0380R002.pdf", timeout=300)
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"


@pytest.mark.slow
def test_area_report_accepts_a_lower_case_code_like_the_page_and_api(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        code = "0380R001"
        assert c.get(f"/omrade/{code.lower()}").status_code == 200
        assert c.get(f"/api/v1/omraden/{code.lower()}").status_code == 200
        r = c.get(f"/ladda-ner/rapport/omrade/{code.lower()}.pdf")
        assert r.status_code == 200 and r.content[:5] == b"%PDF-"
        assert f'rapport_{code}.pdf' in r.headers["content-disposition"]
        assert c.get(f"/ladda-ner/rapport/omrade/{code}.pdf").content == r.content  # one document
        assert c.get("/ladda-ner/rapport/omrade/0380r999.pdf").status_code == 404
