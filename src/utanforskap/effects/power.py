"""Power before the fact: the smallest effect a design could detect, by simulation on the real
panel's variance.

The treated areas are set aside; in each replication as many comparison areas as there are treated
areas (drawn among the 50 nearest to each treated area on the pre-period mean, so that placebo
areas vary like the treated ones) get the treated areas' start years at random, and the Callaway-Sant'Anna estimate and its
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

NEAREST = 50  # placebo areas per treated area (nearest on the pre-period mean)


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
    critical: float  # the critical value used (normal, or the simulated one when larger)

    def line(self, label: str) -> str:
        def f(x: float, d: int = 3) -> str:
            return f"{x:.{d}f}".replace(".", ",")

        return (
            f"Minsta påvisbara effekt på {label}: {f(self.mde)} (styrka {f(100 * self.power, 0)} %, signifikans "
            f"{f(100 * self.alpha, 0)} %, {self.replications} simuleringar på panelens verkliga variation; {self.n_treated} "
            f"behandlade, placebo bland {self.n_comparison} obehandlade områden som liknar de behandlade före start). "
            f"Med normalfördelningens gräns gav testet falska fynd i {f(100 * self.size, 1)} % av simuleringarna vid noll "
            f"effekt; gränsen som används är {f(self.critical)}."
        )


def plan(design: Design, seed: int | None = None, replications: int | None = None, chunk: int = 100) -> PowerResult:
    rules = settings()
    reps = replications or rules.planering.replikeringar
    rng = np.random.default_rng(rules.inferens.seed if seed is None else seed)
    p = design.panel
    complete = ~np.isnan(p.y).any(1)
    pool = np.flatnonzero((design.start == 0) & complete)
    # placebo areas like the treated ones: the 50 nearest per treated area on the pre-period mean
    treated = np.flatnonzero(design.start > 0)
    pre = p.years[None, :] < design.start[treated][:, None]
    pre_t = (np.where(pre, p.y[treated], 0).sum(1) / pre.sum(1))
    pre_c = (p.y[pool] @ pre.T.astype(float)) / pre.sum(1)[None, :]
    near = np.argsort(np.abs(pre_c - pre_t[None, :]), axis=0, kind="stable")[:NEAREST]
    pool = pool[np.unique(near)]
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
    t0 = np.abs(est0 / se0)
    size = float((t0 > z).mean())
    # calibrated: when the normal test over-rejects on this panel, use the simulated critical value
    z = max(z, float(np.quantile(t0, 1 - rules.planering.signifikans)))
    sd = float(np.std(est0))
    grid = np.linspace(0, 8 * max(sd, float(np.median(se0))), 801)
    power = (np.abs(est0[None, :] + grid[:, None]) / se0[None, :] > z).mean(1)
    hit = np.flatnonzero(power >= rules.planering.styrka)
    mde = float(grid[hit[0]]) if hit.size else float("nan")
    return PowerResult(mde, rules.planering.styrka, rules.planering.signifikans, reps, size, sd, nt, len(pool) - nt, float(z))
