"""HTML to PDF with WeasyPrint, set up once per process for many reports.

- One FontConfiguration for every document (WeasyPrint makes a new one per document
  otherwise, some 40 ms each, and the reports use only system fonts).
- SVG text drawn a line at a time. WeasyPrint 70 lays out and draws SVG text one letter
  at a time (a Pango layout per letter), which made the charts' text a quarter of a kommun
  report's PDF time. A `<text>` with one position and no per-letter attributes (as every
  chart here writes it) is laid out once as a whole line; anything else goes to
  WeasyPrint's own code. Installed only for the WeasyPrint version it was written against.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from math import inf

WEASYPRINT_VERSION = "70."  # the release whose svg.text the line-at-a-time drawing follows
PER_LETTER = ("dx", "dy", "rotate", "textLength", "letter-spacing")


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf(font_config=font_config())


@lru_cache(maxsize=1)
def font_config():
    """WeasyPrint's FontConfiguration for every document of this process (and the SVG text drawing)."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    # WeasyPrint warns about CSS it ignores (e.g. screen-only grid details); not the user's concern.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    if weasyprint.__version__.startswith(WEASYPRINT_VERSION):
        _install_line_text()
    return FontConfiguration()


def _install_line_text() -> None:
    import weasyprint.svg as svg_package
    from weasyprint.svg import TAGS

    letters = svg_package.text  # the function (svg/__init__ imports it under the module's name)
    if getattr(letters, "_utanforskap_lines", False):
        return

    def text(svg, node, font_size):
        if not _whole_line(node):
            return letters(svg, node, font_size)
        return _draw_line(svg, node, font_size)

    text._utanforskap_lines = True  # type: ignore[attr-defined]  # marks the wrapper, so it is installed once
    svg_package.text = text  # draw_node tells text nodes by `TAGS.get(tag) == text`
    for tag, draw in list(TAGS.items()):
        if draw is letters:
            TAGS[tag] = text


def _whole_line(node) -> bool:
    """A <text> WeasyPrint would draw letter by letter only because it always does."""
    if node.tag != "text" or not node.text or len(node._etree_node) or any(node.get(a) is not None for a in PER_LETTER):
        return False
    from weasyprint.svg.utils import normalize

    return all(len(normalize(node.attrib[a]).strip().split(" ")) == 1 for a in ("x", "y") if a in node.attrib)


def _draw_line(svg, node, font_size) -> None:
    """svg.text.text for a whole line: the same style, alignment, bounding box and drawing
    calls, with one layout for the line instead of one per letter."""
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.svg.text import Style, TextBox
    from weasyprint.svg.utils import size
    from weasyprint.text.line_break import split_first_line

    style = Style()
    style.update(INITIAL_VALUES)
    style.font_config = svg.font_config
    style["font_family"] = [font.strip("\"'") for font in node.get("font-family", "sans-serif").split(",")]
    style["font_style"] = node.get("font-style", "normal")
    weight = node.get("font-weight", 400)
    if node.get("direction") in ("ltr", "rtl"):
        style["direction"] = node.get("direction")
    if weight == "normal":
        weight = 400
    elif weight == "bold":
        weight = 700
    else:
        try:
            weight = int(weight)
        except ValueError:
            weight = 400
    style["font_weight"] = weight
    style["font_size"] = font_size
    layout, _, _, width, height, baseline = split_first_line(node.text, style, svg.context, inf, 0)

    ascent, descent = font_size * 0.8, font_size * 0.2
    y_align = 0.0
    display_anchor = node.get("display-anchor")
    alignment_baseline = node.get("dominant-baseline", node.get("alignment-baseline"))
    if display_anchor == "middle":
        y_align = -height / 2
    elif display_anchor == "top":
        pass
    elif display_anchor == "bottom":
        y_align = -height
    elif alignment_baseline in ("central", "middle"):
        y_align = (ascent + descent) / 2 - descent
    elif alignment_baseline in ("text-before-edge", "before_edge", "top", "hanging", "text-top"):
        y_align = ascent
    elif alignment_baseline in ("text-after-edge", "after_edge", "bottom", "text-bottom"):
        y_align = -descent

    x = size(node.attrib["x"], font_size, svg.inner_width) if "x" in node.attrib else None
    y = size(node.attrib["y"], font_size, svg.inner_height) if "y" in node.attrib else None
    if x is not None:
        svg.cursor_d_position[0] = 0
    if y is not None:
        svg.cursor_d_position[1] = 0
    x = svg.cursor_position[0] if x is None else x
    y = svg.cursor_position[1] if y is None else y
    svg.cursor_position = x + width, y
    x_position = x + svg.cursor_d_position[0]
    y_position = y + svg.cursor_d_position[1] + y_align
    points = ((x_position, y_position - baseline), (x_position + width, y_position - baseline + height))
    node.text_bounding_box = extend_bounding_box(node.text_bounding_box, points)

    svg.stream.push_state()
    fill, stroke = svg.set_graphical_state(node, font_size)
    svg.stream.begin_text()
    layout.reactivate(style)
    svg.fill_stroke(fill, stroke, text=True)
    text_box = TextBox(layout, style)
    text_box.baseline = baseline
    emojis = draw_first_line(svg.stream, text_box, "none", "none", Matrix(a=1, d=-1, e=x_position, f=y_position))
    svg.stream.end_text()
    svg.stream.pop_state()
    draw_emojis(svg.stream, style, x, y, emojis)
