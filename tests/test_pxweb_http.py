"""Unit tests of the HTTP layer with a fake clock (httpx.MockTransport: no waiting, no server)."""

import datetime as dt
import email.utils

import httpx
import pytest

from utanforskap.errors import SourceError
from utanforskap.sources.http import HttpClient, RetryPolicy, SlidingWindow


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_sliding_window_spaces_calls_with_a_margin():
    clock = Clock()
    window = SlidingWindow(3, 1.0, margin=0.1, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(7):
        window.release(window.acquire())
        times.append(round(clock.now - 1000.0, 6))
    assert times == [0, 0, 0, 1.1, 1.1, 1.1, 2.2]
    # Never more than 3 calls in any window of 1 s.
    assert all(sum(1 for t in times if s <= t < s + 1) <= 3 for s in times)


def test_sliding_window_counts_from_the_answer():
    # SCB's recorded /config: 30 calls per 10 s. Each answer takes 0.5 s to arrive.
    clock = Clock()
    window = SlidingWindow(30, 10.0, margin=0.1, clock=clock, sleep=clock.sleep)
    sent, answered = [], []
    for _ in range(31):
        token = window.acquire()
        sent.append(clock.now)
        clock.now += 0.5
        window.release(token)
        answered.append(clock.now)
    assert sent[30] - answered[0] >= 11.0  # call 31 leaves window + margin after answer 1


def scripted(*replies):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, headers = replies[min(len(seen), len(replies)) - 1]
        return httpx.Response(status, headers=headers, json={"ok": status == 200})

    return httpx.MockTransport(handler), seen


def test_backoff_doubles_up_to_the_cap():
    clock = Clock()
    transport, seen = scripted((500, {}), (502, {}), (503, {}), (200, {}))
    with HttpClient("http://x/api", service="t", transport=transport, sleep=clock.sleep,
                    retry=RetryPolicy(max_tries=5, backoff_base=1.0, backoff_cap=3.0)) as http:
        assert http.get("a", what="t").json("t") == {"ok": True}
        assert clock.slept == [1.0, 2.0, 3.0] and len(seen) == 4


def test_retry_after_as_http_date_holds_every_caller():
    clock = Clock()
    limiter = SlidingWindow(clock=clock, sleep=clock.sleep)
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    transport, seen = scripted((429, {"Retry-After": when}), (200, {}))
    with HttpClient("http://x/api", service="t", transport=transport, limiter=limiter, sleep=clock.sleep) as http:
        http.get("a", what="t")
        assert len(seen) == 2 and 28 <= sum(clock.slept) <= 30.5


def test_retry_after_is_capped():
    clock = Clock()
    limiter = SlidingWindow(clock=clock, sleep=clock.sleep)
    transport, _ = scripted((429, {"Retry-After": "86400"}), (200, {}))
    with HttpClient("http://x/api", service="t", transport=transport, limiter=limiter, sleep=clock.sleep,
                    retry=RetryPolicy(retry_after_cap=60)) as http:
        http.get("a", what="t")
        assert clock.slept == [60]


def test_client_errors_are_not_retried_and_name_the_problem():
    transport, seen = scripted((404, {}),)
    with HttpClient("http://x/api", service="t", transport=transport, sleep=lambda s: None) as http:
        with pytest.raises(SourceError, match=r"tabell X: GET http://x/api/tables/X\?lang=sv: HTTP 404"):
            http.get("tables/X", [("lang", "sv")], what="tabell X")
        assert len(seen) == 1


def test_absolute_links_are_moved_onto_our_base():
    with HttpClient("http://127.0.0.1:5000/kolada/v3", service="t") as http:
        assert http.url("https://api.kolada.se/kolada/v3/data/kpi/N1?page=2") == "http://127.0.0.1:5000/kolada/v3/data/kpi/N1?page=2"
        assert http.url("config") == "http://127.0.0.1:5000/kolada/v3/config"


def test_retry_after_waits_on_the_injected_clock_without_a_limiter():
    clock = Clock()
    transport, seen = scripted((429, {"Retry-After": "30"}), (200, {}))
    with HttpClient("http://x/api", service="t", transport=transport, clock=clock, sleep=clock.sleep) as http:
        http.get("a", what="t")
        assert len(seen) == 2 and clock.slept == [30.0]  # on the fake clock: the test does not wait 30 s
