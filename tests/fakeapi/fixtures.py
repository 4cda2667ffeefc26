"""pytest fixtures for the fake API; import them into a test module to use them."""

from __future__ import annotations

from pathlib import Path

import pytest

from utanforskap.settings import Settings

from .server import serve

DATA = Path(__file__).resolve().parent.parent / "data" / "api"


@pytest.fixture
def api():
    """A fresh fake SCB + Kolada server on 127.0.0.1 for one test."""
    with serve(DATA) as server:
        yield server


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Fast retries and short timeouts, a cache in the test's own directory."""
    return Settings(
        cache_dir=tmp_path / "cache",
        store_dir=tmp_path / "lager",
        http_timeout=2.0,
        http_max_tries=4,
        http_backoff_base=0.01,
        http_backoff_cap=0.05,
        http_retry_after_cap=5.0,
    )
