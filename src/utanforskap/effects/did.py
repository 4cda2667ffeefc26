"""Difference-in-differences estimators on an area panel.

* Callaway and Sant'Anna (2021), without covariates (where the doubly robust, outcome-regression
  and IPW estimators coincide): ATT(g, t) as a 2x2 comparison of means against never-treated or
  not-yet-treated areas, a universal base year g-1, influence functions and the multiplier
  bootstrap (Mammen weights). Written in numpy and vectorised over replications (`cs_batch`), so
  that power simulations and the validation run without loops over draws. Cross-checked against
  csdid in tests/test_effects.py.
* did2s (Gardner 2021) and a two-way fixed-effects event study, via pyfixest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


@dataclass
class Cells:
    """The ATT(g, t) cells: cohort, year, relative year, treated count and estimate."""

    g: np.ndarray
    t: np.ndarray
    e: np.ndarray
    n: np.ndarray  # (R, K) treated per cell and replication
    att: np.ndarray  # (R, K)
    psi: np.ndarray  # (R, N, K) influence functions, ATT_hat - ATT ~ sum_i psi_i


def cs_cells(y: np.ndarray, start: np.ndarray, years: np.ndarray, control: str = "never") -> Cells:
    """ATT(g, t) for every cohort g and year t != g-1 (base year g-1).

    `y` is (N, T) or (R, N, T), `start` is (N,) or (R, N) with 0 for never treated; R replications
    are handled at once. `control`: "never" (never treated) or "notyet" (not yet treated at t).
    """
    y = np.asarray(y, dtype=float)
    start = np.asarray(start)
    if y.ndim == 2:
        y = y[None]
    if start.ndim == 1:
        start = start[None]
    r = max(y.shape[0], start.shape[0])
    y = np.broadcast_to(y, (r, *y.shape[1:]))
    start = np.broadcast_to(start, (r, start.shape[1]))
    cohorts = np.unique(start[start > 0])
    year_pos = {int(v): i for i, v in enumerate(years)}
    gs, ts, atts, ns, psis = [], [], [], [], []
    for g in cohorts.tolist():
        b = year_pos.get(g - 1)
        if b is None:
            continue
        treated = start == g  # (R, N)
        for ti, t in enumerate(years.tolist()):
            if ti == b:
                continue
            d = y[:, :, ti] - y[:, :, b]  # (R, N)
            ok = ~np.isnan(d)
            ctrl = (start == 0) & ok if control == "never" else ((start == 0) | (start > max(t, g - 1))) & (start != g) & ok
            tr = treated & ok
            nt = tr.sum(1)
            nc = ctrl.sum(1)
            dz = np.where(ok, d, 0.0)
            mt = (dz * tr).sum(1) / np.maximum(nt, 1)
            mc = (dz * ctrl).sum(1) / np.maximum(nc, 1)
            psi = tr * (dz - mt[:, None]) / np.maximum(nt, 1)[:, None] - ctrl * (dz - mc[:, None]) / np.maximum(nc, 1)[:, None]
            att = np.where((nt > 0) & (nc > 0), mt - mc, np.nan)
            gs.append(g)
            ts.append(t)
            atts.append(att)
            ns.append(nt)
            psis.append(psi)
    if not gs:
        empty = np.zeros((r, 0))
        return Cells(np.array([], int), np.array([], int), np.array([], int), empty, empty, np.zeros((r, y.shape[1], 0)))
    g_arr, t_arr = np.array(gs), np.array(ts)
    return Cells(g_arr, t_arr, t_arr - g_arr, np.stack(ns, 1), np.stack(atts, 1), np.stack(psis, 2))


def aggregate(cells: Cells, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A weighted sum of cells (weights (R, K), rows summing to one): estimate (R,) and IF (R, N)."""
    att = np.nansum(cells.att * weights, 1)
    psi = np.einsum("rnk,rk->rn", cells.psi, weights)
    return att, psi


