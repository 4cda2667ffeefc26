"""The command line in Swedish, through the real command: help frame, errors, flags shown
as flags, --version, Swedish numbers, kommun codes without their leading zero."""

import re

import pytest
from cli_helpers import cli

from utanforskap.errors import InputError
from utanforskap.geography.codes import restore_zeros

COMMANDS = ["metoder", "berakna", "konformitet", "karta", "kalibrera", "jamfor", "hamta", "importera",
            "rapport", "aggregera", "syntetisk", "webb", "robusthet", "effekt"]
ENGLISH = re.compile(r"Usage|Options|Commands|Arguments|Show this message|\[default|\[required|Error|Missing|No such|"
                     r"Try '|<str>|<int>|<float>|<bool>|<path>|list\[")


def test_top_help_is_swedish():
    res = cli("--help")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Användning: utanforskap [FLAGGOR] KOMMANDO" in out
    for word in ("Flaggor", "Kommandon", "Visa den här hjälpen och avsluta.", "--version"):
        assert word in out
    assert not ENGLISH.search(out), ENGLISH.search(out)


@pytest.mark.slow
def test_every_command_help_is_swedish_and_flags_show_as_flags():
    for name in COMMANDS:
        res = cli(name, "--help")
        assert res.returncode == 0, (name, res.stderr)
        assert f"Användning: utanforskap {name}" in res.stdout, name
        assert not ENGLISH.search(res.stdout), (name, ENGLISH.search(res.stdout))
    rapport = cli("rapport", "--help").stdout
    riket = next(line for line in rapport.splitlines() if "--riket" in line)
    assert "<" not in riket  # a flag, not `--riket <bool>`
    assert "<heltal>" in rapport and "<sökväg>" in rapport


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("berakna", "x"), "Flaggan '--data' saknas."),
        (("karta", "--nope"), "Flaggan --nope finns inte."),
        (("karta", "--ar", "abc"), "Ogiltigt värde för '--ar': ska vara ett heltal"),
        (("karta", "--ut"), "Flaggan '--ut' behöver ett värde."),
        (("kartx",), "Kommandot 'kartx' finns inte. Menade du 'karta'?"),
        (("karta", "extra"), "Oväntade extra argument: extra"),
        (("berakna", "x", "--out", "y.csv", "--data", "d.csv"), "Flaggan --out finns inte."),  # --ut only
    ],
)
@pytest.mark.slow
def test_usage_errors_are_swedish(args, message):
    res = cli(*args)
    assert res.returncode == 2
    err = " ".join(res.stderr.split())
    assert message in err, err
    assert "─ Fel ─" in res.stderr
    assert "Skriv 'utanforskap" in res.stderr or args == ("karta", "--ut")  # parse errors before the context have no hint
    assert not ENGLISH.search(res.stderr), ENGLISH.search(res.stderr)


def test_version():
    res = cli("--version")
    assert res.returncode == 0 and re.fullmatch(r"utanforskap \d+\.\d+\.\d+\S*\n", res.stdout), res.stdout


@pytest.mark.slow
def test_metoder_visa_prints_swedish_numbers():
    res = cli("metoder", "--visa", "se-oppna-data-2022")
    assert res.returncode == 0, res.stderr
    params = [line for line in res.stdout.splitlines() if " = " in line]
    assert any("= 0,7 gånger" in line for line in params)
    assert any("= 3 flaggor" in line for line in params)
    assert not any(re.search(r"= \d+\.\d", line) for line in params), params
    assert all(re.search(r"\[(officiell|kalibrerad|antagen)", line) for line in params), params  # provenance is shown


def test_restore_zeros():
    assert restore_zeros("127", "kommun") == "0127" and restore_zeros(" 180 ", "kommun") == "0180"
    assert restore_zeros("1", "lan") == "01" and restore_zeros("01", "lan") == "01"
    assert restore_zeros("127R001", "regso") == "0127R001" and restore_zeros("0127R001", "regso") == "0127R001"
    assert restore_zeros("127C1010", "deso") == "0127C1010"
    assert restore_zeros("Botkyrka", "kommun") == "Botkyrka"


@pytest.mark.slow
def test_rapport_accepts_a_kommun_code_without_its_leading_zero(tmp_path):
    res = cli("rapport", "--kommun", "127", "--ut", tmp_path, env={"UTANFORSKAP_GEOMETRI_WFS": ""})
    assert res.returncode == 0, res.stderr
    (written,) = tmp_path.iterdir()
    assert written.name.startswith("kommun-0127-") and "Botkyrka" in written.read_text(encoding="utf-8")


@pytest.mark.slow
def test_konformitet_runs_outside_the_checkout(tmp_path):
    res = cli("konformitet", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "cdc-svi-2022" in res.stdout and "147\u202f768" in res.stdout


def test_konformitet_without_the_files_says_where_to_get_them(monkeypatch):
    from utanforskap.cli import konformitet

    monkeypatch.setitem(konformitet.FILES, "svi", "finns-inte.csv")
    with pytest.raises(InputError, match="följer inte med det installerade paketet.*--svi"):
        konformitet._default("svi")
