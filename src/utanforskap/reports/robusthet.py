"""The robustness chapter of the national report and the area report's "hur säker är
listningen": figures from utanforskap.robustness.overview, a chart of the list's size."""

from __future__ import annotations

import numpy as np

from utanforskap.formatting import format_number as tal
from utanforskap.reports import figures as fg
from utanforskap.results.karta import MapResult
from utanforskap.robustness.overview import overview


@fg.styled
def size_chart(sizes: np.ndarray, today: int, source: str) -> bytes:
    """The list's size over the draws (bars), today's list marked."""
    width_in = 4.6
    foot_in = fg.footnote_height(source, width_in)
    height_in = 2.1 + foot_in
    fig = fg.new_figure(width_in, height_in)
    ax = fig.add_axes((0.5 / width_in, (foot_in + 0.42) / height_in, 1 - 0.62 / width_in, 1.4 / height_in))
    lo, hi = int(sizes.min()), int(sizes.max())
    ax.hist(sizes, bins=(np.arange(lo, hi + 2) - 0.5).tolist(), color="#b9c0c5", edgecolor="#ffffff", linewidth=0.3, label="dragningar")
    ax.axvline(today, color=fg.THRESHOLD, linestyle="--", linewidth=1.4)
    ax.annotate(f"i dag {today}", xy=(today, 1), xycoords=("data", "axes fraction"), xytext=(3, -2), textcoords="offset points", fontsize=7.5, va="top")
    ax.set_title("Listans storlek över dragningarna")
    ax.set_xlabel("antal listade områden")
    ax.set_ylabel("antal dragningar")
    fg.footnote(fig, source)
    return fg.png(fig)


def national(result: MapResult) -> dict | None:
    """Template variables for the national chapter; None when the method declares no uncertainty."""
    ov = overview(result)
    if ov is None:
        return None
    s = ov.summary
    sizes = ov.run.per_draw["antal_omraden"].to_numpy()
    src = f"Monte Carlo, {s['dragningar']} dragningar (frö {s['seed']}): {s['osakerhet'] or 'metodens [osakerhet]'}."
    img = size_chart(sizes, s["listade_idag"], src)
    alt = (
        f"Stapeldiagram över listans storlek i {s['dragningar']} dragningar: från {s['omraden_min']} till {s['omraden_max']} "
        f"områden, 5–95 % {tal(s['omraden_p05'])}–{tal(s['omraden_p95'])}, median {tal(s['omraden_median'])}; "
        f"dagens lista ({s['listade_idag']}) är markerad med en streckad linje."
    )
    return {
        "s": s,
        "img": fg.data_uri(img),
        "alt": alt,
        "kanslighet": ov.sensitivity.table.to_dicts() if ov.sensitivity is not None else [],
        "narmast": ov.closest_to_line(15),
    }


def area(result: MapResult, code: str) -> dict | None:
    """The area's robustness record (see robustness.overview), or None."""
    ov = overview(result)
    return ov.area(code) if ov is not None else None
