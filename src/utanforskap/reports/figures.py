"""Static charts (matplotlib, SVG) for the reports, drawn without pyplot's global state.

Charts are vector graphics (SVG, text kept as text) so they stay sharp in print, and every
numeric axis is labelled in Swedish (`swedish_axes`: decimal comma, narrow no-break space
between thousands, the minus sign) whatever the chart code set up.

One shared style (`STYLE`, applied by `@styled` only while a chart or map is drawn, so
importing this module leaves matplotlib's settings alone), figures made with `new_figure`
and encoded by `png`: no pyplot figure manager, so drawing 290 reports in a row neither
leaks nor slows down. The bar and time charts of every kommun report (`horizontal_bars`,
`time_chart`) are written as SVG directly (reports.svg), as matplotlib drew them with STYLE,
in a few milliseconds instead of some 90 ms each; the histograms stay with matplotlib.
Colours are chosen so that each series also differs by marker or line style (readable in
greyscale print and by people who do not tell red from green).
"""

from __future__ import annotations

import functools
import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede any backend import
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from utanforskap.reports.formatting import data_uri  # noqa: E402,F401  (charts' callers use fg.data_uri)

DPI = 110
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#444444",
    "axes.labelcolor": "#1a1a1a",
    "xtick.color": "#1a1a1a",
    "ytick.color": "#1a1a1a",
    "legend.frameon": False,
    "legend.fontsize": 8,
    "svg.fonttype": "none",  # text stays text: sharp, searchable, and checkable by tests
    "svg.hashsalt": "utanforskap",  # the same chart gives the same bytes
    "axes.formatter.use_locale": False,
}


