"""Power before the fact: the smallest effect a design could detect, by simulation on the real
panel's variance.

The treated areas are set aside; in each replication as many comparison areas as there are treated
areas get the treated areas' start years at random, and the Callaway-Sant'Anna estimate and its
standard error are computed on the real outcomes (all replications at once). An additive effect d
moves every estimate by exactly d and leaves the standard error unchanged, so the power at every d
follows from the same replications: the share with |estimate + d| / se above the critical value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from utanforskap.effects import did
from utanforskap.effects.panel import Design, settings


@dataclass
class PowerResult:
    mde: float  # smallest effect with power >= target (NaN if none on the grid)
    power: float
    alpha: float
    replications: int
    size: float  # rejection rate at effect 0 (should be near alpha)
    sd_estimate: float
    n_treated: int
    n_comparison: int

    def line(self, label: str) -> str:
        def f(x: float) -> str:
            return f"{x:.3f}".replace(".", ",")

        return (
            f"Minsta påvisbara effekt på {label}: {f(self.mde)} (styrka {self.power:.0%}, signifikans {self.alpha:.0%}, "
            f"{self.replications} simuleringar på panelens verkliga variation; {self.n_treated} behandlade, "
            f"{self.n_comparison} jämförelseområden). Andel falska fynd vid noll effekt: {self.size:.1%}."
        ).replace(".0%", "%").replace("%", " %")


def plan(design: Design, seed: int | None = None, replications: int | None = None, chunk: int = 100) -> PowerResult:
    rules = settings()
    reps = replications or rules.planering.replikeringar
    rng = np.random.default_rng(rules.inferens.seed if seed is None else seed)
    p = design.panel
    complete = ~np.isnan(p.y).any(1)
    pool = np.flatnonzero((design.start == 0) & complete)
    y = p.y[pool]
    starts = design.start[design.start > 0]
    nt = len(starts)
    est, se = [], []
    for lo in range(0, reps, chunk):
        r = min(chunk, reps - lo)
        keys = rng.random((r, len(pool)))
        picks = np.argsort(keys, axis=1)[:, :nt]
        g = np.zeros((r, len(pool)), dtype=np.int64)
        np.put_along_axis(g, picks, np.broadcast_to(starts, (r, nt)), 1)
        a, s = did.cs_batch(y, g, p.years, "never")
        est.append(a)
        se.append(s)
    est0, se0 = np.concatenate(est), np.concatenate(se)
    z = stats.norm.ppf(1 - rules.planering.signifikans / 2)
    sd = float(np.std(est0))
    grid = np.linspace(0, 8 * max(sd, float(np.median(se0))), 801)
    power = (np.abs(est0[None, :] + grid[:, None]) / se0[None, :] > z).mean(1)
    hit = np.flatnonzero(power >= rules.planering.styrka)
    mde = float(grid[hit[0]]) if hit.size else float("nan")
    return PowerResult(mde, rules.planering.styrka, rules.planering.signifikans, reps, float(power[0]), sd, nt, len(pool) - nt)
