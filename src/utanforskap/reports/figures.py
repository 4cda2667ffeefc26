"""Static charts (matplotlib, SVG) for the reports, drawn without pyplot's global state.

Charts are vector graphics (SVG, text kept as text) so they stay sharp in print, and every
numeric axis is labelled in Swedish (`swedish_axes`: decimal comma, narrow no-break space
between thousands, the minus sign) whatever the chart code set up.

One shared style (`STYLE`, applied by `@styled` only while a chart or map is drawn, so
importing this module leaves matplotlib's settings alone), figures made with `new_figure`
and encoded by `png`: no pyplot figure manager, so drawing 290 reports in a row neither
leaks nor slows down.
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


@styled
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
    and series fits without overlap.
    """
    import numpy as np

    n, k = len(labels), len(series)
    wrapped = [wrap(lab, 24) for lab in labels]
    longest = max((len(line) for lab in wrapped for line in lab.split("\n")), default=10)
    top_in, bottom_in = 0.62 if k > 1 else 0.4, 0.45 + footnote_height(source, width_in)
    body_in = n * (0.19 * k + 0.16)
    height_in = top_in + body_in + bottom_in
    left_in = 0.2 + 0.068 * longest
    fig = new_figure(width_in, height_in)
    ax = fig.add_axes([left_in / width_in, bottom_in / height_in, 1 - (left_in + 0.25) / width_in, body_in / height_in])
    bar_h = 0.8 / k
    y = np.arange(n)
    scale = 100.0 if percent else 1.0
    vmax = 0.0
    handles = []
    for j, (name, values, colour, hatch) in enumerate(series):
        vals = np.array([np.nan if v is None else v * scale for v in values], dtype=float)
        pos = y - 0.4 + bar_h * (j + 0.5)
        handles.append(ax.barh(pos, np.nan_to_num(vals), height=bar_h * 0.9, color=colour, hatch=hatch, edgecolor="#ffffff", linewidth=0.3, label=name))
        for p_, v in zip(pos, vals, strict=False):
            text = "saknas" if np.isnan(v) else sv(v, decimals) + (" %" if percent else "")
            ax.text(0 if np.isnan(v) else v, p_, " " + text, va="center", ha="left", fontsize=7.2, color="#1a1a1a")
        if np.isfinite(vals).any():
            vmax = max(vmax, float(np.nanmax(vals)))
    if reference_line is not None:
        ax.axvline(reference_line * scale, color=RIKET, linestyle=":", linewidth=1.2)
        ax.annotate(reference_label, xy=(reference_line * scale, 0.0), xycoords=("data", "axes fraction"), xytext=(2, 2), textcoords="offset points", fontsize=7.2)
        vmax = max(vmax, reference_line * scale)
    ax.set_xlim(0, vmax * 1.2 if vmax > 0 else 1)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks(y, wrapped)
    ax.set_xlabel(xlabel + (" (%)" if percent else ""))
    fig.text(0.015, 1 - 0.08 / height_in, title, fontsize=9.5, fontweight="bold", va="top")
    if k > 1:
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 1 - 0.33 / height_in), ncol=min(k, 4), fontsize=7.4)
    footnote(fig, wrap(source, 150))
    return png(fig, tight=False)


# ---- time ---------------------------------------------------------------------------------------------------------
@styled
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
    """
    import numpy as np

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
    fig = new_figure(width_in, height_in)
    ax = fig.add_axes([0.8 / width_in, bottom_in / height_in, 1 - 1.15 / width_in, body_in / height_in])
    x = np.array(years, dtype=float) + 0.5
    vmax = 0.0
    handles = []
    for name, values, colour, style, marker in series:
        v = np.array([np.nan if val is None else val for val in values], dtype=float)
        (line,) = ax.plot(x, v, color=colour, linestyle=style, marker=marker, linewidth=1.8, markersize=5, label=name)
        handles.append(line)
        if np.isfinite(v).any():
            vmax = max(vmax, float(np.nanmax(v)))
    top = vmax * 1.3 if vmax > 0 else 1.0
    ax.set_ylim(0, top)
    ax.set_xlim(first, end)
    for i, e in enumerate(shown):
        ax.axvline(e.ar, color=EVENT, linestyle=(0, (2, 2)) if e.osaker else "-", linewidth=1.0)
        ax.text(
            e.ar, top * (0.92 - 0.11 * (i % 3)), f"{i + 1}", fontsize=7.5, color=EVENT, fontweight="bold", va="center", ha="center",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "#ffffff", "edgecolor": EVENT, "linewidth": 0.6},
        )
    ticks = list(range(first, int(np.ceil(end))))
    ax.set_xticks([t + 0.5 for t in ticks], [str(t) for t in ticks])
    ax.set_ylabel(ylabel)
    fig.text(0.015, 1 - 0.08 / height_in, title, fontsize=9.5, fontweight="bold", va="top")
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 1 - 0.33 / height_in), ncol=min(len(series), 3), fontsize=7.4)
    fig.text(0.015, (foot_in + 0.02) / height_in, legend, fontsize=7, color="#5c3800", va="bottom")
    footnote(fig, source)
    return png(fig, tight=False)


def wrap(text: str, width: int) -> str:
    """Text broken into lines of at most `width` characters (for text on charts and maps)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def shown_events(years: list[int], events: list, horizon: int = 0) -> list:
    """The events `time_chart` draws (within the data years), numbered in the same order."""
    first, last = min(years), max(years)
    return [e for e in events if first <= e.ar <= last + horizon]