def styled(draw):
    """Draw (and encode) with STYLE in force, then restore the caller's rcParams."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)

    return wrapper


LISTED = "#800026"  # listed areas
OTHER = "#5f6b73"  # the rest of the kommun / the other areas
KOMMUN = "#1f4e79"
RIKET = "#111111"
EVENT = "#7a4b00"
THRESHOLD = "#b35900"
NOTE = "#333333"

SOURCE_FONT = 6.8


def _no_idle_draw(*args, **kwargs) -> None:
    """Nothing: the image is drawn once, when `png` saves it."""


def new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    # geopandas' plot() asks the canvas for a redraw after every layer; on Agg that is a
    # whole rendering of the figure, thrown away. Nothing is shown on screen, so skip it.
    canvas.draw_idle = _no_idle_draw  # type: ignore[method-assign]
    return fig


def swedish_tick(value: float, _pos=None) -> str:
    """One axis tick in Swedish: 0,5; 12 500; −2; at most four significant decimals."""
    if value != value:
        return ""
    if abs(value) < 1e-12:
        return "0"
    text = f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    return text.replace(",", "\u202f").replace(".", ",").replace("-", "\u2212")


def swedish_axes(fig: Figure) -> None:
    """Swedish number labels on every numeric axis (those not given their own tick labels)."""
    from matplotlib.ticker import FuncFormatter, ScalarFormatter

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), ScalarFormatter):
                axis.set_major_formatter(FuncFormatter(swedish_tick))


def png(fig: Figure, tight: bool = True) -> bytes:
    """The chart as SVG (the name is kept for callers; data_uri tells the formats apart)."""
    return svg(fig, tight)


def svg(fig: Figure, tight: bool = True) -> bytes:
    """`tight`: trim the figure to what is drawn (a second layout pass, some 25 % of the
    time); charts laid out in inches to fit their figure pass False."""
    swedish_axes(fig)
    buf = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        if tight:
            fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.04, metadata={"Date": None})
        else:
            fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _cache_text_metrics() -> None:
    """Remember text sizes across figures. The SVG backend measures every string with a new
    TextToPath per figure, so the same tick labels, titles and notes were measured again
    for each of 290 reports (a sixth of the drawing time). The size depends only on the
    string, the font properties and the math flag, so the cached value is the same."""
    from matplotlib.textpath import TextToPath

    measure = TextToPath.get_text_width_height_descent
    if getattr(measure, "_utanforskap_cached", False):
        return
    sizes: dict[tuple, tuple[float, float, float]] = {}

    def cached(self, s, prop, ismath):
        key = (s, prop.copy(), ismath)
        size = sizes.get(key)
        if size is None:
            if len(sizes) > 50_000:
                sizes.clear()
            size = sizes[key] = measure(self, s, prop, ismath)
        return size

    cached._utanforskap_cached = True  # type: ignore[attr-defined]  # marks the wrapper, so it is installed once
    TextToPath.get_text_width_height_descent = cached  # type: ignore[method-assign]  # see the docstring


_cache_text_metrics()


def raster(fig: Figure) -> bytes:
    """PNG, for the few places that need a bitmap."""
    swedish_axes(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def sv(value: float, decimals: int = 1) -> str:
    """A number with a decimal comma, for text on charts."""
    return f"{value:.{decimals}f}".replace(".", ",").replace("-", "−")


def footnote(fig: Figure, text: str) -> float:
    """The source line(s) at the bottom; returns the height they take, in inches."""
    width_in = fig.get_figwidth()
    wrapped = wrap(text, int(width_in * 19))
    fig.text(0.01, 0.04 / fig.get_figheight(), wrapped, fontsize=SOURCE_FONT, color=NOTE, ha="left", va="bottom")
    return footnote_height(text, width_in)


def footnote_height(text: str, width_in: float) -> float:
    return 0.08 + 0.115 * (wrap(text, int(width_in * 19)).count("\n") + 1)


# ---- distributions -----------------------------------------------------------------------------------------
@styled
def histogram(
    values_all,
    values_listed,
    title: str,
    xlabel: str,
    threshold: float | None,
    threshold_label: str,
    percent: bool,
    source: str,
) -> bytes:
    """All areas (grey) and the listed ones (dark red, hatched) with the threshold marked."""
    import numpy as np

    width_in = 4.6
    foot_in = footnote_height(source + " 999 områden med högre värden ritas vid skalans slut.", width_in)
    height_in = 2.2 + foot_in
    fig = new_figure(width_in, height_in)
    ax = fig.add_axes([0.5 / width_in, (foot_in + 0.42) / height_in, 1 - 0.62 / width_in, 1.45 / height_in])
    scale = 100.0 if percent else 1.0
    a = np.asarray(values_all, dtype=float) * scale
    lst = np.asarray(values_listed, dtype=float) * scale
    hi = float(np.nanquantile(a, 0.995)) if a.size else 1.0
    lo = float(np.nanmin(a)) if a.size else 0.0
    if threshold is not None:
        hi = max(hi, threshold * scale * 1.05)
        lo = min(lo, threshold * scale * 0.95)
    bins = np.linspace(lo, hi, 41)
    outside = int((a > hi).sum())
    ax.hist(np.clip(a, lo, hi), bins=bins, color="#b9c0c5", edgecolor="#ffffff", linewidth=0.3, label="alla RegSO")
    if lst.size:
        ax.hist(np.clip(lst, lo, hi), bins=bins, color=LISTED, edgecolor="#ffffff", hatch="////", linewidth=0.3, label="listade områden")
    if threshold is not None:
        t = threshold * scale
        ax.axvline(t, color=THRESHOLD, linestyle="--", linewidth=1.4)
        ax.annotate(
            threshold_label, xy=(t, 1), xycoords=("data", "axes fraction"), xytext=(3, -2), textcoords="offset points",
            fontsize=7.5, color="#5c2e00", va="top", ha="left" if t < (lo + hi) / 2 else "right",
        )
    ax.set_title(title)
    ax.set_xlabel(xlabel + (" (%)" if percent else ""))
    ax.set_ylabel("antal RegSO")
    ax.legend(loc="upper right" if threshold is None or threshold * scale < (lo + hi) / 2 else "upper left")
    note = source + (f" {outside} områden med högre värden ritas vid skalans slut." if outside else "")
    footnote(fig, note)
    return png(fig)


def horizontal_bars(
    labels: list[str],
    series: list[tuple[str, list[float | None], str, str]],
    title: str,
    xlabel: str,
    source: str,
    percent: bool = False,
    reference_line: float | None = None,
    reference_label: str = "",
    width_in: float = 6.4,
    decimals: int = 1,
) -> bytes:
    """Grouped horizontal bars: one group per label, one bar per series (name, values, colour, hatch).

    Laid out in inches (title, legend, bars, axis, source), so that any number of groups
    and series fits without overlap. Written as SVG directly (reports.svg), as matplotlib
    drew it: its tick positions, hatches and font metrics.
    """
    from utanforskap.reports.svg import Axes, Drawing, nice_ticks

    n, k = len(labels), len(series)
    wrapped = [wrap(lab, 24) for lab in labels]
    longest = max((len(line) for lab in wrapped for line in lab.split("\n")), default=10)
    top_in, bottom_in = 0.62 if k > 1 else 0.4, 0.45 + footnote_height(source, width_in)
    body_in = n * (0.19 * k + 0.16)
    height_in = top_in + body_in + bottom_in
    left_in = 0.2 + 0.068 * longest
    d = Drawing(width_in, height_in)
    scale = 100.0 if percent else 1.0
    scaled = [[None if v is None or v != v else v * scale for v in values] for _, values, _, _ in series]
    vmax = max((v for vals in scaled for v in vals if v is not None), default=0.0)
    vmax = max(vmax, 0.0)
    if reference_line is not None:
        vmax = max(vmax, reference_line * scale)
    ax = Axes(left_in * 72, top_in * 72, (width_in - left_in - 0.25) * 72, body_in * 72,
              (0.0, vmax * 1.2 if vmax > 0 else 1.0), (n - 0.5, -0.5))
    clip = d.clip(ax.left, ax.top, ax.width, ax.height)
    bar_h = 0.8 / k
    labels_after = []
    for j, ((_, _, colour, hatch), vals) in enumerate(zip(series, scaled, strict=True)):
        fill = d.fill(colour, hatch)
        for i, v in enumerate(vals):
            pos = i - 0.4 + bar_h * (j + 0.5)
            y0, y1 = ax.y(pos - bar_h * 0.45), ax.y(pos + bar_h * 0.45)
            if v:
                d.rect(ax.x(0), y0, ax.x(v) - ax.x(0), y1 - y0, fill=fill, stroke="#ffffff", stroke_width=0.3, clip=clip)
            text = "saknas" if v is None else sv(v, decimals) + (" %" if percent else "")
            labels_after.append((ax.x(v or 0.0) + _space(7.2), ax.y(pos), text))
    for x, y, text in labels_after:
        d.text(x, y, text, 7.2, va="center")
    ticks = nice_ticks(*ax.xlim, ax.width, 3 * STYLE["font.size"])
    _x_axis(d, ax, [(ax.x(t), swedish_tick(t)) for t in ticks], xlabel + (" (%)" if percent else ""))
    _y_ticks(d, ax, [(ax.y(i), lab) for i, lab in enumerate(wrapped)])
    _spines(d, ax)
    if reference_line is not None:
        xr = ax.x(reference_line * scale)
        d.line([(xr, ax.bottom), (xr, ax.top)], RIKET, 1.2, ":", clip=clip)
        d.text(xr + 2, ax.bottom - 2, reference_label, 7.2, fill="#000000")
    d.text(0.015 * d.width, 0.08 * 72, title, 9.5, va="top", bold=True, fill="#000000")
    if k > 1:
        _legend(d, [(name, ("bar", colour, hatch)) for name, _, colour, hatch in series], 0.33 * 72, min(k, 4))
    _footnote(d, wrap(source, 150))
    return d.svg()


# ---- the parts of a chart written directly -------------------------------------------------------------------
TICK_LENGTH, TICK_PAD, LABEL_PAD = 3.5, 3.5, 4.0
TICK_COLOUR, SPINE_COLOUR, LEGEND_FONT = "#1a1a1a", "#444444", 7.4


def _space(size: float) -> float:
    """The width of the leading space matplotlib drew before a value label."""
    from utanforskap.reports.svg import text_width

    return text_width(" x", size) - text_width("x", size)


def _x_axis(d, ax, ticks: list[tuple[float, str]], label: str, size: float | None = None, colour: str = TICK_COLOUR) -> None:
    """Ticks below the axis, their labels, and the axis label under them."""
    size = size or STYLE["font.size"]
    for x, text in ticks:
        d.line([(x, ax.bottom), (x, ax.bottom + TICK_LENGTH)], colour, 0.8, cap="butt")
        d.text(x, ax.bottom + TICK_LENGTH + TICK_PAD, text, size, anchor="middle", va="top", fill=colour)
    if label:
        d.text(ax.left + ax.width / 2, ax.bottom + TICK_LENGTH + TICK_PAD + size + LABEL_PAD, label, size, anchor="middle", va="top")


def _y_ticks(d, ax, ticks: list[tuple[float, str]], size: float | None = None, colour: str = TICK_COLOUR) -> float:
    """Ticks left of the axis with right-aligned labels; returns the labels' widest width."""
    from utanforskap.reports.svg import text_width

    size = size or STYLE["font.size"]
    widest = 0.0
    for y, text in ticks:
        d.line([(ax.left - TICK_LENGTH, y), (ax.left, y)], colour, 0.8, cap="butt")
        # matplotlib centres tick labels on their baseline ("center_baseline"): a little lower.
        d.text(ax.left - TICK_LENGTH - TICK_PAD, y + 0.12 * size, text, size, anchor="end", va="center", fill=colour)
        widest = max([widest, *(text_width(line, size) for line in text.split("\n"))])
    return widest


