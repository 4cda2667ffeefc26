"""A small SVG writer for the charts and maps that are simple shapes (bars, lines, polygons).

matplotlib spent some 90 ms on each bar or line chart of a kommun report (a new Axes with
its tick machinery, then the SVG backend), four charts per report. The charts here are laid
out in inches already, so this writer draws them directly: the same sizes, fonts, colours,
hatches, dash patterns, tick positions (matplotlib's own locator) and text metrics
(matplotlib's own font measurements), in a few milliseconds. The SVG uses presentation
attributes rather than `style` strings, which WeasyPrint reads without a CSS parser.

Coordinates are points (1/72 inch) from the top left, as in matplotlib's SVG output.
"""

from __future__ import annotations

from functools import lru_cache
from xml.sax.saxutils import escape

FONT = "DejaVu Sans"
# DejaVu Sans: the line box matplotlib lays text out in, as shares of the font size.
ASCENT, DESCENT, LINE = 0.76, 0.24, 1.2


def num(v: float) -> str:
    """A coordinate with at most three decimals and no trailing zeros."""
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@lru_cache(maxsize=20_000)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """The advance width of `text` in points, measured as matplotlib measures it."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(family=FONT, size=size, weight="bold" if bold else "normal")
    return float(text_to_path.get_text_width_height_descent(text, prop, False)[0])


@lru_cache(maxsize=16)
def hatch_path(hatch: str) -> str:
    """matplotlib's hatch lines for `hatch` in a 72 pt tile (its SVG backend's density 6), as SVG path data."""
    from matplotlib.hatch import get_path
    from matplotlib.transforms import Affine2D

    path = get_path(hatch, 6).transformed(Affine2D().scale(72).scale(1.0, -1.0).translate(0, 72))
    import numpy as np

    vertices = np.asarray(path.vertices, dtype=float).tolist()
    codes = np.asarray(path.codes).tolist() if path.codes is not None else [2] * len(vertices)
    return " ".join(("M" if code == 1 else "L") + f"{num(x)} {num(y)}" for (x, y), code in zip(vertices, codes, strict=True))


@lru_cache(maxsize=16)
def marker_path(marker: str, size: float) -> str:
    """matplotlib's marker `marker` of `size` points around the origin, as SVG path data."""
    from matplotlib.markers import MarkerStyle
    from matplotlib.transforms import Affine2D

    style = MarkerStyle(marker)
    path = style.get_path().transformed(style.get_transform() + Affine2D().scale(size).scale(1.0, -1.0))
    parts = []
    for segment, code in path.iter_segments(simplify=False, curves=True):
        xy = " ".join(num(v) for v in segment)
        parts.append({1: "M", 2: "L", 3: "Q", 4: "C", 79: "Z"}[int(code)] + ("" if code == 79 else xy))
    return " ".join(parts)


# matplotlib's dash patterns, scaled by the line width as matplotlib scales them.
DASHES = {"-": None, "--": (3.7, 1.6), ":": (1.0, 1.65), "-.": (6.4, 1.6, 1.0, 1.6)}


def dash_array(style, width: float) -> str | None:
    """`style`: "-", "--", ":", "-." or matplotlib's (offset, (on, off, ...))."""
    pattern = style[1] if isinstance(style, tuple) else DASHES[style]
    if pattern is None:
        return None
    return ",".join(num(v * width) for v in pattern)


