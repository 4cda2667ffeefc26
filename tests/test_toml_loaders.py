"""Issue 8: one TOML loader, one strict base, one table of Swedish messages.

Every file the project reads is tried with bad content; every error is one Swedish line
naming the file, and never pydantic's (or tomllib's) English or a documentation URL.
"""

from __future__ import annotations

import re

import pytest

from utanforskap import catalogue, tomlmodel, validation
from utanforskap.errors import UtanforskapError
from utanforskap.methods import loader
from utanforskap.microdata import synthetic
from utanforskap.reports import events
from utanforskap.results import calibrate
from utanforskap.sources import scb_export

ENGLISH = re.compile(
    r"Input should|Field required|Extra inputs|errors\.pydantic|https?://|validation error|Invalid |"
    r"at line|Expected|Value error|type=|Illegal|Unclosed|Unescaped|maximum recursion|codec|decode",
)


LOADERS = {
    "metod": lambda p: loader.load(p),
    "kalibrering": lambda p: calibrate.load_spec(p),
    "handelser": lambda p: events.load(p),
    "katalog": lambda p: catalogue.load(p),
    "scb_tabell": lambda p: scb_export.load_mapping(tomlmodel.read_toml_text(p), str(p)),
    "syntetisk_modell": lambda p: tomlmodel.load_toml_file(p, synthetic.SyntheticModel),
}

BAD = {
    "trasig": b'titel = "a\n[x\n',
    "inte-utf8": "titel = 'Järfälla'\n".encode("latin-1"),
    "djup": b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "okand-nyckel": b'stavfel = 1\n',
    "fel-typ": b'id = 1\ntitel = 2\nmetod = 3\nar = "tjugo"\nmal = 4\nversion = 5\nhandelse = 6\ntabell = 7\nvariabel = 8\n',
    "tom": b"",
    "lista-i-stallet": b"[[x]]\ny = 1\n",
}


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("name", list(LOADERS))
def test_every_loader_says_what_is_wrong_in_swedish(tmp_path, name, bad):
    if bad == "tom" and name in ("handelser", "katalog"):
        pytest.skip("an empty file is a valid empty list of events or variables")
    path = tmp_path / f"{name}.toml"
    path.write_bytes(BAD[bad])
    with pytest.raises(UtanforskapError) as err:
        LOADERS[name](path)
    message = str(err.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message.strip(), message
    assert not ENGLISH.search(message), message


def test_broken_toml_gives_line_and_column_in_swedish(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('a = 1\nb = "oavslutad\n', encoding="utf-8")
    with pytest.raises(UtanforskapError, match=r"x.toml: ogiltig TOML på rad 2, kolumn \d+"):
        tomlmodel.load_toml_file(path, tomlmodel.Strict)


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "x.toml"
    path.write_bytes(b"a = 1\nb = '\xe4'\n")
    with pytest.raises(UtanforskapError, match=r"x.toml: rad 2: filen är inte UTF-8"):
        tomlmodel.load_toml_file(path, tomlmodel.Strict)


def test_one_strict_base_for_every_file_model():
    from utanforskap.methods import model as m

    for cls in (m.Method, m.Parameter, calibrate.Spec, calibrate.Target, catalogue.Catalogue,
                scb_export.TableMap, synthetic.SyntheticModel):
        assert issubclass(cls, tomlmodel.Strict), cls


def test_one_table_of_swedish_messages():
    """The methods loader and the web app use validation's table, not tables of their own."""
    import utanforskap.web.app as web_app

    assert not hasattr(web_app, "_MESSAGES")
    assert set(loader._MESSAGES) == set(validation.TOML_MESSAGES)
    err = {"type": "something_new", "loc": ("a",), "msg": "Something new went wrong", "input": 1}
    assert validation.swedish_message(err) == validation.FALLBACK


@pytest.mark.slow
def test_the_calibration_spec_no_longer_leaks_pydantic(tmp_path):
    """Before: `kalibrera --spec` printed pydantic's whole English report with its URL."""
    from cli_helpers import cli

    path = tmp_path / "spec.toml"
    path.write_text('metod = "x"\nar = "tjugo"\nkalla = "paket"\n[rutnat]\n[mal]\n', encoding="utf-8")
    res = cli("kalibrera", "--spec", path)
    assert res.returncode == 2 and "ar: måste vara ett heltal, inte 'tjugo'" in res.stderr, res.stderr
    assert not ENGLISH.search(res.stderr), res.stderr


@pytest.mark.parametrize("name, value", [("UTANFORSKAP_HTTP_TIMEOUT", "abc"), ("UTANFORSKAP_MIN_ANTAL", "0")])
def test_settings_errors_are_swedish_too(monkeypatch, name, value):
    from utanforskap.settings import load

    monkeypatch.setenv(name, value)
    with pytest.raises(UtanforskapError) as err:
        load()
    assert str(err.value).startswith(f"ogiltig inställning {name}: ") and not ENGLISH.search(str(err.value))
