"""Faults injected by the local server: nothing is lost silently, limits and retries hold."""

import hashlib
import time

import pytest
from fakeapi import Fault
from fakeapi.fixtures import DATA
from fakeapi.server import serve

from utanforskap.errors import SourceError
from utanforskap.sources.pxweb import PxWebClient

SEL = {"Region": ["01", "03"], "Alder": "0-9", "Kon": "*", "ContentsCode": "*", "Tid": "*"}
DATA_PATH = "/tables/TAB6471/data"


def client(api, settings, **kw) -> PxWebClient:
    return PxWebClient(api.scb_url, settings=settings, **kw)


@pytest.mark.slow
def test_burst_of_429_honours_retry_after(api, settings):
    with client(api, settings) as c:
        c.config()
        api.inject(DATA_PATH, Fault.http(429, retry_after=1), times=2)
        start = time.monotonic()
        ds = c.data("TAB6471", SEL)
        elapsed = time.monotonic() - start
    assert ds.cells == 2 * 3 * 4
    hits = api.requests(DATA_PATH)
    assert [r.status for r in hits] == [429, 429, 200]
    assert hits[1].at - hits[0].at >= 0.95 and hits[2].at - hits[1].at >= 0.95
    assert 1.9 <= elapsed < 4


@pytest.mark.slow
def test_client_keeps_within_the_servers_rate_limit(api, settings):
    api.scb.config.update(maxCallsPerTimeWindow=3, timeWindow=1)
    with client(api, settings) as c:
        start = time.monotonic()
        c.tables(page_size=4)  # /config + 5 pages = 6 calls: two windows
        elapsed = time.monotonic() - start
    assert api.scb.rate_limited == 0  # the sliding window kept every call inside the limit
    assert len(api.requests("/scb/")) == 6 and elapsed >= 0.95


@pytest.mark.slow
def test_a_client_that_ignores_the_limit_is_slowed_by_429_and_still_gets_everything(api, settings):
    api.scb.config.update(maxCallsPerTimeWindow=2, timeWindow=1)
    with client(api, settings) as c:
        c.config()
        c.http.limiter.configure(0, 1.0)  # pretend we never read the limits
        tables = c.tables(page_size=10)  # /config + 2 pages: the third call is refused once
    assert len(tables) == 20 and api.scb.rate_limited >= 1


def test_5xx_are_retried_with_backoff(api, settings):
    api.inject(DATA_PATH, Fault.http(503), times=1)
    api.inject(DATA_PATH, Fault.http(500), times=1)
    with client(api, settings) as c:
        ds = c.data("TAB6471", SEL)
    assert ds.cells == 24 and [r.status for r in api.requests(DATA_PATH)] == [503, 500, 200]


def test_persistent_5xx_gives_up_naming_url_and_history(api, settings):
    api.inject(DATA_PATH, Fault.http(500), times=99)
    with client(api, settings) as c, pytest.raises(SourceError) as err:
        c.data("TAB6471", SEL)
    msg = str(err.value)
    assert "SCB-tabell TAB6471" in msg and f"{api.scb_url}/tables/TAB6471/data" in msg
    assert "gav upp efter 4 försök" in msg and "HTTP 500" in msg
    assert len(api.requests(DATA_PATH)) == settings.http_max_tries


def test_slow_response_times_out_and_is_retried(api, settings):
    settings = settings.model_copy(update={"http_timeout": 0.3})
    api.inject(DATA_PATH, Fault.slow(1.0), times=1)
    with client(api, settings) as c:
        ds = c.data("TAB6471", SEL)
    assert ds.cells == 24 and len(api.requests(DATA_PATH)) == 2


def test_always_slow_fails_with_timeout_message(api, settings):
    settings = settings.model_copy(update={"http_timeout": 0.2, "http_max_tries": 2})
    api.inject(DATA_PATH, Fault.slow(0.6), times=2)
    with client(api, settings) as c, pytest.raises(SourceError, match="tidsgräns överskriden"):
        c.data("TAB6471", SEL)


def test_connection_cut_mid_body_is_retried(api, settings):
    api.inject(DATA_PATH, Fault.cut(), times=1)
    with client(api, settings) as c:
        ds = c.data("TAB6471", SEL)
    assert ds.cells == 24 and len(api.requests(DATA_PATH)) == 2


@pytest.mark.parametrize(
    "fault, message",
    [
        (Fault.truncate(), "inte giltig JSON, troligen avkortat"),
        (Fault.drop_values(3), "21 värden men dimensionerna ger 24"),
        (Fault.drop_dimension("Kon"), "dimensionen Kon saknas i svaret"),
        (Fault.cell_limit(403), "HTTP 403: Too many cells selected"),
        (Fault.cell_limit(400), "HTTP 400: Too many cells selected"),
    ],
)
def test_partial_answers_fail_naming_table_and_request(api, settings, fault, message):
    api.inject(DATA_PATH, fault)
    with client(api, settings) as c, pytest.raises(SourceError) as err:
        c.data("TAB6471", SEL)
    msg = str(err.value)
    assert message in msg
    assert "SCB-tabell TAB6471" in msg and "POST" in msg and "Region=01,03" in msg


