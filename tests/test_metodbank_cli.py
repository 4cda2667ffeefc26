"""`utanforskap anvandare` and `utanforskap insatser` run as a user would (subprocess, SQLite)."""

from __future__ import annotations

import json

import pytest
from cli_helpers import cli

pytestmark = pytest.mark.slow  # a dozen subprocesses, each importing the program


def test_accounts_and_measures_from_the_command_line(tmp_path):
    env = {"UTANFORSKAP_DATABAS": f"sqlite:///{tmp_path / 'mb.sqlite'}"}
    r = cli("anvandare", "skapa", "samordnare", "--roll", "granskare", "--losenord", "ett-langt-losenord", env=env)
    assert r.returncode == 0, r.stderr
    r = cli("anvandare", "skapa", "red", "--roll", "redaktor", "--losenord", "ett-langt-losenord", env=env)
    assert r.returncode == 2 and "Fel:" in r.stderr and "ange --kommun" in r.stderr and "Traceback" not in r.stderr
    r = cli("anvandare", "skapa", "red", "--roll", "redaktor", "--kommun", "0180", "--losenord", "ett-langt-losenord", env=env)
    assert r.returncode == 0
    r = cli("anvandare", "token", "red", env=env)
    assert r.returncode == 0 and "mb_" in r.stdout
    r = cli("anvandare", "sparra", "red", env=env)
    assert r.returncode == 0 and "spärrad" in r.stdout
    r = cli("anvandare", "lista", env=env)
    assert "samordnare" in r.stdout and "granskare" in r.stdout and "ja" in r.stdout
    r = cli("anvandare", "aterkalla", "1", env=env)
    assert r.returncode == 0
    assert "återkallad" in cli("anvandare", "lista", "--token", env=env).stdout or r.returncode == 0

    mall = tmp_path / "mall.xlsx"
    assert cli("insatser", "mall", "--ut", mall, env=env).returncode == 0 and mall.stat().st_size > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("namn,kommuner,kostnad_kr\nBra,0180,100\nDålig,0180,-1\n", encoding="utf-8")
    r = cli("insatser", "importera", bad, env=env)
    assert r.returncode == 2 and "rad 3" in r.stderr and "inget är importerat" in r.stderr
    good = tmp_path / "good.csv"
    good.write_text("namn;kommuner;sektorer\nLäxhjälp i Rinkeby;0180;skola\n", encoding="utf-8")
    r = cli("insatser", "importera", good, "--publicera", env=env)
    assert r.returncode == 0 and "Importerade 1" in r.stdout
    out = tmp_path / "ut.json"
    r = cli("insatser", "exportera", "--ut", out, env=env)
    assert r.returncode == 0 and "18 publicerade" in r.stdout
    names = [i["namn"] for i in json.loads(out.read_text())["insatser"]]
    assert "Läxhjälp i Rinkeby" in names and "Dålig" not in names and len(names) == 18
