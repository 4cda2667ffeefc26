"""Synthetic control (Abadie, Diamond and Hainmueller 2010) on the area panel.

Each treated area gets its own synthetic control: non-negative donor weights summing to one that
reproduce its outcome in the years before start (predictors = the pre-period outcomes, equal
weight per year, i.e. pysyncon's `Synth.fit(..., custom_V=ones)`). Several treated areas are
averaged. Inference is placebo in space: every donor in turn is treated as if it had started, and
the treated area's ratio of post- to pre-period fit is ranked among them. With few pre-period years
the pre-period fit is easy and the placebo test over-rejects: the output says so.

The weights are found by projected gradient (FISTA) on the simplex, for the treated area and all
its placebos at once (one numpy batch); pysyncon solves the same problem one unit at a time and is
used as the reference in tests/test_effects.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def project_simplex(v: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of `v` onto the simplex over its `allowed` entries."""
    v = np.where(allowed, v, -np.inf)
    u = -np.sort(-v, axis=1)
    u_f = np.where(np.isfinite(u), u, 0.0)
    css = np.cumsum(u_f, axis=1) - 1.0
    k = np.arange(1, v.shape[1] + 1)[None, :]
    cond = np.isfinite(u) & (u - css / k > 0)
    rho = cond.sum(1) - 1
    theta = np.take_along_axis(css, rho[:, None], 1) / (rho[:, None] + 1)
    return np.where(allowed, np.maximum(v - theta, 0.0), 0.0)


def simplex_weights(targets: np.ndarray, donors: np.ndarray, allowed: np.ndarray, iterations: int = 400,
                    tol: float = 1e-5) -> np.ndarray:
    """Weights (B, J) minimising ||targets_b - donors @ w_b||^2 on the simplex of allowed donors.

    targets (B, P), donors (P, J), allowed (B, J) boolean. Stops early when no row's loss fell by
    more than `tol` (relative) over the last ten iterations.
    """
    lip = float(np.linalg.norm(donors, 2) ** 2) or 1.0
    w = np.where(allowed, 1.0, 0.0)
    w /= w.sum(1, keepdims=True)
    z, t = w.copy(), 1.0
    prev = np.full(len(targets), np.inf)
    scale = (targets**2).sum(1).mean()
    for k in range(iterations):
        grad = (z @ donors.T - targets) @ donors  # (B, J); cheap when few pre-years
        w_next = project_simplex(z - grad / lip, allowed)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = w_next + ((t - 1) / t_next) * (w_next - w)
        w, t = w_next, t_next
        if k % 10 == 9:
            loss = ((w @ donors.T - targets) ** 2).sum(1)
            if k > 10 and float(np.max(prev - loss)) < tol * (1.0 + float(scale)):
                break
            prev = loss
    return w


@dataclass
class UnitFit:
    area: str
    start: int
    effect: float  # mean post-period gap
    pre_rmspe: float
    ratio: float  # post RMSPE / pre RMSPE
    p: float  # placebo-in-space rank p-value
    gap: np.ndarray  # (T,) treated minus synthetic
    synthetic: np.ndarray  # (T,)
    weights: dict[str, float]  # donor -> weight (> 0.001)
    placebo_effects: np.ndarray  # (J,)
    n_donors: int


@dataclass
class SynthResult:
    effect: float
    p: float
    units: list[UnitFit]
    placebo_means: np.ndarray  # placebo distribution of the average effect
    n_donors: int
    note: str


def fit_unit(y: np.ndarray, areas: np.ndarray, years: np.ndarray, unit: int, start: int, pool: np.ndarray,
             max_donors: int = 200, iterations: int = 400) -> UnitFit:
    """One treated area against the pool (indices of never-treated areas with complete outcomes)."""
    pre = years < start
    post = ~pre
    y1 = y[unit]
    dist = np.sqrt(((y[pool][:, pre] - y1[pre]) ** 2).mean(1))
    donors = pool[np.argsort(dist, kind="stable")[:max_donors]]
    j = len(donors)
    # batch: row 0 = the treated area, rows 1..J = each donor as placebo against the other donors
    targets = np.vstack([y1[None, pre], y[donors][:, pre]])
    allowed = np.ones((j + 1, j), dtype=bool)
    allowed[np.arange(1, j + 1), np.arange(j)] = False
    w = simplex_weights(targets, y[donors][:, pre].T, allowed, iterations)
    paths = np.vstack([y1[None], y[donors]])
    synthetic = w @ y[donors]  # (B, T)
    gaps = paths - synthetic
    pre_rmspe = np.sqrt((gaps[:, pre] ** 2).mean(1))
    post_rmspe = np.sqrt((gaps[:, post] ** 2).mean(1))
    # With few pre-years most fits are near perfect and the plain ratio divides by ~0; the
    # denominator is floored at the placebos' median pre-period RMSPE (stated in docs/effekter.md).
    floor = max(float(np.median(pre_rmspe[1:])), 1e-6 * (float(np.abs(paths).mean()) + 1e-12))
    ratio = post_rmspe / np.maximum(pre_rmspe, floor)
    effects = gaps[:, post].mean(1)
    p = float((1 + (ratio[1:] >= ratio[0]).sum()) / (j + 1))
    weights = {str(areas[d]): float(v) for d, v in zip(donors, w[0], strict=True) if v > 0.001}
    return UnitFit(str(areas[unit]), int(start), float(effects[0]), float(pre_rmspe[0]), float(ratio[0]), p,
                   gaps[0], synthetic[0], dict(sorted(weights.items(), key=lambda kv: -kv[1])), effects[1:], j)


def synthetic_control(y: np.ndarray, areas: np.ndarray, years: np.ndarray, start: np.ndarray,
                      max_donors: int = 200, draws: int = 999, iterations: int = 400, seed: int = 1) -> SynthResult:
    """Synthetic control for every treated area (start > 0); donors: areas never treated in the panel."""
    complete = ~np.isnan(y).any(1)
    pool = np.flatnonzero((start == 0) & complete)
    treated = np.flatnonzero(start > 0)
    units = [fit_unit(y, areas, years, i, int(start[i]), pool, max_donors, iterations) for i in treated.tolist()]
    effect = float(np.mean([u.effect for u in units]))
    if len(units) == 1:
        placebo = units[0].placebo_effects
        p = units[0].p
    else:
        rng = np.random.default_rng(seed)
        picks = np.stack([u.placebo_effects[rng.integers(0, len(u.placebo_effects), draws)] for u in units])
        placebo = picks.mean(0)
        p = float((1 + (np.abs(placebo) >= abs(effect)).sum()) / (draws + 1))
    n_pre = int(min((years < u.start).sum() for u in units))
    note = (
        f"syntetisk kontroll: {len(units)} behandlade, upp till {max_donors} givare var; p-värde från placebo i rummet"
        + (" (medelvärdet jämfört med medelvärden av slumpade placebogivare)" if len(units) > 1 else "")
        + (
            f". Bara {n_pre} år före start: anpassningen före start blir lätt god och placebotestet förkastar för ofta"
            if n_pre < 5
            else f". {n_pre} år före start"
        )
    )
    return SynthResult(effect, p, units, placebo, len(pool), note)
