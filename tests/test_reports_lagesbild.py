"""Reports ready for a briefing: vector charts with Swedish numbers on every axis, time
axes that end with the data, a one-page summary first, the method in an appendix, and no
CLI hints, internal paths or connection errors in the text."""

import base64
import re

import pytest
from reports_helpers import no_wfs  # noqa: F401 (autouse fixture)

from utanforskap import reports
from utanforskap.reports import figures

IMG = re.compile(r'src="data:(image/[a-z+]+);base64,([^"]+)"')
SVG_TEXT = re.compile(r"<text\b[^>]*>(.*?)</text>", re.S)


def charts(html: str) -> list[bytes]:
    found = IMG.findall(html)
    assert found, "rapporten ska ha diagram"
    assert {kind for kind, _ in found} == {"image/svg+xml"}, "diagram och kartor ska vara vektorgrafik (SVG)"
    return [base64.b64decode(b) for _, b in found]


def svg_texts(svg: bytes) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t).strip() for t in SVG_TEXT.findall(svg.decode("utf-8"))]


@pytest.fixture(scope="module")
def rendered(result):
    return {
        (kind, code): reports.render(kind, code, fmt="html", result=result).decode("utf-8")
        for kind, code in (("riket", None), ("lan", "01"), ("kommun", "0127"), ("kommun", "0380"), ("omrade", "0180R024"))
    }


@pytest.mark.slow
def test_every_chart_is_svg_with_swedish_axis_labels(rendered):
    n_numeric = 0
    for key, html in rendered.items():
        for svg in charts(html):
            texts = svg_texts(svg)
            assert texts, f"{key}: SVG utan text (text ska vara text, inte kurvor)"
            for t in texts:
                assert not re.search(r"\d\.\d", t), f"{key}: decimalpunkt i diagramtext {t!r}"
                if re.fullmatch(r"[−\d\u202f,]+", t):
                    n_numeric += 1
    assert n_numeric > 50  # the axes were found and checked


@pytest.mark.slow
def test_report_text_has_no_cli_hints_paths_or_connection_errors(rendered):
    for key, html in rendered.items():
        text = IMG.sub("", html)
        for bad in ("--handelser", "methods/builtin", ".toml", "svarade inte", "nätanslutning", "inga data ännu", "WFS"):
            assert bad not in text, f"{key}: {bad!r} i rapporttexten"


@pytest.mark.slow
def test_national_report_starts_with_a_summary_and_ends_with_the_method(rendered):
    html = rendered[("riket", None)]
    h2 = re.findall(r'<h2 id="([^"]+)"', html)
    assert h2[0] == "sammandrag" and h2[-1] == "bilaga"
    appendix = html[html.index('id="bilaga"'):]
    assert "Metodens parametrar och deras proveniens" in appendix
    assert "Metodens parametrar och deras proveniens" not in html[: html.index('id="bilaga"')]
    summary = html[html.index('id="sammandrag"'): html.index('id="karta"')]
    assert "Flest listade områden har" in summary and "proxy" in summary


def test_time_chart_ends_with_the_data():
    from types import SimpleNamespace

    ev = [SimpleNamespace(ar=2021, kort="inom", osaker=False), SimpleNamespace(ar=2025, kort="efter", osaker=False)]
    svg = figures.time_chart([2019, 2020, 2021, 2022], [("a", [1.5, 2.25, 2.0, 1.75], "#000000", "-", "o")], "T", "per 1 000", ev, "Källa: test.")
    texts = svg_texts(svg)
    assert "2022" in texts and "2023" not in texts and "inga data ännu" not in texts
    assert figures.shown_events([2019, 2022], ev) == ev[:1]
    assert any(t in texts for t in ("0,5", "1,5", "2,5"))


def test_swedish_tick():
    assert figures.swedish_tick(0.5) == "0,5" and figures.swedish_tick(12500) == "12\u202f500"
    assert figures.swedish_tick(-2.0) == "\u22122" and figures.swedish_tick(0.0) == "0" and figures.swedish_tick(2.5e-5) == "0"


@pytest.mark.slow
def test_kommun_map_without_area_boundaries_shows_the_kommun_not_the_lan(result):
    """Botkyrka (no RegSO polygons offline) is drawn at its own extent: the map's frame is
    a little larger than the kommun, far smaller than Stockholms län."""
    from utanforskap.geography import shapes

    html = reports.render("kommun", "0127", fmt="html", result=result).decode("utf-8")
    assert "med grannkommunerna" in html and "Botkyrka i sitt län" not in html
    k = shapes.kommun_polygons()
    own = k[k["kommun_kod"] == "0127"].total_bounds
    lan = k[k["kommun_kod"].str[:2] == "01"].total_bounds
    x0, y0, x1, y1 = frame = maps_frame(own)
    assert (x1 - x0) < 0.5 * (lan[2] - lan[0]) and x0 <= own[0] and x1 >= own[2], frame


def maps_frame(bounds):
    from utanforskap.reports import maps

    return maps._padded(bounds, 0.12)
