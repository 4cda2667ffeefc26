"""`utanforskap rapport` run as a user would, in a subprocess."""

import pytest
from cli_helpers import cli

ENV = {"UTANFORSKAP_GEOMETRI_WFS": ""}


@pytest.mark.slow
def test_kommun_pdf_is_written_with_a_recognisable_name(tmp_path):
    r = cli("rapport", "--kommun", "0305", "--format", "pdf", "--ut", tmp_path, env=ENV)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "kommun-0305-habo.pdf"
    assert path.read_bytes().startswith(b"%PDF")
    assert "Skrev" in r.stdout and "kommun-0305-habo.pdf" in r.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["kommun-0305-habo.pdf"]  # nothing half-written beside it


@pytest.mark.slow
def test_area_html_and_own_events_file(tmp_path):
    events = tmp_path / "handelser.toml"
    events.write_text(
        '[[handelse]]\nid = "x"\ndatum = 2021-03-01\nprecision = "manad"\ntyp = "infort"\n'
        'titel = "Områdesprogram startar"\nkort = "Områdesprogram"\nkalla = "Kommunens beslut"\n',
        encoding="utf-8",
    )
    r = cli("rapport", "--kommun", "0380", "--ut", tmp_path, "--handelser", events, env=ENV)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "kommun-0380-uppsala.html").read_text(encoding="utf-8")
    assert "Områdesprogram startar" in html and "mars 2021" in html


@pytest.mark.slow
def test_errors_are_one_swedish_line_and_exit_2(tmp_path):
    r = cli("rapport", "--kommun", "9999", "--ut", tmp_path, env=ENV)
    assert r.returncode == 2
    assert "Fel: okänd kommunkod 9999; ange en av Sveriges 290 kommunkoder, t.ex. 0180 för Stockholm" in r.stderr
    r = cli("rapport", "--riket", "--omrade", "0180R001", "--ut", tmp_path, env=ENV)
    assert r.returncode == 2 and "välj precis en av --riket" in r.stderr
    bad = tmp_path / "fel.toml"
    bad.write_text('[[handelse]]\nid = "x"\ndatum = "2021-02-30"\n', encoding="utf-8")
    r = cli("rapport", "--riket", "--ut", tmp_path, "--handelser", bad, env=ENV)
    assert r.returncode == 2 and "fel.toml: handelse[1] (x).datum: '2021-02-30' är inget datum" in r.stderr
    assert not list(tmp_path.glob("*.html"))
