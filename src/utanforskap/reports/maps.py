"""Static maps as PNG (matplotlib), for HTML and PDF reports that must work offline."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from utanforskap.geography import shapes  # noqa: E402

# Sequential palette (ColorBrewer YlOrRd), with grey for "none"; readable in greyscale print.
NONE_COLOUR = "#e6e6e6"
CLASS_COLOURS = ["#fed976", "#fd8d3c", "#e31a1c", "#800026"]


def kommun_choropleth(
    values: pl.DataFrame,
    column: str,
    title: str,
    bins: list[float],
    labels: list[str],
    source_note: str,
    width_in: float = 6.0,
) -> bytes:
    """A kommun map coloured by `column` in `bins` (first bin grey); returns PNG bytes.

    `values` has kommun_kod and `column`. The geometry used is printed on the map.
    """
    g = shapes.kommun_polygons().merge(values.to_pandas(), on="kommun_kod", how="left")
    g[column] = g[column].fillna(0)
    colours = [NONE_COLOUR, *CLASS_COLOURS][: len(bins) - 1]
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(bins, cmap.N)
    fig, ax = plt.subplots(figsize=(width_in, width_in * 1.9), dpi=110)
    g.plot(column=column, cmap=cmap, norm=norm, ax=ax, edgecolor="#ffffff", linewidth=0.2)
    shapes.lan_polygons().boundary.plot(ax=ax, color="#555555", linewidth=0.4)
    ax.set_axis_off()
    ax.set_title(title, fontsize=11, loc="left")
    handles = [Patch(facecolor=c, edgecolor="#999999", label=lab) for c, lab in zip(colours, labels)]
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    fig.text(0.02, 0.01, f"{source_note}\n{shapes.GEOMETRY_NOTE['kommun']}", fontsize=6.5, color="#333333")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
