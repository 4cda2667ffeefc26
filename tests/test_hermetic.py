"""Issue 9: tests are hermetic; before, two synthetic tests created ~/.cache/utanforskap."""

import os
from pathlib import Path

import conftest
import pytest
from cli_helpers import cli

from utanforskap.microdata import synthetic


def test_caches_point_outside_home(hermetic_cache):
    """(Comparing ~/.cache/utanforskap before and after is not reliable on a machine where other
    checkouts run their tests at the same time; the paths are what this suite controls.)"""
    assert Path(os.environ["XDG_CACHE_HOME"]) == hermetic_cache
    assert synthetic.cache_root() == hermetic_cache / "utanforskap"
    assert not synthetic.cache_root().is_relative_to(conftest.HOME / ".cache")
    from utanforskap.settings import load

    s = load()
    assert s.cache_dir.is_relative_to(hermetic_cache) and s.store_dir.is_relative_to(hermetic_cache)


@pytest.mark.slow
def test_a_command_started_by_a_test_writes_no_cache_in_home(tmp_path, hermetic_cache):
    code = "from utanforskap.microdata import synthetic; print(synthetic.cache_root())"
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert Path(out) == hermetic_cache / "utanforskap"
    assert cli("metoder").returncode == 0
