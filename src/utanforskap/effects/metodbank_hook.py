"""The hook for the metodbank: an effect estimate as an evaluation record (a plain dict).

The metodbank (utanforskap.metodbank, written separately) stores evaluations of measures and
grades them by its own rules; the integrator wires `evaluation_record` to it. Nothing here imports
the metodbank, so this works on main as it is.
"""

from __future__ import annotations

import datetime as dt
from importlib.metadata import PackageNotFoundError, version

from utanforskap.effects.run import EffectResult

DESIGNS = {
    "callaway-santanna": "skillnad-i-skillnader (förskjuten start)",
    "did2s": "skillnad-i-skillnader (två steg)",
    "syntetisk-kontroll": "syntetisk kontroll",
}
PACKAGES = {"callaway-santanna": "utanforskap", "did2s": "pyfixest", "syntetisk-kontroll": "utanforskap"}


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "okänd"


def evaluation_record(result: EffectResult, metod: str | None = None, insats: str | None = None) -> dict:
    """One evaluation: design, estimator and package version, estimate and interval, numbers of
    treated and comparison areas, pre-trend result. `metod` picks the estimator row (default: the
    primary one, Callaway-Sant'Anna when it ran). The metodbank adds the evidence grade."""
    row = next((r for r in result.rows if r["metod"] == metod), None) if metod else result.primary
    if row is None:
        raise KeyError(metod)
    pkg = PACKAGES.get(row["metod"], "utanforskap")
    p = result.design.panel

    def num(x):
        return None if x != x else float(x)

    return {
        "insats": insats,
        "design": DESIGNS.get(row["metod"], row["metod"]),
        "skattare": row["metod"],
        "paket": pkg,
        "paketversion": _version(pkg),
        "utfall": p.label,
        "niva": p.level,
        "ar": [int(p.years[0]), int(p.years[-1])],
        "jamforelse": result.design.pool,
        "skattning": num(row["skattning"]),
        "nedre_95": num(row["nedre_95"]),
        "ovre_95": num(row["ovre_95"]),
        "p_varde": num(row["p_varde"]),
        "antal_behandlade": row["antal_behandlade"],
        "antal_jamforelse": row["antal_jamforelse"],
        "fortrend_p": None if not result.pretrend else num(result.pretrend["p_varde"]),
        "placebo_i_tid_p": None if not result.placebo_time else num(result.placebo_time["p_varde"]),
        "etikett": result.label,
        "bedomning": result.verdict,
        "skapad": dt.date.today().isoformat(),
    }