def test_server_cell_limit_lower_than_config_fails_loudly(api, settings):
    with client(api, settings) as c:
        c.config()
        api.scb.config["maxDataCells"] = 10  # the server changed its mind after /config
        with pytest.raises(SourceError, match="Too many cells selected.*fler celler än tjänsten tillåter"):
            c.data("TAB6471", SEL)


def test_cache_replays_offline_byte_for_byte(settings):
    with serve(DATA) as api:
        api.scb.config["maxDataCells"] = 10  # several parts, each cached
        with PxWebClient(api.scb_url, settings=settings) as c:
            online = c.data("TAB6471", SEL)
        url, sent = api.scb_url, {r.sha256 for r in api.requests("/scb/")}
    # The server is gone: only the cache can answer now.
    with PxWebClient(url, settings=settings, offline=True) as c:
        offline = c.data("TAB6471", SEL)
        assert c.http.requests_sent == 0
        with pytest.raises(SourceError, match="finns inte i cachen"):
            c.data("TAB6471", {**SEL, "Alder": "10-19"})
    assert offline.frame.equals(online.frame)
    bodies = list((settings.cache_dir / "scb").rglob("*.body"))
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in bodies} == sent


def test_damaged_cache_file_is_refused(api, settings):
    with client(api, settings) as c:
        c.config()
    body = next((settings.cache_dir / "scb").rglob("*.body"))
    body.write_bytes(body.read_bytes()[:-1])
    with client(api, settings, offline=True) as c, pytest.raises(SourceError, match="är skadad"):
        c.config()


# ---- regressions: faults found against an independently written server ----------------
AREAS = {"Region": "*", "ContentsCode": "000001AA", "Tid": ["2022"], "Kon": "1+2"}


def test_a_trickling_body_is_cut_at_the_total_deadline_and_retried(api, settings):
    # Every read is quick (a piece every 0.1 s), the whole answer takes 3 s: the timeout of
    # 0.5 s is a deadline for the call, not for each read.
    settings = settings.model_copy(update={"http_timeout": 0.5})
    api.inject(DATA_PATH, Fault.trickle(3.0, pieces=30), times=1)
    with client(api, settings) as c:
        ds = c.data("TAB6471", SEL)
    assert ds.cells == 24 and len(api.requests(DATA_PATH)) == 2


def test_an_always_trickling_server_fails_naming_the_deadline(api, settings):
    settings = settings.model_copy(update={"http_timeout": 0.3, "http_max_tries": 2})
    api.inject(DATA_PATH, Fault.trickle(2.0, pieces=20), times=2)
    with client(api, settings) as c, pytest.raises(SourceError, match="tidsgräns överskriden.*0.3 s"):
        c.data("TAB6471", SEL)


def test_a_wrong_area_code_with_the_right_count_is_refused(api, settings):
    api.inject("/tables/TAB0001/data", Fault.rename_code("Region", "0114R006", "0114R999"))
    with client(api, settings) as c, pytest.raises(SourceError, match="Region saknar 0114R006.*0114R999"):
        c.data("TAB0001", AREAS, {"Region": "vs_RegSO2020"})


@pytest.mark.slow
def test_retry_after_on_503_is_honoured(api, settings):
    api.inject(DATA_PATH, Fault.http(503, retry_after=1))
    with client(api, settings) as c:
        assert c.data("TAB6471", SEL).cells == 24
    hits = api.requests(DATA_PATH)
    assert [r.status for r in hits] == [503, 200] and hits[1].at - hits[0].at >= 0.95


def test_an_html_page_is_not_data_and_is_not_cached(api, settings):
    api.inject(DATA_PATH, Fault.html())
    with client(api, settings) as c, pytest.raises(SourceError) as err:
        c.data("TAB6471", SEL)
    msg = str(err.value)
    assert "HTML-sida, inte data" in msg and "avkortat" not in msg and "SCB-tabell TAB6471" in msg
    assert len(api.requests(DATA_PATH)) == 1  # not retried
    assert not [p for p in (settings.cache_dir / "scb").rglob("*.body") if b"<html" in p.read_bytes()]
    with client(api, settings, offline=True) as c, pytest.raises(SourceError, match="finns inte i cachen"):
        c.data("TAB6471", SEL)


@pytest.mark.slow
def test_the_rate_limit_counts_from_when_the_answer_arrives(api, settings):
    # A strict server that counts a call when it handles it; the first call takes 0.3 s.
    api.scb.config.update(maxCallsPerTimeWindow=3, timeWindow=0.5)
    api.scb.rate_window_factor = 1.0
    api.inject("/scb/api/v2/config", Fault.delay(0.3))
    with client(api, settings) as c:
        c.tables(page_size=4)  # /config + 5 pages
    assert api.scb.rate_limited == 0 and len(api.requests("/scb/")) == 6


def test_the_rate_limit_keeps_a_margin(api, settings):
    # A server whose window is 5 % longer than it says (coarse clock, its own latency).
    api.scb.config.update(maxCallsPerTimeWindow=3, timeWindow=0.5)
    api.scb.rate_window_factor = 1.05
    with client(api, settings) as c:
        c.tables(page_size=4)
    assert api.scb.rate_limited == 0 and len(api.requests("/scb/")) == 6