def simple_att(cells: Cells, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CS 'simple' aggregation with the influence of the estimated cohort shares (R's `wif`)."""
    start = np.asarray(start)
    if start.ndim == 1:
        start = start[None]
    r, n = cells.psi.shape[0], cells.psi.shape[1]
    start = np.broadcast_to(start, (r, n))
    keep = (cells.e >= 0)[None, :] & ~np.isnan(cells.att)  # (R, K)
    units = (start >= 0).sum(1, keepdims=True)  # areas taking part (left-out areas are -1)
    pg = np.where(keep, cells.n / units, 0.0)  # (R, K)
    spg = pg.sum(1, keepdims=True)
    w = pg / spg
    att, psi = aggregate(cells, w)
    member = (start[:, :, None] == cells.g[None, None, :]).astype(float)  # (R, N, K)
    part = (start >= 0)[:, :, None]
    if1 = np.where(part & keep[:, None, :], (member - pg[:, None, :]) / spg[:, :, None], 0.0)
    if2 = np.where(part, (np.where(keep[:, None, :], member - pg[:, None, :], 0.0)).sum(2, keepdims=True), 0.0) * (
        pg / spg**2
    )[:, None, :]
    wif = (if1 - if2) @ np.nan_to_num(cells.att)[..., None]  # (R, N, 1), R's scale (n x IF)
    return att, psi + wif[..., 0] / units


def event_weights(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Weights (R, E, K) giving the event-study estimate for each relative year e (E,)."""
    es = np.unique(cells.e)
    m = (cells.e[None, :] == es[:, None]).astype(float)  # (E, K)
    w = m[None] * np.where(np.isnan(cells.att), 0.0, cells.n)[:, None, :]
    s = w.sum(2, keepdims=True)
    return es, np.divide(w, s, out=np.zeros_like(w), where=s > 0)


def analytic_se(psi: np.ndarray) -> np.ndarray:
    """Standard error from influence functions (R, N) -> (R,)."""
    return np.sqrt((psi**2).sum(-1))


def bootstrap_se(psi: np.ndarray, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiplier bootstrap (Mammen weights) of influence functions (M, N): the IQR-based standard
    error (M,) as in Callaway and Sant'Anna, and the draws (M, B)."""
    rng = np.random.default_rng(seed)
    n = psi.shape[-1]
    s5 = np.sqrt(5.0)
    p = (s5 + 1) / (2 * s5)
    v = np.where(rng.random((n, draws)) < p, (1 - s5) / 2, (1 + s5) / 2)
    boot = psi @ v  # (M, B): deviation of the estimate
    q75, q25 = np.quantile(boot, [0.75, 0.25], axis=1)
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    return se, boot


@dataclass
class CSResult:
    att: float
    se: float
    p: float
    lo: float
    hi: float
    n_treated: int
    n_comparison: int
    event: list[dict]  # e, estimate, se, lo, hi (pointwise), lo_band, hi_band (simultaneous)
    pretrend_p: float  # joint Wald test of the pre-period event-study coefficients (NaN if none)
    pretrend_df: int


def callaway_santanna(
    y: np.ndarray, start: np.ndarray, years: np.ndarray, control: str = "never", draws: int = 999, seed: int = 1
) -> CSResult:
    """The CS estimate (simple aggregation), its event study and the pre-trend test."""
    cells = cs_cells(y, start, years, control)
    if cells.att.shape[1] == 0 or not (cells.e >= 0).any():
        raise ValueError("inga celler efter start")
    att, psi = simple_att(cells, start)
    es, ew = event_weights(cells)
    e_att = np.nansum(cells.att[0][None, :] * ew[0], 1)
    e_psi = np.einsum("nk,ek->en", cells.psi[0], ew[0])
    allpsi = np.vstack([psi, e_psi])
    se, boot = bootstrap_se(allpsi, draws, seed)
    e_se = se[1:]
    # simultaneous band: sup-t critical value over post and pre years
    with np.errstate(divide="ignore", invalid="ignore"):
        tmax = np.nanmax(np.abs(boot[1:] / e_se[:, None]), axis=0)
    crit = float(np.quantile(tmax, 0.95)) if np.isfinite(tmax).any() else Z95
    event = [
        {
            "e": int(e),
            "skattning": float(a),
            "se": float(s),
            "nedre_95": float(a - Z95 * s),
            "ovre_95": float(a + Z95 * s),
            "nedre_band": float(a - crit * s),
            "ovre_band": float(a + crit * s),
        }
        for e, a, s in zip(es, e_att, e_se, strict=True)
    ]
    pre = es < -1
    pre_p, pre_df = np.nan, int(pre.sum())
    if pre_df:
        v = e_psi[pre] @ e_psi[pre].T
        b = e_att[pre]
        try:
            stat = float(b @ np.linalg.solve(v, b))
            pre_p = float(stats.chi2.sf(stat, pre_df))
        except np.linalg.LinAlgError:
            pre_p = np.nan
    a, s = float(att[0]), float(se[0])
    p = float(2 * stats.norm.sf(abs(a / s))) if s > 0 else np.nan
    n_tr = int((np.asarray(start) > 0).sum())
    return CSResult(a, s, p, a - Z95 * s, a + Z95 * s, n_tr, int(len(start) - n_tr), event, pre_p, pre_df)


def cs_batch(y: np.ndarray, start: np.ndarray, years: np.ndarray, control: str = "never") -> tuple[np.ndarray, np.ndarray]:
    """CS simple ATT and its analytic standard error for R replications at once (no bootstrap)."""
    cells = cs_cells(y, start, years, control)
    att, psi = simple_att(cells, start)
    return att, analytic_se(psi)


def placebo_in_time(y: np.ndarray, start: np.ndarray, years: np.ndarray, control: str = "never") -> tuple[float, float, float] | None:
    """Pretend every treated area started one year earlier and use only years before the real start:
    the ATT of that fake start (estimate, se, p). None when there are too few pre-years."""
    cells = cs_cells(y, np.where(start > 0, start - 1, 0), years, control)
    if cells.att.shape[1] == 0:
        return None
    mask = cells.e == 0  # t = g' = real start - 1, the last year before the real start
    w = np.where(mask[None, :] & ~np.isnan(cells.att), cells.n, 0.0).astype(float)
    if w.sum() == 0:
        return None
    w /= w.sum(1, keepdims=True)
    att, psi = aggregate(cells, w)
    se = float(analytic_se(psi)[0])
    a = float(att[0])
    return a, se, float(2 * stats.norm.sf(abs(a / se))) if se > 0 else np.nan


def leave_one_out(y: np.ndarray, start: np.ndarray, years: np.ndarray, control: str = "never") -> np.ndarray:
    """The CS estimate with each treated area left out in turn (one replication per treated area)."""
    treated = np.flatnonzero(start > 0)
    starts = np.repeat(start[None, :], len(treated), 0)
    keep = np.ones_like(starts, dtype=bool)
    keep[np.arange(len(treated)), treated] = False
    # a left-out area is neither treated nor comparison: drop its outcome
    yy = np.where(keep[:, :, None], y[None], np.nan)
    starts = np.where(keep, starts, -1)
    att, _ = cs_batch(yy, starts, years, control)
    return att


# ---- pyfixest ---------------------------------------------------------------------------------
def did2s(df) -> tuple[float, float, float]:
    """Gardner's two-stage DiD via pyfixest: (estimate, se, p), clustered by area."""
    import pyfixest as pf

    fit = pf.did2s(df, yname="y", first_stage="~0|unit+year", second_stage="~treat", treatment="treat", cluster="unit")
    row = fit.tidy().iloc[0]
    return float(row["Estimate"]), float(row["Std. Error"]), float(row["Pr(>|t|)"])


def event_study_twfe(df) -> list[dict]:
    """A two-way fixed-effects event study via pyfixest: one coefficient per relative year, the
    year before start (-1) as reference, never-treated areas in the reference.

    pyfixest's own `event_study(..., att=False)` is ignored (an open bug: it always returns the
    pooled ATT), so the relative-year dummies are written out with `i(rel, ref=-1)` in `feols`.
    """
    import pyfixest as pf

    fit = pf.feols("y ~ i(rel, ref=-1) | unit + year", data=df, vcov={"CRV1": "unit"})
    tidy = fit.tidy()
    out = [{"e": -1, "skattning": 0.0, "se": 0.0, "nedre_95": 0.0, "ovre_95": 0.0}]
    for name, row in tidy.iterrows():
        e = int(float(str(name).split("::")[1]))
        out.append(
            {
                "e": e,
                "skattning": float(row["Estimate"]),
                "se": float(row["Std. Error"]),
                "nedre_95": float(row["2.5%"]),
                "ovre_95": float(row["97.5%"]),
            }
        )
    return sorted(out, key=lambda r: r["e"])
