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


def _loaded_after(code: str, full: bool = False) -> set[str]:
    """The top-level packages (every module when `full`) loaded after running `code`."""
    probe = code + "\nimport json, sys\nprint('MODULES=' + json.dumps(sorted(sys.modules)))\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True, cwd=ROOT).stdout
    line = next(x for x in out.splitlines() if x.startswith("MODULES="))
    modules = set(json.loads(line.removeprefix("MODULES=")))
    return modules if full else {m.split(".")[0] for m in modules}


def test_importing_the_cli_with_every_command_registered_loads_nothing_heavy():
    loaded = _loaded_after("import utanforskap.cli as c\nc._register()")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_command_modules_name_every_command_they_register():
    import utanforskap.cli as c

    c._register()
    declared = {name: module for module, names in c.COMMAND_MODULES.items() for name in names}
    commands = {info.name: info.callback.__module__ for info in c.app.registered_commands}
    groups = {info.name: info.typer_instance for info in c.app.registered_groups}
    assert set(declared) == set(commands) | set(groups)
    assert all(declared[name] == module for name, module in commands.items())
    assert all(instance in vars(sys.modules[declared[name]]).values() for name, instance in groups.items())


def test_a_command_imports_only_its_own_module():
    loaded = _loaded_after("import utanforskap.cli as c\nc._register('berakna')", full=True)
    assert "utanforskap.cli.metoder" in loaded
    assert not {"utanforskap.cli.rapport", "utanforskap.cli.webb", "utanforskap.cli.karta"} & loaded


@pytest.mark.slow
def test_berakna_runs_without_the_heavy_libraries(tmp_path):
    out = tmp_path / "svi.csv"
    code = (
        "import sys\nfrom utanforskap.cli import main\n"
        f"sys.argv = ['utanforskap', 'berakna', 'cdc-svi-2022', '--data', {str(SVI)!r}, '--ut', {str(out)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        # no scan of every installed package for pydantic plugins (the project has none)
        "import pydantic.plugin._loader as plugins\nassert plugins._plugins is None, plugins._plugins\n"
        # what the command made is frozen, so shutdown's cyclic collections skip it
        "import gc\nassert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
    )
    modules = _loaded_after(code, full=True)
    loaded = {m.split(".")[0] for m in modules}
    assert out.is_file() and out.stat().st_size > 0
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    # numpy (the engine ranks 3 144 counties with polars) and rich (tables, progress bars,
    # help and errors; berakna prints one plain line) are not loaded either
    assert not {"numpy", "rich", "typer.rich_utils"} & modules, sorted({"numpy", "rich", "typer.rich_utils"} & modules)


def test_the_consoles_are_made_on_first_use_and_then_kept():
    code = (
        "import sys\nimport utanforskap.cli as c\nc._register('berakna')\n"
        "assert 'rich.console' not in sys.modules\n"
        "from utanforskap.cli import console, err_console\n"
        "from rich.console import Console\n"
        "assert isinstance(console, Console) and isinstance(err_console, Console)\n"
        "assert err_console.stderr and not console.stderr and c.console is console\n"
    )
    assert "rich.console" in _loaded_after(code, full=True)


def test_a_failing_command_also_leaves_its_objects_frozen_for_shutdown(tmp_path):
    code = (
        "import gc, sys\nfrom utanforskap.cli import main\n"
        f"sys.argv = ['utanforskap', 'berakna', 'cdc-svi-2022', '--data', {str(tmp_path / 'saknas.csv')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 2, e.code\n"
        "assert gc.get_freeze_count() > 0\n"
    )
    assert "utanforskap.cli.metoder" in _loaded_after(code, full=True)


@pytest.mark.slow
def test_a_command_that_used_duckdb_is_not_frozen_and_exits_without_warnings(tmp_path):
    """DuckDB's bindings warn on stderr about their objects still alive at exit; the last
    collection frees them, so after DuckDB nothing is frozen and stderr stays one line."""
    from utanforskap.microdata import synthetic as sy

    persons = sy.write(sy.draw(2_000, 3), tmp_path / "personer.parquet")
    code = (
        "import gc, sys\nfrom utanforskap.cli import main\n"
        f"sys.argv = ['utanforskap', 'aggregera', '--mikrodata', {str(persons)!r}, '--niva', 'regso', '--ut', {str(tmp_path / 'ut.csv')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "assert 'duckdb' in sys.modules and gc.get_freeze_count() == 0\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "leaked" not in res.stderr, res.stderr
