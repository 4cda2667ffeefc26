"""Shared pieces of the fake API: injected faults and replies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class Fault:
    """One misbehaviour for the next request whose path contains the injected text."""

    kind: str
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    count: int = 1
    name: str = ""
    old: str = ""
    new: str = ""

    @classmethod
    def http(cls, status: int, retry_after: float | str | None = None) -> Fault:
        return cls("status", status=status, retry_after=None if retry_after is None else str(retry_after))

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls("slow", seconds=seconds)

    @classmethod
    def cut(cls) -> Fault:
        """Promise the whole body, send half, close: the connection breaks mid-body."""
        return cls("cut")

    @classmethod
    def truncate(cls) -> Fault:
        """Send half the body with a matching Content-Length: a malformed, truncated JSON."""
        return cls("truncate")

    @classmethod
    def cell_limit(cls, status: int = 403) -> Fault:
        return cls("cell_limit", status=status)

    @classmethod
    def drop_values(cls, count: int = 1) -> Fault:
        return cls("drop_values", count=count)

    @classmethod
    def drop_dimension(cls, name: str) -> Fault:
        return cls("drop_dimension", name=name)

    @classmethod
    def bad_count(cls, count: int = 1) -> Fault:
        """Kolada: 'count' says `count` more rows than the pages hold."""
        return cls("bad_count", count=count)


    @classmethod
    def trickle(cls, seconds: float, pieces: int = 20) -> Fault:
        """Send the body in `pieces` spread over `seconds`: every read is quick, the whole call is not."""
        return cls("trickle", seconds=seconds, count=pieces)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Think `seconds` before handling the request (the rate limit counts it when handled)."""
        return cls("delay", seconds=seconds)

    @classmethod
    def html(cls) -> Fault:
        """HTTP 200 with an HTML page (a portal or maintenance page) instead of data."""
        return cls("html", status=200)

    @classmethod
    def rename_code(cls, dimension: str, old: str, new: str) -> Fault:
        """SCB data: the category `old` of `dimension` comes back as `new` (same number of codes)."""
        return cls("rename_code", name=dimension, old=old, new=new)

    @classmethod
    def skip_page(cls) -> Fault:
        """Kolada: next_url jumps over a page, and 'count' is the page's length."""
        return cls("skip_page")


HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Underh\xc3\xa5ll</title></head>"
             b"<body><h1>Tj\xc3\xa4nsten \xc3\xa4r tillf\xc3\xa4lligt otillg\xc3\xa4nglig</h1></body></html>\n")


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def problem(status: int, title: str, detail: str | None = None) -> Reply:
    doc = {"type": "Parameter error", "title": title, "status": status}
    if detail:
        doc["detail"] = detail
    return Reply(status, json.dumps(doc).encode(), "application/problem+json; charset=utf-8")



def json_reply(doc: object) -> Reply:
    return Reply(200, json.dumps(doc, ensure_ascii=False).encode("utf-8"))
