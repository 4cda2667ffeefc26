from pathlib import Path

import pytest

# Fixtures every module may use without importing them (importing a fixture by name shadows it).
from fakeapi.fixtures import api, settings  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"


@pytest.fixture
def test_data() -> Path:
    return TEST_DATA


@pytest.fixture(scope="session")
def result():
    """The default map (bundled open data, se-oppna-data-2022, 2022), computed once per run.
    MapResult is frozen, so tests cannot change it for each other."""
    from utanforskap.results import karta

    return karta.compute()
