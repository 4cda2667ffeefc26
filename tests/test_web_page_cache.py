"""Kommun and area pages are rendered once per input and then answered from memory (issue 16)."""

from __future__ import annotations

import httpx
import pytest

from tests.web_helpers import live_server
from utanforskap.web.pages import PageCache


@pytest.fixture(scope="module")
def client():
    server = live_server("paket")
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def test_a_page_asked_again_is_the_same_page(client):
    for path in ("/kommun/0380", "/kommun/0180", "/omrade/0380R001", "/omrade/0380r001", "/kommun/0380?variabel=klass", "/kommun/0380?variabel=finns-inte"):
        first, again = client.get(path), client.get(path)
        assert first.status_code == again.status_code == 200
        assert first.text == again.text, path
        assert first.headers["content-type"] == again.headers["content-type"] == "text/html; charset=utf-8"
        assert first.headers["etag"] == again.headers["etag"]


def test_the_chosen_layer_is_part_of_the_page(client):
    plain = client.get("/kommun/0380").text
    unknown = client.get("/kommun/0380?variabel=finns-inte").text
    # An unknown layer shows the first, with a visible message (issue 15), and is never cached as the plain page.
    assert "Det finns inget kartlager" in unknown and "Det finns inget kartlager" not in client.get("/kommun/0380").text
    import re

    layer = next(v for v in re.findall(r'<option value="([^"]+)">', plain) if v != "klass")  # not the default
    other = client.get(f"/kommun/0380?variabel={layer}").text
    assert other != plain
    assert f'<option value="{layer}" selected>' in other and f'<option value="{layer}" selected>' not in plain


def test_unknown_codes_are_still_404_and_not_kept(client):
    for _ in range(2):
        r = client.get("/kommun/9999")
        assert r.status_code == 404 and "Det finns ingen kommun med koden 9999" in r.text
        assert client.get("/omrade/nej").status_code == 404


def test_page_cache_drops_the_least_recently_used_past_its_size():
    cache = PageCache(max_bytes=10)
    cache.put(("a",), b"12345")
    cache.put(("b",), b"12345")
    assert cache.get(("a",)) == b"12345"  # a is now the most recently used
    cache.put(("c",), b"123")
    assert cache.get(("b",)) is None and cache.get(("a",)) == b"12345" and cache.get(("c",)) == b"123"
    assert cache.bytes == 8 and len(cache) == 2
