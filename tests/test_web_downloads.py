"""PDF reports over HTTP (web/downloads.py): each document is rendered once however many ask
for it at the same time, in a pool of its own, so that pages answer while reports render;
area codes are accepted in lower case like on the page and in the API."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import utanforskap.reports
from tests.web_helpers import live_server
from utanforskap.errors import InputError


@pytest.fixture(scope="module")
def server():
    return live_server("paket")


def _uncached_kommuner(server, n: int) -> list[str]:
    cache = server.app.state.downloads._cache
    return [k for k in sorted(server.data.kommuner, reverse=True) if ("pdf", "kommun", k) not in cache][:n]


@pytest.mark.slow
def test_four_simultaneous_requests_for_one_pdf_render_it_once(server, monkeypatch):
    kod = _uncached_kommuner(server, 1)[0]
    real = utanforskap.reports.render
    calls: list[tuple] = []
    first_call = threading.Event()
    others_sent = threading.Event()

    def counting(kind, code, **kw):
        calls.append((kind, code))
        first_call.set()
        others_sent.wait(30)  # hold the rendering until all four requests are at the server
        return real(kind, code, **kw)

    monkeypatch.setattr(utanforskap.reports, "render", counting)
    url = f"{server.url}/ladda-ner/rapport/kommun/{kod}.pdf"
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(httpx.get, url, timeout=120)
        assert first_call.wait(60), "rapporten började aldrig göras"
        rest = [pool.submit(httpx.get, url, timeout=120) for _ in range(3)]
        threading.Event().wait(1.0)  # let the three reach the server (not a timing assertion)
        others_sent.set()
        answers = [first.result(), *(f.result() for f in rest)]
    assert [r.status_code for r in answers] == [200] * 4
    assert all(r.content == answers[0].content for r in answers) and answers[0].content[:5] == b"%PDF-"
    assert calls == [("kommun", kod)], f"rapporten gjordes {len(calls)} gånger"
    # And later requests come from memory.
    assert httpx.get(url, timeout=60).content == answers[0].content
    assert calls == [("kommun", kod)]


def test_pages_answer_while_many_reports_wait_to_be_rendered(server, monkeypatch):
    """50 requests for different reports are queued behind one rendering that does not finish:
    pages and the API still answer, and no more renderings than the pool's size run at once."""
    from utanforskap.web import downloads

    kommuner = _uncached_kommuner(server, 50)
    release = threading.Event()
    running = 0
    most = 0
    lock = threading.Lock()
    started = threading.Event()

    def held(kind, code, **kw):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        started.set()
        try:
            release.wait(60)
            raise InputError("testet avbröt rapporten")  # the crowd is released without 50 real renders
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(utanforskap.reports, "render", held)
    client = httpx.Client(base_url=server.url, timeout=60, limits=httpx.Limits(max_connections=60))
    crowd = ThreadPoolExecutor(len(kommuner))
    try:
        pending = [crowd.submit(client.get, f"/ladda-ner/rapport/kommun/{k}.pdf") for k in kommuner]
        assert started.wait(60)
        threading.Event().wait(1.0)  # all 50 requests at the server (not a timing assertion)
        # A page that runs in the page pool, a page and the API: they must answer now,
        # while every report is still waiting (before the fix they waited for the reports).
        for url in ("/kommun/0180", "/", "/api/v1/kommuner/0180"):
            r = httpx.get(server.url + url, timeout=15)
            assert r.status_code == 200, url
        assert not release.is_set() and all(not p.done() for p in pending)
    finally:
        release.set()
        answers = [p.result() for p in pending]
        crowd.shutdown()
        client.close()
    assert {r.status_code for r in answers} == {404}  # the test's own refusal, reported per request
    assert most <= downloads.PDF_WORKERS
    assert not server.app.state.downloads._pdf_inflight  # nothing left behind; errors are not cached


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