def _spines(d, ax, box: bool = False, colour: str = SPINE_COLOUR) -> None:
    """The left and bottom spines (STYLE hides the others); `box`: all four."""
    corners = [(ax.right, ax.top), (ax.left, ax.top), (ax.left, ax.bottom), (ax.right, ax.bottom)]
    d.line([*corners, corners[0]] if box else corners[1:], colour, 0.8)


def _legend(d, items: list[tuple[str, tuple]], anchor_top: float, ncol: int) -> None:
    """fig.legend(loc="upper left", bbox_to_anchor=(0.01, anchor)) laid out as matplotlib does:
    handles two font sizes long, columns as wide as their widest label."""
    from utanforskap.reports.svg import text_width

    fs = LEGEND_FONT
    rows = [items[i:i + ncol] for i in range(0, len(items), ncol)]
    widths = [max(text_width(rows[r][c][0], fs) for r in range(len(rows)) if c < len(rows[r])) for c in range(ncol)]
    x0 = 0.01 * d.width + 0.9 * fs
    for r, row in enumerate(rows):
        baseline = anchor_top + 1.813 * fs + r * 1.5 * fs
        x = x0
        for c, (name, handle) in enumerate(row):
            if handle[0] == "bar":
                _, colour, hatch = handle
                d.rect(x, baseline - 0.7 * fs, 2 * fs, 0.7 * fs, fill=d.fill(colour, hatch), stroke="#ffffff", stroke_width=0.3)
            else:
                _, colour, style, marker = handle
                y = baseline - 0.35 * fs
                d.line([(x, y), (x + 2 * fs, y)], colour, 1.8, style)
                d.markers(marker, 5, colour, [(x + fs, y)])
            d.text(x + 2.8 * fs, baseline, name, fs, fill="#000000")
            x += 2.8 * fs + widths[c] + 2 * fs


