"""The län report (`utanforskap rapport --lan KOD`): the län's kommuner, its factors against
riket as sums over its areas, its listed areas; HTML and PDF; an unknown code is refused."""

from __future__ import annotations

import re

import polars as pl
import pytest
from reports_helpers import no_wfs  # noqa: F401 (autouse fixture)

from tests.cli_helpers import cli
from utanforskap import reports
from utanforskap.errors import InputError
from utanforskap.reports import api


@pytest.fixture(scope="module")
def stockholm(result):
    return reports.render("lan", "1", fmt="html", result=result).decode("utf-8")


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", html)))


def test_lan_report_lists_its_kommuner_and_listed_areas(stockholm, result):
    page = text(stockholm)
    assert "Lägesbild: Stockholms län" in page
    lan = result.areas.filter(pl.col("lan_kod") == "01")
    listed = lan.filter(pl.col("klass").is_not_null())
    assert f"har {listed.height} områden med stor sammanvägd problematik" in page
    kommuner = lan["kommun_namn"].unique().to_list()
    body = stockholm[stockholm.index('id="kommuner"'): stockholm.index('id="faktorer"')]
    assert body.count("<tr><th scope=\"row\">") == len(kommuner) == 26
    areas = stockholm[stockholm.index('id="omraden"'): stockholm.index('id="data"')]
    assert areas.count("<tr><th scope=\"row\">") == listed.height
    assert all(name in areas for name in listed["regso_namn"].to_list())


def test_lan_factor_values_are_sums_over_its_areas(stockholm, result):
    from utanforskap.results.karta import factor_details

    spec = next(s for s in factor_details(result) if s.measured and s.aggregable and s.andel)
    prep = api.prepared(result)
    lan = prep.areas.filter(pl.col("lan_kod") == "01").drop_nulls([spec.taljare, spec.namnare])
    expected = spec.format(lan[spec.taljare].sum() / lan[spec.namnare].sum() * spec.skala)
    row = re.search(rf"<tr><th scope=\"row\">{re.escape(spec.namn)}</th>.*?</tr>", stockholm, re.S).group(0)
    assert f'<td class="tal">{expected}</td>' in row, (expected, row)


def test_lan_file_name_and_unknown_code(result):
    assert api.file_name("lan", "3", "pdf", result) == "lan-03-uppsala-lan.pdf"
    with pytest.raises(InputError, match="okänd länskod 99"):
        reports.render("lan", "99", fmt="html", result=result)


@pytest.mark.slow
def test_rapport_lan_writes_a_pdf(tmp_path):
    r = cli("rapport", "--lan", "03", "--format", "pdf", "--ut", tmp_path, env={"UTANFORSKAP_GEOMETRI_WFS": ""})
    assert r.returncode == 0, r.stderr
    pdf = (tmp_path / "lan-03-uppsala-lan.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-" and len(pdf) > 20_000
    bad = cli("rapport", "--lan", "99", "--ut", tmp_path, env={"UTANFORSKAP_GEOMETRI_WFS": ""})
    assert bad.returncode == 2 and "okänd länskod 99" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_lan_page_links_a_lan_report_pdf():
    import httpx

    from tests.web_helpers import live_server

    with httpx.Client(base_url=live_server("paket").url, timeout=180) as c:
        page = c.get("/lan/03").text
        assert 'href="/ladda-ner/rapport/lan/03.pdf"' in page
        r = c.get("/ladda-ner/rapport/lan/03.pdf")
        assert r.status_code == 200 and r.content[:5] == b"%PDF-" and r.headers["content-type"] == "application/pdf"
        assert c.get("/ladda-ner/rapport/lan/99.pdf").status_code == 404
