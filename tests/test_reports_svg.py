"""Charts written as SVG directly (reports.svg) keep matplotlib's ticks and hatches, and the
PDF draws their text a line at a time without losing any of it (reports.pdf)."""

import base64
import io
import re

import pytest

from utanforskap.reports import figures, svg


@pytest.mark.parametrize(("hi", "length", "per_tick"), [(4.5, 310.9, 25.5), (92.0, 310.9, 25.5), (3.9, 151.2, 17.0), (13.8, 57.6, 12.0)])
def test_ticks_are_where_matplotlib_puts_them(hi, length, per_tick):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4), dpi=72)
    ax = fig.add_axes([0, 0, length / (6.4 * 72), per_tick * 4 / (4 * 72)])
    ax.set_xlim(0, hi)
    ax.tick_params(axis="x", labelsize=per_tick / 3)
    expected = [float(t) for t in ax.get_xticks() if 0 <= t <= hi]
    assert svg.nice_ticks(0.0, hi, length, per_tick) == pytest.approx(expected)


def test_bar_chart_has_its_bars_hatches_values_and_swedish_ticks():
    chart = figures.horizontal_bars(
        ["Bidragsberoende", "Trångboddhet"],
        [("Listade", [3.21, None], "#800026", ""), ("Övriga", [1.09, 0.5], "#5f6b73", "////")],
        "Titel", "kvot", "Källa: test.", reference_line=1.0, reference_label="riket", decimals=2,
    ).decode("utf-8")
    texts = [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text\b[^>]*>(.*?)</text>", chart)]
    assert {"3,21", "saknas", "1,09", "0,50", "riket", "Bidragsberoende", "Listade", "Övriga", "Källa: test."} <= set(texts)
    assert {"0", "1", "2", "3"} <= set(texts), "ticks in Swedish at matplotlib's positions"
    assert chart.count("<pattern") == 1 and 'fill="url(#' in chart  # the hatched series, one pattern
    assert len(re.findall(r'<rect [^>]*fill="#800026"', chart)) == 2  # one bar (the missing value has none) and the legend key


@pytest.mark.slow
def test_pdf_draws_svg_text_a_line_at_a_time_and_keeps_all_text():
    import weasyprint.svg
    from pypdf import PdfReader

    from utanforskap.reports.pdf import html_to_pdf

    image = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200pt" height="60pt" viewBox="0 0 200 60">'
        '<text x="100" y="20" font-size="9" text-anchor="middle">Anmälda brott per 1 000</text>'
        '<text x="10" y="45" dx="0 1 1 1" font-size="9">Per bokstav</text></svg>'
    )
    uri = "data:image/svg+xml;base64," + base64.b64encode(image.encode("utf-8")).decode("ascii")
    pdf = html_to_pdf(f'<html><body><img src="{uri}"></body></html>')
    assert getattr(weasyprint.svg.TAGS["text"], "_utanforskap_lines", False), "the line-at-a-time drawing is installed"
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Anmälda brott per 1 000" in text
    assert "Per" in text.replace(" ", "")  # per-letter text (dx) still drawn, by WeasyPrint's own code