def _footnote(d, text: str) -> None:
    """footnote() for a Drawing: the source line(s) at the bottom left."""
    d.text(0.01 * d.width, d.height - 0.04 * 72, wrap(text, int(d.width / 72 * 19)), SOURCE_FONT, va="bottom", fill=NOTE)


# ---- time ---------------------------------------------------------------------------------------------------------
def time_chart(
    years: list[int],
    series: list[tuple[str, list[float | None], str, str, str]],
    title: str,
    ylabel: str,
    events: list,
    source: str,
    width_in: float = 6.4,
    horizon: int = 0,
) -> bytes:
    """Yearly values (plotted mid-year) with dated events as numbered vertical lines.

    `series`: (name, values, colour, line style, marker). The axis ends with the data (the
    end of the last data year); events after it are listed by the report, not drawn.
    Written as SVG directly (reports.svg), as matplotlib drew it.
    """
    from utanforskap.reports.svg import Axes, Drawing, nice_ticks, text_width

    first, last = min(years), max(years)
    shown = shown_events(years, events, horizon)
    end = last + 1
    # No-break spaces inside an item, so lines break only between events.
    items = [f"{i + 1} {e.kort}{' (osäkert)' if e.osaker else ''}".replace(" ", "\u00a0") for i, e in enumerate(shown)]
    legend = "Händelser: " + "   ".join(items) if shown else "Inga policyhändelser inom diagrammets period."
    legend = wrap(legend, int(width_in * 17))
    n_lines = legend.count("\n") + 1
    foot_in = footnote_height(source, width_in)
    legend_in = 0.13 * n_lines + 0.06
    top_in, body_in, bottom_in = 0.62, 2.1, foot_in + legend_in + 0.42
    height_in = top_in + body_in + bottom_in
    d = Drawing(width_in, height_in)
    values = [[None if v is None or v != v else float(v) for v in vals] for _, vals, *_ in series]
    vmax = max((v for vals in values for v in vals if v is not None), default=0.0)
    top = vmax * 1.3 if vmax > 0 else 1.0
    ax = Axes(0.8 * 72, top_in * 72, (width_in - 1.15) * 72, body_in * 72, (first, end), (0.0, top))
    clip = d.clip(ax.left, ax.top, ax.width, ax.height)
    for (_, _, colour, style, marker), vals in zip(series, values, strict=True):
        points = [(ax.x(y + 0.5), ax.y(v)) if v is not None else None for y, v in zip(years, vals, strict=False)]
        run: list[tuple[float, float]] = []
        for p in [*points, None]:
            if p is None:
                d.line(run, colour, 1.8, style, clip=clip)
                run = []
            else:
                run.append(p)
        d.markers(marker, 5, colour, [p for p in points if p is not None], clip=clip)
    for e in shown:
        x = ax.x(e.ar)
        d.line([(x, ax.bottom), (x, ax.top)], EVENT, 1.0, (0, (2, 2)) if e.osaker else "-", clip=clip, cap="butt")
    for i, e in enumerate(shown):
        x, y, label, size = ax.x(e.ar), ax.y(top * (0.92 - 0.11 * (i % 3))), f"{i + 1}", 7.5
        w, pad = text_width(label, size, bold=True), 0.15 * size
        d.rect(x - w / 2 - pad, y - size / 2 - pad, w + 2 * pad, size + 2 * pad, fill="#ffffff", stroke=EVENT, stroke_width=0.6, rx=pad)
        d.text(x, y, label, size, anchor="middle", va="center", fill=EVENT, bold=True)
    ticks = list(range(first, int(end)))
    _x_axis(d, ax, [(ax.x(t + 0.5), str(t)) for t in ticks], "")
    size = STYLE["font.size"]
    widest = _y_ticks(d, ax, [(ax.y(t), swedish_tick(t)) for t in nice_ticks(0.0, top, ax.height, 2 * size)])
    d.text(ax.left - TICK_LENGTH - TICK_PAD - widest - LABEL_PAD - DESCENT_OF_LABEL * size, ax.top + ax.height / 2, ylabel, size,
           anchor="middle", rotate=True)
    _spines(d, ax)
    d.text(0.015 * d.width, 0.08 * 72, title, 9.5, va="top", bold=True, fill="#000000")
    _legend(d, [(name, ("line", colour, style, marker)) for name, _, colour, style, marker in series], 0.33 * 72, min(len(series), 3))
    d.text(0.015 * d.width, d.height - (foot_in + 0.02) * 72, legend, 7, va="bottom", fill="#5c3800")
    _footnote(d, source)
    return d.svg()


DESCENT_OF_LABEL = 0.24  # a rotated label's descent, towards the tick labels


def wrap(text: str, width: int) -> str:
    """Text broken into lines of at most `width` characters (for text on charts and maps)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def shown_events(years: list[int], events: list, horizon: int = 0) -> list:
    """The events `time_chart` draws (within the data years), numbered in the same order."""
    first, last = min(years), max(years)
    return [e for e in events if first <= e.ar <= last + horizon]
