"""Start-up: the command line imports only what a command uses (issue 16).

Each check runs in a fresh interpreter and looks at sys.modules afterwards; no timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SVI = ROOT / "tests" / "data" / "conformance" / "SVI_2022_US_county.csv"
HEAVY = ["geopandas", "matplotlib", "weasyprint", "fastapi", "pandas", "ibis", "httpx"]


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys\nprint('MODULES=' + json.dumps(sorted(sys.modules)))\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True, cwd=ROOT).stdout
    line = next(x for x in out.splitlines() if x.startswith("MODULES="))
    return {m.split(".")[0] for m in json.loads(line.removeprefix("MODULES="))}


def test_importing_the_cli_with_every_command_registered_loads_nothing_heavy():
    loaded = _loaded_after("import utanforskap.cli as c\nc._register()")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.slow
def test_berakna_runs_without_the_heavy_libraries(tmp_path):
    out = tmp_path / "svi.csv"
    code = (
        "import sys\nfrom utanforskap.cli import main\n"
        f"sys.argv = ['utanforskap', 'berakna', 'cdc-svi-2022', '--data', {str(SVI)!r}, '--ut', {str(out)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
    )
    loaded = _loaded_after(code)
    assert out.is_file() and out.stat().st_size > 0
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
