from pathlib import Path

import pytest

# Fixtures every module may use without importing them (importing a fixture by name shadows it).
from fakeapi.fixtures import api, settings  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"
HOME = Path.home()


@pytest.fixture(scope="session", autouse=True)
def hermetic_cache(tmp_path_factory):
    """Tests never write to the user's home: caches (XDG_CACHE_HOME, the HTTP cache, the
    default store folder) and the metodbank's default database (XDG_DATA_HOME) point into
    this session's temporary folder, for this process and every command it starts."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(cache))
        mp.setenv("UTANFORSKAP_CACHE_DIR", str(cache / "http"))
        mp.setenv("UTANFORSKAP_STORE_DIR", str(cache / "lager"))
        mp.setenv("XDG_DATA_HOME", str(cache / "data"))  # the metodbank's default SQLite file
        yield cache


@pytest.fixture
def test_data() -> Path:
    return TEST_DATA


@pytest.fixture(scope="session")
def result():
    """The default map (bundled open data, se-oppna-data-2022, 2022), computed once per run.
    MapResult is frozen, so tests cannot change it for each other."""
    from utanforskap.results import karta

    return karta.compute()
