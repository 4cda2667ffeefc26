from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"
HOME = Path.home()


@pytest.fixture(scope="session", autouse=True)
def hermetic_cache(tmp_path_factory):
    """Tests never write to the user's home: caches (XDG_CACHE_HOME, the HTTP cache and the
    default store folder) point into this session's temporary folder, for this process and
    every command it starts."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(cache))
        mp.setenv("UTANFORSKAP_CACHE_DIR", str(cache / "http"))
        mp.setenv("UTANFORSKAP_STORE_DIR", str(cache / "lager"))
        yield cache


@pytest.fixture
def test_data() -> Path:
    return TEST_DATA