class Drawing:
    """An SVG image `width_in` × `height_in` inches on white, built element by element."""

    def __init__(self, width_in: float, height_in: float) -> None:
        self.width = width_in * 72
        self.height = height_in * 72
        self.defs: list[str] = []
        self.body: list[str] = []
        self._ids: dict[tuple, str] = {}

    # ---- definitions -------------------------------------------------------------------------------------------
    def _define(self, key: tuple, make) -> str:
        if key not in self._ids:
            self._ids[key] = ident = f"d{len(self._ids)}"
            self.defs.append(make(ident))
        return self._ids[key]

    def fill(self, colour: str, hatch: str = "", hatch_colour: str = "#ffffff") -> str:
        """A fill attribute value: the colour, or a pattern of hatch lines on it."""
        if not hatch:
            return colour
        ident = self._define(("hatch", colour, hatch, hatch_colour), lambda i: (
            f'<pattern id="{i}" patternUnits="userSpaceOnUse" x="0" y="0" width="72" height="72">'
            f'<rect x="0" y="0" width="73" height="73" fill="{colour}"/>'
            f'<path d="{hatch_path(hatch)}" fill="none" stroke="{hatch_colour}" stroke-width="1"/></pattern>'
        ))
        return f"url(#{ident})"

    def clip(self, x: float, y: float, w: float, h: float) -> str:
        """A clip-path attribute value for the rectangle."""
        ident = self._define(("clip", x, y, w, h), lambda i: (
            f'<clipPath id="{i}"><rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}"/></clipPath>'
        ))
        return f"url(#{ident})"

    def marker(self, marker: str, size: float, colour: str) -> str:
        return self._define(("marker", marker, size, colour), lambda i: (
            f'<path id="{i}" d="{marker_path(marker, size)}" fill="{colour}" stroke="{colour}" stroke-width="1"/>'
        ))

    # ---- shapes ----------------------------------------------------------------------------------------------------------
    def rect(self, x: float, y: float, w: float, h: float, fill: str = "none", stroke: str | None = None,
             stroke_width: float = 1.0, clip: str | None = None, rx: float = 0.0) -> None:
        attrs = f'x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" fill="{fill}"'
        if rx:
            attrs += f' rx="{num(rx)}"'
        if stroke:
            attrs += f' stroke="{stroke}" stroke-width="{num(stroke_width)}" stroke-linejoin="miter"'
        if clip:
            attrs += f' clip-path="{clip}"'
        self.body.append(f"<rect {attrs}/>")

    def line(self, points: list[tuple[float, float]], stroke: str, width: float, style="-", clip: str | None = None,
             cap: str | None = None) -> None:
        """A polyline; `style` as matplotlib's linestyle (solid lines get square caps, as there)."""
        if len(points) < 2:
            return
        d = "M" + " L".join(f"{num(x)} {num(y)}" for x, y in points)
        dashes = dash_array(style, width)
        attrs = f'd="{d}" fill="none" stroke="{stroke}" stroke-width="{num(width)}"'
        attrs += f' stroke-dasharray="{dashes}"' if dashes else f' stroke-linecap="{cap or "square"}"'
        if clip:
            attrs += f' clip-path="{clip}"'
        self.body.append(f"<path {attrs}/>")

    def path(self, d: str, fill: str, stroke: str | None = None, stroke_width: float = 1.0, transform: str | None = None,
             clip: str | None = None, evenodd: bool = False) -> None:
        attrs = f'd="{d}" fill="{fill}"' + (' fill-rule="evenodd"' if evenodd else "")
        if stroke:
            attrs += f' stroke="{stroke}" stroke-width="{num(stroke_width)}" stroke-linejoin="round"'
        if transform:
            attrs += f' transform="{transform}"'
        if clip:
            attrs += f' clip-path="{clip}"'
        self.body.append(f"<path {attrs}/>")

    def markers(self, marker: str, size: float, colour: str, points: list[tuple[float, float]], clip: str | None = None) -> None:
        ident = self.marker(marker, size, colour)
        uses = "".join(f'<use xlink:href="#{ident}" x="{num(x)}" y="{num(y)}"/>' for x, y in points)
        self.body.append(f'<g clip-path="{clip}">{uses}</g>' if clip else f"<g>{uses}</g>")

    def text(self, x: float, y: float, text: str, size: float, anchor: str = "start", va: str = "baseline",
             fill: str = "#1a1a1a", bold: bool = False, rotate: bool = False) -> None:
        """Text at (x, y); `va`: baseline (of the first line), last_baseline, top, center or bottom of the whole (multi-line) text,
        lines `LINE` font sizes apart, as matplotlib lays them out. `rotate`: read bottom to
        top (a y-axis label), then x and y name the point the text turns around."""
        lines = text.split("\n")
        n = len(lines)
        step = LINE * size
        block = (n - 1) * step
        first = {
            "baseline": 0.0,
            "top": ASCENT * size,
            "bottom": -DESCENT * size - block,
            "center": (ASCENT - DESCENT) / 2 * size - block / 2,
            "last_baseline": -block,  # an axes title: its last line on y
        }[va]
        anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
        weight = ' font-weight="bold"' if bold else ""
        for i, line in enumerate(lines):
            if not line:
                continue
            if rotate:
                px, py = x + first + i * step, y
                place = f'transform="translate({num(px)} {num(py)}) rotate(-90)"'
            else:
                place = f'x="{num(x)}" y="{num(y + first + i * step)}"'
            self.body.append(
                f'<text {place} font-size="{num(size)}" font-family="{FONT}"{weight}{anchor_attr} fill="{fill}">{escape(line)}</text>'
            )

    def raw(self, element: str) -> None:
        self.body.append(element)

    def svg(self, crop: tuple[float, float, float, float] | None = None) -> bytes:
        """The image; `crop` (x0, y0, x1, y1): only that part of it, as matplotlib's
        bbox_inches="tight" trims a figure to what is drawn."""
        x0, y0, x1, y1 = crop or (0.0, 0.0, self.width, self.height)
        w, h = num(x1 - x0), num(y1 - y0)
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" '
            f'width="{w}pt" height="{h}pt" viewBox="{num(x0)} {num(y0)} {w} {h}">'
        )
        defs = f"<defs>{''.join(self.defs)}</defs>" if self.defs else ""
        background = f'<rect x="{num(x0)}" y="{num(y0)}" width="{w}" height="{h}" fill="#ffffff"/>'
        return (head + defs + background + "".join(self.body) + "</svg>").encode("utf-8")


def nice_ticks(lo: float, hi: float, length_pt: float, per_tick_pt: float) -> list[float]:
    """The ticks matplotlib's AutoLocator puts on an axis `length_pt` long from lo to hi
    (`per_tick_pt`: the space it allows a tick label: 3 font sizes on x, 2 on y)."""
    from matplotlib.ticker import MaxNLocator

    nbins = max(min(int(length_pt // per_tick_pt), 9), 1)
    values = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    eps = (hi - lo) * 1e-10
    return [float(v) for v in values if lo - eps <= v <= hi + eps]


def ring_paths(rings, transform) -> str:
    """SVG path data for polygon rings (arrays of x, y), each mapped by `transform(xy) -> xy`."""
    parts = []
    for ring in rings:
        xy = transform(ring)
        parts.append("M" + " L".join(f"{num(x)} {num(y)}" for x, y in xy.tolist()) + " Z")
    return " ".join(parts)


class Axes:
    """A linear mapping from data to a rectangle of the drawing (points, top left origin)."""

    def __init__(self, left: float, top: float, width: float, height: float, xlim: tuple[float, float], ylim: tuple[float, float]):
        self.left, self.top, self.width, self.height = left, top, width, height
        self.xlim, self.ylim = xlim, ylim

    def x(self, v: float) -> float:
        x0, x1 = self.xlim
        return self.left + (v - x0) / (x1 - x0) * self.width

    def y(self, v: float) -> float:
        y0, y1 = self.ylim
        return self.top + self.height - (v - y0) / (y1 - y0) * self.height

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def right(self) -> float:
        return self.left + self.width
