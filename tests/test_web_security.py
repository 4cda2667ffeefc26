"""What every answer carries (web/security.py), over HTTP against the real app on loopback:
HEAD, `Allow` on 405, security headers, no inline script, CORS for the open API, gzip."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser

import httpx
import pytest

from tests.web_helpers import live_server

PAGES = ["/", "/kommun/0180", "/omrade/0380R001", "/metoder", "/ladda-ner", "/api", "/sok?q=upp", "/tillganglighet", "/docs"]
GETS = [
    *PAGES,
    "/api/v1",
    "/api/v1/omraden?kommun=0180",
    "/api/v1/kommuner/0180",
    "/api/v1/geo/kommuner.geojson",
    "/openapi.json",
    "/static/app.css",
    "/static/karta.js",
    "/ladda-ner/omraden.csv",
    "/ladda-ner/kommun/0180/omraden.xlsx",
]


@pytest.fixture(scope="module")
def server():
    return live_server("paket")


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


@pytest.mark.parametrize("url", GETS)
def test_head_answers_with_the_headers_of_get_and_no_body(client, url):
    for encoding in ("identity", "gzip"):
        get = client.get(url, headers={"accept-encoding": encoding})
        head = client.head(url, headers={"accept-encoding": encoding})
        assert get.status_code == 200, url
        assert head.status_code == 200, (url, head.status_code)
        assert head.content == b""
        for name in ("content-type", "content-length", "content-encoding", "etag", "cache-control", "content-security-policy"):
            assert head.headers.get(name) == get.headers.get(name), (url, encoding, name)


def test_head_on_an_unknown_page_is_404_without_a_body(client):
    r = client.head("/kommun/9999")
    assert r.status_code == 404 and r.content == b"" and int(r.headers["content-length"]) > 0


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("url", ["/", "/kommun/0180", "/api/v1/omraden", "/static/app.css", "/ladda-ner/omraden.csv"])
def test_every_405_says_which_methods_are_allowed(client, method, url):
    r = client.request(method, url)
    assert r.status_code == 405
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert {"GET", "HEAD"} <= allowed and method not in allowed
    assert ("OPTIONS" in allowed) == url.startswith("/api/")


@pytest.mark.parametrize("url", [*GETS, "/finns-inte", "/api/v1/kommuner/9999", "/ladda-ner/rapport/kommun/9999.pdf"])
def test_security_headers_on_every_answer(client, url):
    r = client.get(url)
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and "src" not in a and a.get("type") != "application/json":
            self.problems.append(f"inline <script {attrs}>")
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


@pytest.mark.parametrize("url", [*PAGES, "/finns-inte"])
def test_pages_have_no_inline_script_nor_style_attributes_the_csp_would_block(client, url):
    finder = _InlineFinder()
    finder.feed(client.get(url).text)
    assert finder.problems == []
    assert not re.search(r"<style[\s>]", client.get(url).text)


# ---- CORS -------------------------------------------------------------------------------------------
def test_the_open_api_may_be_read_from_any_origin_without_credentials(client):
    r = client.get("/api/v1/kommuner", headers={"origin": "https://exempel.se"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    assert "etag" in r.headers["access-control-expose-headers"].lower()
    r = client.get("/api/v1/kommuner/9999", headers={"origin": "https://exempel.se"})
    assert r.status_code == 404 and r.headers["access-control-allow-origin"] == "*"  # errors readable too
    assert client.get("/openapi.json", headers={"origin": "https://exempel.se"}).headers["access-control-allow-origin"] == "*"


def test_cors_preflight_allows_only_reading(client):
    r = client.options(
        "/api/v1/omraden",
        headers={"origin": "https://exempel.se", "access-control-request-method": "GET", "access-control-request-headers": "if-none-match"},
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert {m.strip() for m in r.headers["access-control-allow-methods"].split(",")} == {"GET", "HEAD", "OPTIONS"}
    assert r.headers["access-control-allow-headers"] == "if-none-match"
    assert "access-control-allow-credentials" not in r.headers
    # The API is read-only: POST still gets 405.
    assert client.post("/api/v1/omraden", headers={"origin": "https://exempel.se"}).status_code == 405


def test_pages_and_downloads_are_not_opened_to_other_origins(client):
    for url in ("/", "/kommun/0180", "/ladda-ner/omraden.csv"):
        assert "access-control-allow-origin" not in client.get(url, headers={"origin": "https://exempel.se"}).headers
    assert client.options("/kommun/0180").status_code == 405


# ---- gzip -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/api/v1/geo/kommuner.geojson", "/api/v1/omraden?kommun=0180", "/kommun/0180", "/", "/openapi.json", "/ladda-ner/omraden.csv", "/static/karta.js"])
def test_text_answers_are_gzipped_when_the_client_accepts_it(client, url):
    plain = client.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    with client.stream("GET", url, headers={"accept-encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip"
        assert int(r.headers["content-length"]) == len(raw) < len(plain.content)
        assert "accept-encoding" in r.headers["vary"].lower()
    assert gzip.decompress(raw) == plain.content


def test_binary_downloads_are_not_gzipped(client):
    r = client.get("/ladda-ner/kommuner.gpkg", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and "content-encoding" not in r.headers


def test_a_gzipped_answer_keeps_its_etag_and_304(client):
    r = client.get("/api/v1/omraden", params={"kommun": "0180"}, headers={"accept-encoding": "gzip"})
    again = client.get("/api/v1/omraden", params={"kommun": "0180"}, headers={"accept-encoding": "gzip", "if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
