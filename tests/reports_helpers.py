"""Fixtures shared by the report tests: no WFS requests (the default map is conftest's `result`)."""

import pytest


@pytest.fixture(autouse=True)
def no_wfs(monkeypatch):
    # Deterministic geometry: the tests never ask SCB's WFS (offline here anyway).
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "")
