"""Robustness of a computed map, once per map, for the reports, the web pages and the API.

    ov = overview(result)        # None when the method declares no uncertainty
    ov.area("0180R024")          # probability listed, label, closest threshold, per factor
    ov.closest_to_line(10)       # the areas nearest 50 %
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from utanforskap.results import karta
from utanforskap.robustness import montecarlo as mc
from utanforskap.robustness import sensitivity as se
from utanforskap.robustness.output import area_table
from utanforskap.robustness.spec import cutoffs

# On demand (a page or a report): enough for a probability to ±0,03 and a stable ranking.
DRAWS = 1000
SEED = 2022
SOBOL_BASE = 256


@dataclass(frozen=True, eq=False)
class Overview:
    run: mc.Run
    sensitivity: se.Sensitivity | None
    table: pl.DataFrame  # omraden.csv
    records: dict[str, dict]
    summary: dict

    @property
    def setup(self) -> mc.Setup:
        return self.run.setup

    def area(self, code: str) -> dict | None:
        return self.records.get(code)

    def closest_to_line(self, n: int = 15) -> list[dict]:
        """Areas whose listing is least sure: probability nearest one half, then by name."""
        t = self.table.filter(pl.col("etikett") == "osäker").with_columns(
            (pl.col("sannolikhet_listad") - 0.5).abs().alias("_d")
        ).sort(["_d", "regso_namn"]).head(n)
        return [self.records[c] for c in t["regso_kod"]]

    def size_counts(self) -> pl.DataFrame:
        """List size -> number of draws."""
        return self.run.per_draw.group_by("antal_omraden").len("dragningar").sort("antal_omraden")


def overview(result: karta.MapResult, draws: int = DRAWS, seed: int = SEED, sobol: int = SOBOL_BASE) -> Overview | None:
    """The robustness of `result` under its method's own `[osakerhet]` (None when it has none);
    computed once per map and reused."""
    if result.method.method.osakerhet is None:
        return None
    return karta.memo(result, ("robusthet", draws, seed, sobol), lambda: _make(result, draws, seed, sobol))


def _make(result: karta.MapResult, draws: int, seed: int, sobol: int) -> Overview:
    setup = mc.prepare(result=result)
    run = mc.simulate(setup, draws, seed)
    sens = se.analyse(setup, sobol, seed) if sobol and setup.dims else None
    table = area_table(run, sens)
    names = {f.id: f.namn for f in result.factors}
    records = {}
    for row in table.iter_rows(named=True):  # once per map, to serve look-ups
        factors = [
            {
                "id": f.id,
                "namn": names.get(f.id, f.id),
                "sannolikhet_flagga": row[f"sannolikhet_flagga_{f.id}"],
                "marginal_se": row[f"marginal_{f.id}"],
            }
            for f in setup.factors
        ]
        closest = row.get("narmaste_troskel")
        records[row["regso_kod"]] = {
            "regso_kod": row["regso_kod"],
            "regso_namn": row["regso_namn"],
            "kommun_kod": row["kommun_kod"],
            "kommun_namn": row["kommun_namn"],
            "listad": bool(row["listad"]),
            "sannolikhet_listad": row["sannolikhet_listad"],
            "sannolikhet_hogsta_klass": row["sannolikhet_hogsta_klass"],
            "flaggor_p05": row.get("flaggor_p05"),
            "flaggor_p95": row.get("flaggor_p95"),
            "etikett": row["etikett"],
            "narmaste_troskel": closest,
            "narmaste_troskel_namn": names.get(closest) if closest else None,
            "bindande_parameter": row.get("bindande_parameter"),
            "faktorer": factors,
        }
    cut = cutoffs()
    summary = {
        **run.summary(),
        "osakerhet": setup.spec.beskrivning,
        "grans_sakert_listad": cut.sakert_listad,
        "grans_sakert_ej_listad": cut.sakert_ej_listad,
        "storlek_fordelning": np.percentile(run.per_draw["antal_omraden"].to_numpy(), [5, 50, 95]).tolist(),
    }
    return Overview(run, sens, table, records, summary)
