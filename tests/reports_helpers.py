"""Fixtures shared by the report tests: the default map, and no WFS requests."""

import pytest

from utanforskap.results import karta


@pytest.fixture(autouse=True)
def no_wfs(monkeypatch):
    # Deterministic geometry: the tests never ask SCB's WFS (offline here anyway).
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "")


@pytest.fixture(scope="module")
def result():
    return karta.compute()
